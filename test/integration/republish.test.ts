/**
 * Late changes republished, through the deployed state-machine definition: a window of published
 * days, then a cost corrected on one past day and a late rental inserted into another; the
 * schedule's input runs yesterday and exactly those two days again (the lake matches the source
 * for them, read with DuckDB), and leaves the untouched days alone as current. `etl run
 * --scheduled --at` does the same from the command line and says why each day ran.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { seed } from '../../src/source/synthetic/load.js';
import { loadConfig, type Config } from '../../src/core/config.js';
import { parseDay } from '../../src/core/day.js';
import { FsStore } from '../../src/lake/fs-store.js';
import { readManifest } from '../../src/lake/manifest.js';
import { runLocalExecution, type DayOutcome } from '../../src/pipeline/local-execution.js';
import { createTestDatabase } from '../support/databases.js';
import { duckdbAggregate } from '../support/lake-readers.js';
import { sourceAggregate } from '../support/source.js';

const PER_DAY = 200;
/** Published by the suite's set-up: the lookback window of the schedule below (7 days before yesterday). */
const PUBLISHED = ['2025-05-01', '2025-05-02', '2025-05-03', '2025-05-04', '2025-05-05', '2025-05-06', '2025-05-07'];
/** The schedule fires early on 2025-05-09: yesterday is 2025-05-08, seeded but never published. */
const SCHEDULED = { scheduledTime: '2025-05-09T02:30:00Z' };
const CHANGED_COST = '2025-05-03';
/** Small days: the quality limits are not what this suite is about. */
const LOOSE_QUALITY = {
  QUALITY_MAX_NEGATIVE_DURATION_RATE: '1',
  QUALITY_MAX_NEGATIVE_COST_RATE: '1',
  QUALITY_MAX_QUARANTINE_RATE: '1',
  QUALITY_MAX_NULL_RATE: '1',
};
const LATE_RENTAL = '2025-05-05';

describe('late changes republished by the schedule', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let client: pg.Client;
  let lake: string;
  let config: Config;
  let store: FsStore;
  /** The run that published each day, before the source changed. */
  const publishedBy = new Map<string, string>();
  let scheduled: Awaited<ReturnType<typeof runLocalExecution>>;

  const runOf = async (date: string) => (await readManifest(store, parseDay(date)))?.manifest.runId;
  const lakeAggregate = async (date: string) => {
    const manifest = (await readManifest(store, parseDay(date)))!.manifest;
    return duckdbAggregate(manifest.files.map((f) => join(lake, f.key)));
  };
  const why = (outcomes: readonly DayOutcome[]) => outcomes.map((o) => [o.date, o.verdict, o.reason?.kind]);

  beforeAll(async () => {
    database = await createTestDatabase();
    client = new pg.Client(database.url);
    await client.connect();
    await seed(client, { from: parseDay('2025-05-01'), to: parseDay('2025-05-08'), rentalsPerDay: PER_DAY });
    lake = await mkdtemp(join(tmpdir(), 'republish-lake-'));
    config = loadConfig({ DATABASE_URL: database.url, LAKE_URI: lake, POWERTOOLS_LOG_LEVEL: 'WARN', ...LOOSE_QUALITY });
    store = new FsStore(config.lake);
    const backfill = await runLocalExecution(config, { from: PUBLISHED[0], to: PUBLISHED.at(-1)! }, { concurrency: 2, logLine: () => undefined });
    expect(backfill.status, `${backfill.error}: ${backfill.cause}`).toBe('SUCCEEDED');
    for (const date of PUBLISHED) publishedBy.set(date, (await runOf(date))!);

    // The source changes after the days were published: a corrected cost, a rental recorded late.
    await client.query(
      `UPDATE rentals SET rent_cost = '999.99', updated_at = now()
       WHERE rental_id = (SELECT min(rental_id) FROM rentals WHERE rent_start >= $1::date AND rent_start < $1::date + 1)`,
      [CHANGED_COST],
    );
    await client.query(
      `INSERT INTO rentals (rental_id, user_id, bike_id, rent_start, rent_end, start_station, end_station, rent_cost, updated_at)
       VALUES ((SELECT max(rental_id) + 1 FROM rentals WHERE rent_start >= $1::date AND rent_start < $1::date + 1), 1, 1,
               $1::date + interval '12 hours', $1::date + interval '12 hours 20 minutes', 'Late Street', 'Late Street', '4.20', now())`,
      [LATE_RENTAL],
    );

    scheduled = await runLocalExecution(config, SCHEDULED, { concurrency: 2, logLine: () => undefined });
  });

  afterAll(async () => {
    await client?.end();
    await database?.drop();
    await rm(lake, { recursive: true, force: true });
  });

  it('runs yesterday and exactly the changed days again, and skips the untouched days as current', () => {
    // Act (the scheduled run is the suite's set-up)
    const result = scheduled;

    // Assess
    expect(result.status, result.cause).toBe('SUCCEEDED');
    expect(why(result.outcomes)).toEqual([
      ['2025-05-01', 'skipped', 'current'],
      ['2025-05-02', 'skipped', 'current'],
      ['2025-05-03', 'passed', 'stale'],
      ['2025-05-04', 'skipped', 'current'],
      ['2025-05-05', 'passed', 'stale'],
      ['2025-05-06', 'skipped', 'current'],
      ['2025-05-07', 'skipped', 'current'],
      ['2025-05-08', 'passed', 'new'],
    ]);
    const reasonOf = (date: string) => result.outcomes.find((o) => o.date === date)?.reason?.detail;
    expect(reasonOf(CHANGED_COST)).toMatch(/^rows changed after \d{4}-\d{2}-\d{2}T/);
    expect(reasonOf(LATE_RENTAL)).toBe(`source has ${PER_DAY + 1} rows, partition ${PER_DAY}`);
    expect(reasonOf('2025-05-01')).toMatch(new RegExp(`^${PER_DAY} rows, none changed after `));
  });

  it('leaves the lake equal to the source for the republished days, read with DuckDB', async () => {
    for (const date of [CHANGED_COST, LATE_RENTAL, '2025-05-08']) {
      // Act
      const [inLake, inSource] = await Promise.all([lakeAggregate(date), sourceAggregate(client, date)]);

      // Assess
      expect(inLake, date).toEqual(inSource);
    }
    expect((await lakeAggregate(LATE_RENTAL)).rows).toBe(PER_DAY + 1);
    expect(await runOf(CHANGED_COST)).not.toBe(publishedBy.get(CHANGED_COST));
  });

  it('does not touch the days it found current', async () => {
    for (const date of PUBLISHED.filter((d) => d !== CHANGED_COST && d !== LATE_RENTAL)) {
      // Act / Assess
      expect(await runOf(date), date).toBe(publishedBy.get(date));
    }
  });

  it('etl run --scheduled --at again: finds the republished days current now, re-runs yesterday saying so, names a day before the lake', async () => {
    // Prepare: a lookback of 8 reaches 2025-04-30, which was never published
    const out: string[] = [];
    const err: string[] = [];
    const republished = [CHANGED_COST, LATE_RENTAL].map(async (date) => [date, await runOf(date)] as const);
    const before = new Map(await Promise.all(republished));
    const yesterdayRun = await runOf('2025-05-08');

    // Act
    const code = await main(
      ['run', '--scheduled', '--at', SCHEDULED.scheduledTime],
      { DATABASE_URL: database.url, LAKE_URI: lake, REPUBLISH_LOOKBACK_DAYS: '8', ...LOOSE_QUALITY },
      {
        out: (l) => out.push(l),
        err: (l) => err.push(l),
      },
    );

    // Assess
    expect(code, err.join('\n')).toBe(0);
    const lines = out.join('\n').split('\n');
    const lineOf = (date: string) => lines.find((l) => l.startsWith(date)) ?? '';
    expect(lineOf('2025-04-30')).toMatch(/skipped \[unpublished: never published/);
    expect(lineOf(CHANGED_COST)).toMatch(new RegExp(`skipped \\[current: ${PER_DAY} rows, none changed after `));
    expect(lineOf(LATE_RENTAL)).toMatch(new RegExp(`skipped \\[current: ${PER_DAY + 1} rows, none changed after `));
    expect(lineOf('2025-04-30')).toMatch(/before the lake's first day \(2025-05-01\)/);
    expect(lineOf('2025-05-08')).toMatch(new RegExp(`passed \\[rerun: yesterday, re-run every schedule \\(${PER_DAY} rows, none changed after `));
    for (const [date, run] of before) expect(await runOf(date), date).toBe(run);
    expect(await runOf('2025-05-08')).not.toBe(yesterdayRun);
  });

  it.each([
    ['--at without --scheduled', ['run', '--date', '2025-05-01', '--at', '2025-05-09T02:30:00Z'], /^etl: at: expected only with --scheduled/],
    ['--scheduled with --date', ['run', '--scheduled', '--date', '2025-05-01'], /^etl: date: expected no --date with --scheduled/],
    ['an --at that is no time', ['run', '--scheduled', '--at', 'last night'], /^etl: at: expected an ISO 8601 timestamp/],
    ['an --at in the future', ['run', '--scheduled', '--at', '2999-01-01T02:30:00Z'], /^etl: at: expected a time not in the future \(now /],
    ['an append schedule while the lookback is on', ['run', '--scheduled', '--mode', 'append'], /^etl: mode: expected overwrite/],
  ])('etl run refuses %s with exit code 2', async (_name, argv, message) => {
    // Prepare
    const err: string[] = [];

    // Act
    const code = await main(argv, { DATABASE_URL: database.url, LAKE_URI: lake }, { out: () => undefined, err: (l) => err.push(l) });

    // Assess
    expect(code).toBe(2);
    expect(err[0]).toMatch(message);
  });
});
