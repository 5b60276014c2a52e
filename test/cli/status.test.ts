/**
 * `etl status`: each day at a glance from the lake's manifests, reports and locks, compared with
 * the source when a database is configured; on a local lake and on S3, where the days are listed
 * a year (or the whole lake) at a time.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { loadConfig } from '../../src/core/config.js';
import { daysBetween, parseDay } from '../../src/core/day.js';
import { lockKey } from '../../src/lake/lease.js';
import { openStore } from '../../src/lake/open.js';
import type { ObjectStore } from '../../src/lake/store.js';
import { listingPrefixes } from '../../src/monitor/lake-state.js';
import type { DayStatus } from '../../src/monitor/status.js';
import type { ValidationReport } from '../../src/lake/report-record.js';
import { seed } from '../../src/source/synthetic/load.js';
import { createTestDatabase } from '../support/databases.js';
import { runDay } from '../support/run-day.js';
import { createBucket, s3Endpoint, s3Env, useS3Credentials } from '../support/s3.js';
import { syntheticRows, writeSyntheticDays } from '../support/synthetic-lake.js';

async function etl(argv: string[], env: NodeJS.ProcessEnv) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, env, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

async function statusJson(argv: string[], env: NodeJS.ProcessEnv): Promise<DayStatus[]> {
  const { code, out, err } = await etl(['status', ...argv, '--json'], env);
  expect(code, err).toBe(0);
  return (JSON.parse(out) as { days: DayStatus[] }).days;
}

describe('listing prefixes', () => {
  it('lists one month folder, one folder per year, or the whole tree', () => {
    // Act
    const month = listingPrefixes('_reports/rentals/', daysBetween(parseDay('2025-03-01'), parseDay('2025-03-31')));
    const years = listingPrefixes('_reports/rentals/', daysBetween(parseDay('2024-12-31'), parseDay('2025-01-01')));
    const all = listingPrefixes('_reports/rentals/', undefined);

    // Assess
    expect(month).toEqual(['_reports/rentals/year=2025/month=03/']);
    expect(years).toEqual(['_reports/rentals/year=2024/', '_reports/rentals/year=2025/']);
    expect(all).toEqual(['_reports/rentals/']);
  });
});

describe('etl status on a local lake', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let client: pg.Client;
  let lake: string;
  let store: ObjectStore;
  let failedReport: ValidationReport;

  beforeAll(async () => {
    database = await createTestDatabase();
    client = new pg.Client(database.url);
    await client.connect();
    lake = await mkdtemp(join(tmpdir(), 'status-'));
    store = await openStore(loadConfig({ LAKE_URI: lake }));
    await seed(client, { from: parseDay('2025-03-01'), to: parseDay('2025-03-04'), rentalsPerDay: 400, seed: 7, errorRate: 0.02 });
    for (const date of ['2025-03-01', '2025-03-02', '2025-03-03']) await runDay(store, database.url, parseDay(date));
    // 03-02 gets a second run on top; 03-03 a run that fails its quarantine check and publishes nothing.
    await runDay(store, database.url, parseDay('2025-03-02'), { mode: 'append' });
    await expect(runDay(store, database.url, parseDay('2025-03-03'), { thresholds: { maxQuarantineRate: 0 } })).rejects.toThrow();
    const reports = await store.list('_reports/rentals/year=2025/month=03/day=03/');
    failedReport = JSON.parse(await readFile(join(lake, reports.at(-1)!.key), 'utf8')) as ValidationReport;
    // 03-01 changes in the source after it was published; 03-04 is being run by a process elsewhere.
    await client.query(
      `UPDATE rentals SET updated_at = now() WHERE rental_id = (SELECT min(rental_id) FROM rentals WHERE rent_start >= '2025-03-01' AND rent_start < '2025-03-02')`,
    );
    const lock = {
      owner: 'arn:local',
      runId: '20250305T010203004Z-0a1b2c3d',
      acquiredAt: new Date().toISOString(),
      expiresAt: '2999-01-01T00:00:00.000Z',
      host: 'builder',
      pid: 4242,
      heartbeat: 3,
    };
    await store.putObject(lockKey(parseDay('2025-03-04')), JSON.stringify(lock));
  }, 120_000);

  afterAll(async () => {
    await client?.end();
    await database?.drop();
    await rm(lake, { recursive: true, force: true });
  });

  it('reports each day of the range: published, runs, source state, lock, last verdict and quarantine rate', async () => {
    // Prepare
    const manifest = async (date: string) => JSON.parse(await readFile(join(lake, `_manifests/rentals/year=2025/month=03/day=${date.slice(8)}.json`), 'utf8'));
    const [first, second, third] = await Promise.all(['2025-03-01', '2025-03-02', '2025-03-03'].map(manifest));

    // Act
    const days = await statusJson(['--from', '2025-03-01', '--to', '2025-03-05'], { LAKE_URI: lake, DATABASE_URL: database.url });

    // Assess
    expect(days.map((d) => d.date)).toEqual(['2025-03-01', '2025-03-02', '2025-03-03', '2025-03-04', '2025-03-05']);
    const [d1, d2, d3, d4, d5] = days;
    expect(d1).toMatchObject({ published: true, rows: first.rows, files: first.files.length, runs: ['overwrite'], snapshotAt: first.runs[0].sourceSnapshotAt });
    expect(d1.source).toMatchObject({ state: 'stale', count: 400, detail: expect.stringMatching(/changed after/) });
    expect(d1.last).toMatchObject({ verdict: 'passed', kind: 'publish', runId: first.runId, reasons: [] });
    expect(d2).toMatchObject({ published: true, rows: second.rows, runs: ['overwrite', 'append'], source: { state: 'current', count: 400 } });
    expect(d3).toMatchObject({ published: true, rows: third.rows, source: { state: 'current' } });
    expect(d3.last).toMatchObject({ verdict: 'failed', runId: failedReport.runId });
    expect(d3.last?.reasons).toEqual([`quarantine_rate: ${failedReport.checks.find((c) => c.check === 'quarantine_rate')!.actual} (expected <= 0.00%)`]);
    expect(d3.quarantineRate).toBeCloseTo(failedReport.quarantined / failedReport.metrics!.rows, 10);
    expect(d3.quarantineRate).toBeGreaterThan(0);
    expect(d4).toMatchObject({
      published: false,
      source: { state: 'missing', count: 400 },
      missing: 'never published, though the lake starts at 2025-03-01: a run holds it',
    });
    expect(d4.lock).toEqual({
      runId: '20250305T010203004Z-0a1b2c3d',
      owner: 'arn:local',
      expiresAt: '2999-01-01T00:00:00.000Z',
      host: 'builder',
      pid: 4242,
      expired: false,
    });
    expect(d4.last).toBeUndefined();
    expect(d5).toEqual({
      date: '2025-03-05',
      published: false,
      source: { state: 'missing', count: 0, detail: '0 rows in the source' },
      missing: 'never published, though the lake starts at 2025-03-01: no run recorded',
    });
  });

  it('lists every day the lake holds without dates, as a table without the source column when no database is set', async () => {
    // Prepare
    const second = JSON.parse(await readFile(join(lake, '_manifests/rentals/year=2025/month=03/day=02.json'), 'utf8'));

    // Act
    const { code, out } = await etl(['status'], { LAKE_URI: lake });

    // Assess
    expect(code).toBe(0);
    const lines = out.split('\n');
    expect(lines[0]).toMatch(/^date\s+published\s+rows\s+files\s+bytes\s+runs\s+snapshot\s+quarantine\s+lock\s+last verdict$/);
    expect(lines.slice(1, -1).map((l) => l.slice(0, 10))).toEqual(['2025-03-01', '2025-03-02', '2025-03-03', '2025-03-04']);
    expect(lines[2]).toMatch(new RegExp(`^2025-03-02\\s+yes\\s+${second.rows}\\s+${second.files.length}\\s+.*\\s1 overwrite \\+1 append\\s.*\\spassed$`));
    expect(lines[3]).toMatch(/\sfailed: quarantine_rate: \d+\.\d\d% \(expected <= 0\.00%\)$/);
    expect(lines[4]).toMatch(
      /^2025-03-04\s+missing\s+-\s.*\s20250305T010203004Z-0a1b2c3d on builder pid 4242 until 2999-01-01 00:00:00Z\s+never published, though the lake starts at 2025-03-01: a run holds it$/,
    );
    expect(lines.at(-1)).toBe('4 days, 3 published, 1 missing, 1 locked, 1 failed last');
  });
});

describe('etl status with a day the lake knows nothing about', () => {
  let lake: string;

  beforeAll(async () => {
    lake = await mkdtemp(join(tmpdir(), 'status-gap-'));
    // 2025-04-02's schedule failed before it wrote anything: no manifest, report or lock.
    await writeSyntheticDays(await openStore(loadConfig({ LAKE_URI: lake })), [parseDay('2025-04-01'), parseDay('2025-04-03')]);
  });

  afterAll(async () => {
    await rm(lake, { recursive: true, force: true });
  });

  it('lists it between the days around it as missing, with why', async () => {
    // Act
    const days = await statusJson([], { LAKE_URI: lake });

    // Assess
    expect(days.map((d) => [d.date, d.published, d.missing])).toEqual([
      ['2025-04-01', true, undefined],
      ['2025-04-02', false, 'never published, though the lake starts at 2025-04-01: no run recorded'],
      ['2025-04-03', true, undefined],
    ]);
  });
});

describe.skipIf(!s3Endpoint)('etl status on an S3 lake', () => {
  let env: NodeJS.ProcessEnv;
  const days = daysBetween(parseDay('2024-11-01'), parseDay('2025-02-28'));

  beforeAll(async () => {
    useS3Credentials(s3Endpoint!);
    const bucket = await createBucket(s3Endpoint!);
    env = { ...s3Env(s3Endpoint!), LAKE_URI: `s3://${bucket}/lake` };
    await writeSyntheticDays(await openStore(loadConfig(env)), days);
  }, 120_000);

  it('finds every day of the lake across years, each with its own manifest and report', async () => {
    // Act
    const statuses = await statusJson([], env);

    // Assess
    expect(statuses.map((s) => s.date)).toEqual(days.map((d) => d.iso));
    expect(statuses.map((s) => s.rows)).toEqual(days.map((_, i) => syntheticRows(i)));
    expect(statuses.map((s) => s.quarantineRate)).toEqual(days.map((_, i) => (i % 7) / syntheticRows(i)));
    expect(statuses.every((s) => s.last?.verdict === 'passed')).toBe(true);
  });

  it('reads only the days asked for, over a year boundary and within a month', async () => {
    // Act
    const around = await statusJson(['--from', '2024-12-30', '--to', '2025-01-02'], env);
    const one = await statusJson(['--date', '2025-02-14'], env);

    // Assess
    expect(around.map((s) => [s.date, s.rows])).toEqual(
      ['2024-12-30', '2024-12-31', '2025-01-01', '2025-01-02'].map((date) => [date, syntheticRows(days.findIndex((d) => d.iso === date))]),
    );
    expect(one.map((s) => [s.date, s.rows])).toEqual([['2025-02-14', syntheticRows(days.findIndex((d) => d.iso === '2025-02-14'))]]);
  });
});
