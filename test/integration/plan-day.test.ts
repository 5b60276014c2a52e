/**
 * Planning a day against a real Postgres: one pass over the day (its rows counted by hour) whatever
 * its size; a day within `RANGE_MAX_ROWS` is one range, a bigger one is cut at hour boundaries; an hour above the limit runs alone and is
 * logged; and extract refuses an hour range that reaches past the end of the day.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLakeUri } from '../../src/core/config.js';
import { dayWindow, hourWindow, parseDay } from '../../src/core/day.js';
import { InputError } from '../../src/core/errors.js';
import { extractDay } from '../../src/pipeline/extract/extract.js';
import { seed } from '../../src/source/synthetic/load.js';
import { FsStore } from '../../src/lake/fs-store.js';
import { newRunId } from '../../src/lake/layout.js';
import { ReadableLogger } from '../../src/core/log.js';
import { planDay } from '../../src/pipeline/plan-day/plan-day.js';
import { createTestDatabase } from '../support/databases.js';
import { rejectionOf } from '../support/outcomes.js';
import { recordQueries } from '../support/queries.js';

const DAY = parseDay('2025-06-01');
const ROWS = 800;

describe('planDay', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let client: pg.Client;
  let lake: string;

  const plan = (maxRowsPerRange: number, log?: ReadableLogger) => planDay({ client, day: DAY, timeZone: 'UTC', maxRowsPerRange, log });

  beforeAll(async () => {
    database = await createTestDatabase();
    client = new pg.Client(database.url);
    await client.connect();
    await seed(client, { from: DAY, to: DAY, rentalsPerDay: ROWS });
    lake = await mkdtemp(join(tmpdir(), 'plan-day-'));
  });
  afterAll(async () => {
    await client?.end();
    await database?.drop();
    await rm(lake, { recursive: true, force: true });
  });

  it('plans a day within the limit as one range with one count, no count by hour', async () => {
    // Arrange
    const queries = recordQueries(client);

    // Act
    const planned = await plan(ROWS);

    // Assess
    expect(planned).toMatchObject({ plannedRows: ROWS, sourceDuplicateIds: 0, ranges: [{ from: 0, to: 24, rows: ROWS }] });
    const reads = queries.filter((q) => /FROM "rentals"/.test(q));
    expect(reads).toHaveLength(1);
    expect(reads[0]).toMatch(/LIMIT \$3/);
  });

  it("cuts a bigger day into ranges whose counts are the source's: one pass over the day by hour, after a count that stops past the limit", async () => {
    // Arrange
    const queries = recordQueries(client);

    // Act
    const planned = await plan(200);

    // Assess: the day is read whole once (by hour); the count before it stops after 201 rows
    const reads = queries.filter((q) => /FROM "rentals"/.test(q));
    expect(reads).toHaveLength(2);
    expect(reads[0]).toMatch(/LIMIT \$3/);
    expect(reads[1]).toMatch(/GROUP BY/);
    expect(planned.plannedRows).toBe(ROWS);
    expect(planned.ranges.length).toBeGreaterThanOrEqual(ROWS / 200);
    expect(planned.ranges.reduce((n, r) => n + r.rows, 0)).toBe(ROWS);
    const window = dayWindow(DAY, 'UTC');
    for (const range of planned.ranges) {
      const { start, end } = hourWindow(window, range);
      const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM rentals WHERE rent_start >= $1 AND rent_start < $2', [start, end]);
      expect(range.rows, `${range.from}-${range.to}`).toBe(Number(rows[0].n));
      expect(range.rows <= 200 || range.to - range.from === 1, `${range.from}-${range.to}`).toBe(true);
    }
  });

  it('runs an hour above the limit as a range of its own and logs it', async () => {
    // Arrange
    const lines: string[] = [];
    const log = new ReadableLogger('plan-day', (line) => lines.push(line));

    // Act
    const planned = await plan(20, log);

    // Assess
    const oversized = planned.ranges.filter((r) => r.rows > 20);
    expect(oversized.length).toBeGreaterThan(0);
    for (const range of oversized) expect(range.to - range.from).toBe(1);
    const warning = lines.find((l) => l.includes(' WARN ') && l.includes('an hour holds more rentals than one range may'));
    expect(warning).toContain(`hours=${JSON.stringify(oversized.map((r) => r.from))}`);
    expect(warning).toContain('max_rows_per_range=20');
  });
});

describe('extract of an hour range', () => {
  it('refuses hours past the end of the day, naming the field, before any query', async () => {
    // Arrange
    const database = await createTestDatabase();
    const client = new pg.Client(database.url);
    await client.connect();
    const queries = recordQueries(client);
    const lake = await mkdtemp(join(tmpdir(), 'extract-hours-'));
    try {
      // Act
      const error = await rejectionOf(
        extractDay({
          client,
          store: new FsStore(parseLakeUri(lake)),
          day: DAY,
          timeZone: 'UTC',
          runId: newRunId(),
          hours: { from: 20, to: 25 },
          batchRows: 1_024,
        }),
      );

      // Assess
      expect(error).toBeInstanceOf(InputError);
      expect((error as InputError).field).toBe('hours');
      expect((error as Error).message).toMatch(/whole hours within the 24 hours of 2025-06-01 in UTC/);
      expect(queries).toEqual([]);
    } finally {
      await client.end();
      await database.drop();
      await rm(lake, { recursive: true, force: true });
    }
  });
});
