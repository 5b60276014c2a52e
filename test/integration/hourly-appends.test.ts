/**
 * Continuous append through a day: 24 hourly appends to today, a third of each batch rentals still
 * in progress. Every append exits 0 (open rentals are no anomaly, quality is judged on the
 * partition), the lake read back from Parquet by DuckDB equals the source after each, the
 * partition never holds more than COMPACT_ABOVE_FILES (8) files (an append past them compacts),
 * the day stays current for `etl status` and `etl validate`, and `etl compact` leaves one file.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { seed } from '../../src/source/synthetic/load.js';
import { dayWindow, parseDay } from '../../src/core/day.js';
import { loadConfig } from '../../src/core/config.js';
import { FsStore } from '../../src/lake/fs-store.js';
import { rentalsPartitionPrefix } from '../../src/lake/layout.js';
import { readManifest } from '../../src/lake/manifest.js';
import type { DayStatus } from '../../src/monitor/status.js';
import { createTestDatabase } from '../support/databases.js';
import { duckdbAggregate, duckdbDistinctIds, type DayAggregate } from '../support/lake-readers.js';

const APPENDS = 24;
const PER_APPEND = 30;
const TODAY = parseDay(new Date().toISOString().slice(0, 10));

describe('hourly appends to a day in progress', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let client: pg.Client;
  let lake: string;
  let env: NodeJS.ProcessEnv;
  let store: FsStore;
  const window = dayWindow(TODAY, 'UTC');

  const etl = async (argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(argv, env, { out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  /** `n` new rentals of today, a third still open (no end, station or cost; started minutes ago). */
  async function insertBatch(round: number, n: number): Promise<void> {
    await client.query(
      `INSERT INTO rentals (rental_id, user_id, bike_id, rent_start, rent_end, start_station, end_station, rent_cost, updated_at)
       SELECT coalesce((SELECT max(rental_id) FROM rentals), 0) + i, 1, 1, s.start,
              CASE WHEN i % 3 = 0 THEN NULL ELSE s.start + interval '20 minutes' END,
              'Station ' || i, CASE WHEN i % 3 = 0 THEN NULL ELSE 'Station ' || (i + 1) END,
              CASE WHEN i % 3 = 0 THEN NULL ELSE (i + $3)::text || '.50' END, now()
       FROM generate_series(1, $4::int) AS i,
            LATERAL (SELECT greatest($1::timestamptz, least($2::timestamptz - interval '1 second', now() - interval '10 minutes' + i * interval '1 second')) AS start) AS s`,
      [window.start.toISOString(), window.end.toISOString(), round, n],
    );
  }

  async function sourceAggregate(): Promise<DayAggregate> {
    const { rows } = await client.query(
      `SELECT count(*)::int AS n, coalesce(sum(rent_cost::numeric), 0) * 100 AS cents, min(rental_id)::text AS min_id, max(rental_id)::text AS max_id,
              count(*) FILTER (WHERE rent_cost IS NULL)::int AS null_costs
       FROM rentals WHERE rent_start >= $1 AND rent_start < $2`,
      [window.start.toISOString(), window.end.toISOString()],
    );
    return {
      rows: rows[0].n,
      revenueCents: Math.round(Number(rows[0].cents)),
      minRentalId: rows[0].min_id,
      maxRentalId: rows[0].max_id,
      minStart: '',
      maxStart: '',
      nullCosts: rows[0].null_costs,
    };
  }

  async function partitionFiles(): Promise<string[]> {
    const dir = join(lake, rentalsPartitionPrefix(TODAY));
    return (await readdir(dir)).filter((f) => f.endsWith('.parquet')).map((f) => join(dir, f));
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    client = new pg.Client(database.url);
    await client.connect();
    // Users and bikes for the rentals (and a day of rentals long ago, out of the way).
    await seed(client, { from: parseDay('2020-01-01'), to: parseDay('2020-01-01'), rentalsPerDay: 10, errorRate: 0 });
    lake = await mkdtemp(join(tmpdir(), 'hourly-appends-'));
    env = { DATABASE_URL: database.url, LAKE_URI: lake, PARTITION_TIMEZONE: 'UTC', POWERTOOLS_LOG_LEVEL: 'WARN' };
    store = new FsStore(loadConfig(env).lake);
  }, 60_000);

  afterAll(async () => {
    await client?.end();
    await database?.drop();
    await rm(lake, { recursive: true, force: true });
  });

  it('publishes every append, equal to the source, in at most 8 files', async () => {
    const fileCounts: number[] = [];
    for (let round = 1; round <= APPENDS; round++) {
      // Prepare
      await insertBatch(round, PER_APPEND);

      // Act
      const run = await etl(['run', '--date', TODAY.iso, '--mode', 'append', '--quiet']);

      // Assess
      expect(run.code, `append ${round}: ${run.out}\n${run.err}`).toBe(0);
      const files = await partitionFiles();
      const lakeRows = { ...(await duckdbAggregate(files)), minStart: '', maxStart: '' };
      expect(lakeRows, `append ${round}`).toEqual(await sourceAggregate());
      expect(await duckdbDistinctIds(files)).toBe(round * PER_APPEND);
      const manifest = (await readManifest(store, TODAY))!.manifest;
      expect(manifest.files.length).toBeLessThanOrEqual(8);
      expect(files.length).toBe(manifest.files.length);
      fileCounts.push(manifest.files.length);
      // Each append read only its new rows, not the day again.
      expect(manifest.runs.at(-1)!.sourceCount).toBe(PER_APPEND);
    }
    expect(Math.max(...fileCounts)).toBe(8);
    expect(fileCounts).toContain(1);
  }, 600_000);

  it('keeps the day current for etl status and etl validate, with the partition’s rates and runs', async () => {
    // Act
    const status = await etl(['status', '--date', TODAY.iso, '--json']);
    const table = await etl(['status', '--date', TODAY.iso]);
    const validate = await etl(['validate', '--date', TODAY.iso]);

    // Assess
    const [day] = (JSON.parse(status.out) as { days: DayStatus[] }).days;
    expect(day.source?.state, day.source?.detail).toBe('current');
    expect(day.runs).toHaveLength(APPENDS);
    expect(table.out).toContain(`${APPENDS} append`);
    expect(validate.code, validate.out).toBe(0);
  });

  it('etl compact leaves one file holding every row', async () => {
    // Prepare: a few more appends so the partition has several files.
    for (let round = APPENDS + 1; round <= APPENDS + 3; round++) {
      await insertBatch(round, PER_APPEND);
      expect((await etl(['run', '--date', TODAY.iso, '--mode', 'append', '--quiet'])).code).toBe(0);
    }
    const before = (await readManifest(store, TODAY))!.manifest;

    // Act
    const compact = await etl(['compact', '--date', TODAY.iso]);

    // Assess
    expect(compact.code, compact.err).toBe(0);
    const after = (await readManifest(store, TODAY))!.manifest;
    expect(after.files).toHaveLength(1);
    expect(after.rows).toBe(before.rows);
    expect(after.runs).toEqual(before.runs);
    const files = await partitionFiles();
    expect(files).toHaveLength(1);
    expect({ ...(await duckdbAggregate(files)), minStart: '', maxStart: '' }).toEqual(await sourceAggregate());
    expect((await etl(['compact', '--date', TODAY.iso])).out).toContain('nothing to compact');
  }, 120_000);
});
