/**
 * Days too big for one invocation, cut into hour ranges (`RANGE_MAX_ROWS`), through the synthesized
 * definition with the real handlers, a real Postgres and a local lake: the ranges are extracted and
 * written apart, at most `rangeConcurrency` at once, and published together as one partition whose
 * content equals the source; a range that fails for good fails its day and leaves the published
 * partition as it was.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLocalExecution } from '../../src/pipeline/local-execution.js';
import { loadConfig, type Config } from '../../src/core/config.js';
import { dayWindow, parseDay, windowHours } from '../../src/core/day.js';
import { StagingError } from '../../src/core/errors.js';
import { seed } from '../../src/source/synthetic/load.js';
import { FsStore } from '../../src/lake/fs-store.js';
import { lockKey } from '../../src/lake/lease.js';
import { readManifest } from '../../src/lake/manifest.js';
import type { ValidationReport } from '../../src/lake/report-record.js';
import { createTestDatabase } from '../support/databases.js';
import { duckdbAggregate } from '../support/lake-readers.js';
import { overlapBarrier } from '../support/overlap.js';
import { sourceAggregate } from '../support/source.js';

const DAY = parseDay('2025-06-01');
/** A day that falls back an hour in Berlin: 25 hours. */
const LONG_DAY = parseDay('2025-10-26');
const ROWS = 800;
const PART = /part-\d{8}T\d{9}Z-[0-9a-f]{8}-(h\d{2})-\d{5}\.parquet$/;

describe('a day cut into hour ranges', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let client: pg.Client;
  let lake: string;
  let config: Config;
  let store: FsStore;

  const configWith = (env: Record<string, string>) => loadConfig({ DATABASE_URL: database.url, LAKE_URI: lake, POWERTOOLS_LOG_LEVEL: 'WARN', ...env });
  const manifestOf = async (day = DAY) => (await readManifest(store, day))!.manifest;
  const partitionFiles = async (day = DAY) =>
    (await store.list(`rentals/year=${day.year}/month=${String(day.month).padStart(2, '0')}/day=${String(day.day).padStart(2, '0')}/`))
      .map((o) => o.key)
      .filter((k) => k.endsWith('.parquet'))
      .sort();

  beforeAll(async () => {
    database = await createTestDatabase();
    client = new pg.Client(database.url);
    await client.connect();
    await seed(client, { from: DAY, to: DAY, rentalsPerDay: ROWS });
    await seed(client, { from: parseDay('2025-10-25'), to: parseDay('2025-10-27'), rentalsPerDay: 300 });
    lake = await mkdtemp(join(tmpdir(), 'ranges-lake-'));
    store = new FsStore(loadConfig({ LAKE_URI: lake }).lake);
    config = configWith({ RANGE_MAX_ROWS: '200' });
  });
  afterAll(async () => {
    await client?.end();
    await database?.drop();
    await rm(lake, { recursive: true, force: true });
  });

  it('extracts and writes each range apart and publishes them as one partition equal to the source', async () => {
    // Act
    const result = await runLocalExecution(config, { date: DAY.iso }, { concurrency: 1, rangeConcurrency: 2 });

    // Assess: several ranges, each with files of its own, one manifest for all of them
    expect(result.status).toBe('SUCCEEDED');
    expect(result.outcomes[0]).toMatchObject({ date: DAY.iso, verdict: 'passed', sourceRows: ROWS, writtenRows: ROWS });
    const manifest = await manifestOf();
    const parts = new Set(manifest.files.map((f) => PART.exec(f.key)?.[1]));
    expect(parts.size).toBeGreaterThanOrEqual(ROWS / 200);
    expect(parts.has(undefined)).toBe(false);
    expect(parts.has('h00')).toBe(true);
    expect(manifest.rows).toBe(ROWS);
    expect(manifest.runs).toEqual([expect.objectContaining({ mode: 'overwrite', sourceCount: ROWS, rows: ROWS })]);
    expect(await partitionFiles()).toEqual(manifest.files.map((f) => f.key).sort());
    // The rows are the source's, none twice, none missing
    expect(await duckdbAggregate(manifest.files.map((f) => join(lake, f.key)))).toEqual(await sourceAggregate(client, DAY.iso));
    // Quarantine files per range are all listed; the report covers the whole day; staging is gone
    const quarantined = (await store.list('_quarantine/rentals/year=2025/month=06/day=01/')).map((o) => o.key).sort();
    expect(quarantined.length).toBeGreaterThan(1);
    expect([...manifest.quarantine].sort()).toEqual(quarantined);
    const report = JSON.parse(
      Buffer.from((await store.getObject(`_reports/rentals/year=2025/month=06/day=01/${manifest.runId}.json`))!.body).toString(),
    ) as ValidationReport;
    expect(report).toMatchObject({ verdict: 'passed', sourceCount: ROWS, rows: ROWS, files: manifest.files.length });
    let lines = 0;
    for (const key of quarantined)
      lines += Buffer.from((await store.getObject(key))!.body)
        .toString()
        .trim()
        .split('\n').length;
    expect(report.metrics!.quarantined).toBe(lines);
    expect(await store.list('_staging/')).toEqual([]);
    expect(await store.getObject(lockKey(DAY))).toBeUndefined();
    // Users and bikes are written once, by the range that starts the day
    expect((await store.head('users/data.parquet'))?.size).toBeGreaterThan(0);
  });

  it('runs at most rangeConcurrency ranges at once, and an hour bigger than RANGE_MAX_ROWS as a range of its own', async () => {
    // Prepare
    const tight = configWith({ RANGE_MAX_ROWS: '20' });
    const hoursSeen: Array<{ from: number; to: number }> = [];
    const overlap = overlapBarrier(3);
    const counted = (extract: (event: unknown) => Promise<unknown>) =>
      overlap.wrap(async (event: unknown) => {
        hoursSeen.push((event as { hours: { from: number; to: number } }).hours);
        return extract(event);
      });

    // Act
    const result = await runLocalExecution(tight, { date: DAY.iso }, { concurrency: 1, rangeConcurrency: 3, handlers: { Extract: counted } });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(overlap.peak).toBe(3);
    const sorted = [...hoursSeen].sort((a, b) => a.from - b.from);
    expect(sorted[0].from).toBe(0);
    expect(sorted.at(-1)!.to).toBe(24);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i].from).toBe(sorted[i - 1].to);
    // The rush hours hold more than 20 rentals each: every one of them is a one-hour range
    const { rows } = await client.query<{ hour: number; n: string }>(
      `SELECT extract(hour FROM rent_start AT TIME ZONE 'UTC')::int AS hour, count(*) AS n FROM rentals
       WHERE rent_start >= $1 AND rent_start < $2 GROUP BY 1 HAVING count(*) > 20`,
      [dayWindow(DAY, 'UTC').start, dayWindow(DAY, 'UTC').end],
    );
    expect(rows.length).toBeGreaterThan(0);
    for (const { hour } of rows) expect(sorted).toContainEqual({ from: hour, to: hour + 1 });
    expect((await manifestOf()).rows).toBe(ROWS);
  });

  it('covers all 25 hours of a day that falls back in the partition time zone', async () => {
    // Prepare
    const berlin = configWith({ RANGE_MAX_ROWS: '60', PARTITION_TIMEZONE: 'Europe/Berlin' });
    expect(windowHours(dayWindow(LONG_DAY, 'Europe/Berlin'))).toBe(25);

    // Act
    const result = await runLocalExecution(berlin, { date: LONG_DAY.iso }, { concurrency: 1, rangeConcurrency: 4 });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    const manifest = await manifestOf(LONG_DAY);
    expect(new Set(manifest.files.map((f) => PART.exec(f.key)?.[1])).size).toBeGreaterThan(2);
    expect(await duckdbAggregate(manifest.files.map((f) => join(lake, f.key)))).toEqual(await sourceAggregate(client, LONG_DAY.iso, 'Europe/Berlin'));
  });

  it('fails the day when one range fails for good, and leaves the published partition as it was', async () => {
    // Prepare
    const before = await manifestOf();
    const beforeFiles = await partitionFiles();
    const failsAfterNoon = (transform: (event: unknown) => Promise<unknown>) => async (event: unknown) => {
      if ((event as { hours: { from: number } }).hours.from >= 12) throw new StagingError('staged rentals batch lacks column rent_cost');
      return transform(event);
    };

    // Act
    const result = await runLocalExecution(
      config,
      { date: DAY.iso },
      { concurrency: 1, rangeConcurrency: 1, retryIntervalMs: 0, handlers: { TransformWrite: failsAfterNoon } },
    );

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.outcomes).toEqual([
      expect.objectContaining({ date: DAY.iso, verdict: 'failed', error: expect.stringMatching(/^StagingError: staged rentals batch lacks column rent_cost/) }),
    ]);
    expect(await manifestOf()).toEqual(before);
    // The ranges written before the failure were staged, never in the partition, and are swept with the lease
    expect(await partitionFiles()).toEqual(beforeFiles);
    expect(await store.list('_staging/')).toEqual([]);

    // Act: the next run of the day publishes and clears the unpublished files of the failed run
    const retry = await runLocalExecution(configWith({}), { date: DAY.iso }, { concurrency: 1 });

    // Assess: a day that fits one range again has files without a part
    expect(retry.status).toBe('SUCCEEDED');
    const after = await manifestOf();
    expect(after.files.every((f) => !PART.test(f.key))).toBe(true);
    expect(await partitionFiles()).toEqual(after.files.map((f) => f.key).sort());
    expect(await duckdbAggregate(after.files.map((f) => join(lake, f.key)))).toEqual(await sourceAggregate(client, DAY.iso));
  });
});
