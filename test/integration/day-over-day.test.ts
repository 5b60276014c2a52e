/**
 * The day-over-day check compares a day with the source's count of the day before, read in the
 * extract snapshot, so its verdict does not depend on scheduling: a day cut to a tenth of the day
 * before fails with `QUALITY_MAX_DAY_OVER_DAY_CHANGE=0.5` whether the day before is published
 * before it (concurrency 1) or at the same moment (concurrency 2, both held at Validate by a barrier).
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.js';
import { parseDay } from '../../src/core/day.js';
import type { ValidationReport } from '../../src/lake/report-record.js';
import { runLocalExecution } from '../../src/pipeline/local-execution.js';
import { STAGES } from '../../src/pipeline/stages.js';
import { seed } from '../../src/source/synthetic/load.js';
import { createTestDatabase } from '../support/databases.js';
import { overlapBarrier } from '../support/overlap.js';

const [BEFORE, CUT] = ['2026-11-26', '2026-11-27'];
const PER_DAY = 10_000;
const KEPT = 1_000;

describe('the day-over-day check', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let root: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    root = await mkdtemp(join(tmpdir(), 'day-over-day-'));
    const client = new pg.Client(database.url);
    await client.connect();
    await seed(client, { from: parseDay(BEFORE), to: parseDay(CUT), rentalsPerDay: PER_DAY, errorRate: 0, seed: 23 });
    // The second day cut to a tenth: -90%.
    await client.query(
      `DELETE FROM rentals WHERE rental_id IN (SELECT rental_id FROM rentals WHERE rent_start >= '${CUT}T00:00:00Z' ORDER BY rental_id OFFSET ${KEPT})`,
    );
    await client.end();
  });
  afterAll(async () => {
    await database?.drop();
    await rm(root, { recursive: true, force: true });
  });

  /** The latest publish report of `date` in `lake`. */
  async function reportOf(lake: string, date: string): Promise<ValidationReport> {
    const [y, m, d] = date.split('-');
    const dir = join(lake, '_reports', 'rentals', `year=${y}`, `month=${m}`, `day=${d}`);
    const [name] = (await readdir(dir)).sort().slice(-1);
    return JSON.parse(await readFile(join(dir, name), 'utf8')) as ValidationReport;
  }

  it.each([1, 2])('fails the cut day at concurrency %i (at 2, the day before is publishing at the same moment)', async (concurrency) => {
    // Prepare: at concurrency 2 both days reach Validate before either publishes
    const lake = join(root, `lake-${concurrency}`);
    const config = loadConfig({ DATABASE_URL: database.url, LAKE_URI: lake, QUALITY_MAX_DAY_OVER_DAY_CHANGE: '0.5', POWERTOOLS_LOG_LEVEL: 'ERROR' });
    const both = overlapBarrier(2);
    const handlers = concurrency === 2 ? { [STAGES.validate.state]: (own: (event: unknown) => Promise<unknown>) => both.wrap(own) } : {};

    // Act
    const result = await runLocalExecution(config, { from: BEFORE, to: CUT }, { concurrency, handlers, logLine: () => undefined });

    // Assess
    if (concurrency === 2) expect(both.peak).toBe(2);
    expect(result.outcomes.map((o) => [o.date, o.verdict])).toEqual([
      [BEFORE, 'passed'],
      [CUT, 'failed'],
    ]);
    const check = (await reportOf(lake, CUT)).checks.find((c) => c.check === 'day_over_day_change');
    expect(check).toMatchObject({ passed: false, severity: 'error', value: 0.9, limit: 0.5, of: PER_DAY });
  });
});
