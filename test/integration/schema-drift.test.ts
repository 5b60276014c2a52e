/**
 * Schema drift is seen: a column added to the source (the declaration does not name it) is
 * reported with its type in the day's report, the run summary, the schedule's plan and `etl
 * status`, and is not carried into the lake; a declared column whose type changes fails the day
 * with an error naming it before anything is written. An empty day passes with a warning unless
 * QUALITY_MIN_DAY_ROWS is set.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { loadConfig } from '../../src/core/config.js';
import { parseDay } from '../../src/core/day.js';
import { FsStore } from '../../src/lake/fs-store.js';
import { readManifest } from '../../src/lake/manifest.js';
import type { ValidationReport } from '../../src/lake/report-record.js';
import { runLocalExecution } from '../../src/pipeline/local-execution.js';
import { seed } from '../../src/source/synthetic/load.js';
import { createTestDatabase } from '../support/databases.js';

const LOOSE_QUALITY = {
  QUALITY_MAX_NEGATIVE_DURATION_RATE: '1',
  QUALITY_MAX_NEGATIVE_COST_RATE: '1',
  QUALITY_MAX_QUARANTINE_RATE: '1',
  QUALITY_MAX_NULL_RATE: '1',
};
const DRIFT = 'schema drift: source columns not in the table declaration, not carried into the lake: rentals.promo_code (text)';

describe('schema drift', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let client: pg.Client;
  let lake: string;
  let env: NodeJS.ProcessEnv;
  let store: FsStore;

  const etl = async (argv: string[], extra: NodeJS.ProcessEnv = {}) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(argv, { ...env, ...extra }, { out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };
  const reportOf = async (date: string): Promise<ValidationReport> => {
    const manifest = (await readManifest(store, parseDay(date)))!.manifest;
    return JSON.parse(await readFile(join(lake, `_reports/rentals/year=2025/month=07/day=${date.slice(8)}/${manifest.runId}.json`), 'utf8'));
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    client = new pg.Client(database.url);
    await client.connect();
    await seed(client, { from: parseDay('2025-07-01'), to: parseDay('2025-07-03'), rentalsPerDay: 50, seed: 4 });
    await client.query('ALTER TABLE rentals ADD COLUMN promo_code text');
    await client.query(`UPDATE rentals SET promo_code = 'SUMMER'`);
    lake = await mkdtemp(join(tmpdir(), 'drift-lake-'));
    env = { DATABASE_URL: database.url, LAKE_URI: lake, POWERTOOLS_LOG_LEVEL: 'WARN', ...LOOSE_QUALITY };
    store = new FsStore(loadConfig(env).lake);
  });

  afterAll(async () => {
    await client?.end();
    await database?.drop();
    await rm(lake, { recursive: true, force: true });
  });

  it('reports an added source column with its type in the report, the summary and etl status, and leaves it out of the lake', async () => {
    // Act
    const run = await etl(['run', '--date', '2025-07-01']);
    const status = await etl(['status']);

    // Assess
    expect(run.code, run.err).toBe(0);
    expect(run.out).toContain(DRIFT);
    const check = (await reportOf('2025-07-01')).checks.find((c) => c.check === 'undeclared_source_columns');
    expect(check).toMatchObject({ passed: false, severity: 'warning', actual: 'rentals.promo_code (text)', value: 1 });
    expect(status.out).toContain(DRIFT);
    const files = (await readManifest(store, parseDay('2025-07-01')))!.manifest.files;
    expect(await readFile(join(lake, files[0].key))).not.toContain(Buffer.from('promo_code'));
  });

  it("names it in the schedule's plan", async () => {
    // Act
    const config = loadConfig(env);
    let plan: unknown;
    await runLocalExecution(
      config,
      { scheduledTime: '2025-07-03T02:30:00Z' },
      {
        concurrency: 1,
        logLine: () => undefined,
        handlers: {
          Plan: (own) => async (input) => {
            plan = await own(input);
            return plan;
          },
        },
      },
    );

    // Assess
    expect(plan).toMatchObject({ undeclaredColumns: ['rentals.promo_code (text)'] });
  });

  it('fails a day whose declared column changed type, naming it, before anything is written', async () => {
    // Prepare
    await client.query('ALTER TABLE rentals ALTER COLUMN rent_end TYPE text');

    // Act
    const run = await etl(['run', '--date', '2025-07-03']);

    // Assess
    expect(run.code).toBe(1);
    expect(run.out).toMatch(/2025-07-03 .*failed: .*source column rentals\.rent_end: expected timestamp with time zone, got text/);
    expect(await readManifest(store, parseDay('2025-07-03'))).toBeUndefined();
    expect(await store.list('rentals/year=2025/month=07/day=03/')).toEqual([]);
    await client.query('ALTER TABLE rentals ALTER COLUMN rent_end TYPE timestamptz USING rent_end::timestamptz');
  });

  it('passes an empty day with a warning, and fails it once QUALITY_MIN_DAY_ROWS is set', async () => {
    // Act
    const warned = await etl(['run', '--date', '2025-07-10']);
    const report = await reportOf('2025-07-10');
    const failed = await etl(['run', '--date', '2025-07-11'], { QUALITY_MIN_DAY_ROWS: '1' });

    // Assess
    expect(warned.code, warned.err).toBe(0);
    expect(report.checks.find((c) => c.check === 'min_day_rows')).toMatchObject({ passed: false, severity: 'warning', value: 0 });
    expect(failed.code).toBe(1);
    expect(failed.out).toMatch(/2025-07-11 .*failed: .*min_day_rows/);
    expect(await readManifest(store, parseDay('2025-07-11'))).toBeUndefined();
  });
});
