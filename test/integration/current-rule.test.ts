/**
 * One rule for "current", whoever asks: the schedule's lookback, `etl status`, `npm start`'s
 * up-to-date test and `etl validate` agree on a day appended to (two runs, a late rental stamped
 * with its own time: current) and on a day a row of which changed after it was published (stale).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upToDateDays } from '../../cli/commands/start.js';
import { main } from '../../cli/main.js';
import { seed } from '../../src/source/synthetic/load.js';
import { loadConfig, type Config } from '../../src/core/config.js';
import { parseDay } from '../../src/core/day.js';
import { FsStore } from '../../src/lake/fs-store.js';
import { readManifest } from '../../src/lake/manifest.js';
import type { ValidationReport } from '../../src/lake/report-record.js';
import type { DayStatus } from '../../src/monitor/status.js';
import { runLocalExecution } from '../../src/pipeline/local-execution.js';
import { checkDays } from '../../src/pipeline/plan/staleness.js';
import { createTestDatabase } from '../support/databases.js';

const PER_DAY = 200;
/** Published, then appended to: a late rental recorded with its own (past) time. */
const APPENDED = parseDay('2025-07-01');
/** Published, then a row of it changed in the source. */
const CHANGED = parseDay('2025-07-02');
const DAYS = [APPENDED, CHANGED];
/** Small days: the quality limits are not what this suite is about. */
const LOOSE_QUALITY = {
  QUALITY_MAX_NEGATIVE_DURATION_RATE: '1',
  QUALITY_MAX_NEGATIVE_COST_RATE: '1',
  QUALITY_MAX_QUARANTINE_RATE: '1',
  QUALITY_MAX_NULL_RATE: '1',
};

describe('one rule for "current"', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let client: pg.Client;
  let lake: string;
  let env: NodeJS.ProcessEnv;
  let config: Config;
  let store: FsStore;

  const etl = async (argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(argv, env, { out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    client = new pg.Client(database.url);
    await client.connect();
    await seed(client, { from: APPENDED, to: CHANGED, rentalsPerDay: PER_DAY, errorRate: 0 });
    lake = await mkdtemp(join(tmpdir(), 'current-rule-'));
    env = { DATABASE_URL: database.url, LAKE_URI: lake, POWERTOOLS_LOG_LEVEL: 'WARN', ...LOOSE_QUALITY };
    config = loadConfig(env);
    store = new FsStore(config.lake);
    const published = await runLocalExecution(config, { from: APPENDED.iso, to: CHANGED.iso }, { concurrency: 2, logLine: () => undefined });
    expect(published.status, `${published.error}: ${published.cause}`).toBe('SUCCEEDED');

    // A rental recorded late, stamped with its own time (before the day's snapshot), then appended.
    await client.query(
      `INSERT INTO rentals (rental_id, user_id, bike_id, rent_start, rent_end, start_station, end_station, rent_cost, updated_at)
       VALUES ((SELECT max(rental_id) + 1 FROM rentals), 1, 1, $1::date + interval '12 hours', $1::date + interval '12 hours 20 minutes',
               'Late Street', 'Late Street', '4.20', $1::date + interval '12 hours 20 minutes')`,
      [APPENDED.iso],
    );
    const appended = await runLocalExecution(config, { date: APPENDED.iso, mode: 'append' }, { concurrency: 1, logLine: () => undefined });
    expect(appended.status, `${appended.error}: ${appended.cause}`).toBe('SUCCEEDED');
    await client.query(
      `UPDATE rentals SET rent_cost = '999.99', updated_at = now()
       WHERE rental_id = (SELECT min(rental_id) FROM rentals WHERE rent_start >= $1::date AND rent_start < $1::date + 1)`,
      [CHANGED.iso],
    );
  }, 120_000);

  afterAll(async () => {
    await client?.end();
    await database?.drop();
    await rm(lake, { recursive: true, force: true });
  });

  it('publishes the appended day from two runs that read all its rows', async () => {
    // Act
    const manifest = (await readManifest(store, APPENDED))!.manifest;

    // Assess
    expect(manifest.runs.map((r) => [r.mode, r.sourceCount])).toEqual([
      ['overwrite', PER_DAY],
      ['append', 1],
    ]);
    expect(manifest.rows).toBe(PER_DAY + 1);
  });

  it('the schedule’s lookback finds the appended day current and the changed day stale', async () => {
    // Act
    const checks = await checkDays({ store, withSource: (work) => work(client), days: DAYS, timeZone: config.timeZone });

    // Assess
    expect(checks.map((c) => [c.date, c.state])).toEqual([
      [APPENDED.iso, 'current'],
      [CHANGED.iso, 'stale'],
    ]);
  });

  it('etl status says the same', async () => {
    // Act
    const { code, out, err } = await etl(['status', '--from', APPENDED.iso, '--to', CHANGED.iso, '--json']);

    // Assess
    expect(code, err).toBe(0);
    const { days } = JSON.parse(out) as { days: DayStatus[] };
    expect(days.map((d) => [d.date, d.source?.state])).toEqual([
      [APPENDED.iso, 'current'],
      [CHANGED.iso, 'stale'],
    ]);
  });

  it('npm start skips the appended day as up to date and runs the changed one', async () => {
    // Act
    const { skipped, pending } = await upToDateDays(store, client, DAYS, config.timeZone);

    // Assess
    expect(skipped.map((o) => [o.date, o.note, o.sourceRows, o.writtenRows])).toEqual([[APPENDED.iso, 'published and up to date', PER_DAY + 1, PER_DAY + 1]]);
    expect(pending).toEqual([CHANGED.iso]);
  });

  it('etl validate passes the appended day and fails the changed one on its source check alone', async () => {
    // Act
    const appended = await etl(['validate', '--date', APPENDED.iso, '--json']);
    const changed = await etl(['validate', '--date', CHANGED.iso, '--json']);

    // Assess
    const reportOf = (out: string) => (JSON.parse(out) as { days: ValidationReport[] }).days[0];
    expect(appended.code, appended.out).toBe(0);
    expect(reportOf(appended.out).checks.find((c) => c.check === 'source_rows_now')).toMatchObject({
      passed: true,
      actual: `${PER_DAY + 1} source rows read by the partition's 2 runs`,
      value: PER_DAY + 1,
      limit: PER_DAY + 1,
    });
    expect(changed.code).toBe(1);
    expect(
      reportOf(changed.out)
        .checks.filter((c) => !c.passed)
        .map((c) => c.check),
    ).toEqual(['source_unchanged_since_snapshot']);
  });
});
