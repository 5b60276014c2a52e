/**
 * `ICEBERG_KEEP_SUPERSEDED_HOURS`: the files a publish supersedes stay N hours, and so do the
 * snapshots that name them, so that an Iceberg reader (icebird) reads a snapshot from before an
 * overwrite — the old rows — while the setting holds; a glob over the day then sees both versions,
 * the manifest only the new one. A killed run's never-published files still go at once. Once the
 * time is up (a clock moved on), the table's maintenance (its next commit, of any day; `etl clean`)
 * deletes the superseded files and expires their snapshots.
 */
import { copyFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect } from 'vitest';
import { loadConfig, type Config } from '../../src/core/config.js';
import { dayWindow, parseDay } from '../../src/core/day.js';
import { FsStore } from '../../src/lake/fs-store.js';
import { syncIcebergDay } from '../../src/lake/iceberg/lake-sync.js';
import { readManifest } from '../../src/lake/manifest.js';
import { localLiveness } from '../../src/lake/lease.js';
import { cleanLake } from '../../src/lake/sweep.js';
import { runLocalExecution } from '../../src/pipeline/local-execution.js';
import { readIcebergTable } from '../support/iceberg-reader.js';
import { seededLakeTest } from '../support/seeded-lake.js';

const DAY = parseDay('2025-05-01');
const HOUR = 3_600_000;
const test = seededLakeTest('iceberg-keep', [{ from: DAY, to: parseDay('2025-05-02'), rentalsPerDay: 50 }]);

/** rental_id → rent_cost of the rows of DAY, as icebird read them. */
function costsOfDay(rows: readonly Record<string, unknown>[]): Record<string, string> {
  const window = dayWindow(DAY, 'UTC');
  return Object.fromEntries(
    rows
      .filter((r) => (r.rent_start as Date) >= window.start && (r.rent_start as Date) < window.end)
      .map((r) => [String(r.rental_id), Number(r.rent_cost).toFixed(2)]),
  );
}

describe('superseded files kept N hours', () => {
  let config: Config;
  let store: FsStore;
  const tableUrl = (lake: string) => pathToFileURL(join(lake, '_iceberg', 'rentals')).href;
  const partition = (lake: string) => join(lake, 'rentals/year=2025/month=05/day=01');
  const parquetIn = async (folder: string) => (await readdir(folder)).filter((f) => f.endsWith('.parquet')).sort();
  /** The rows of DAY in each published version, oldest first, and an instant while each was current. */
  const versions: { costs: Record<string, string>; at: Date; files: string[] }[] = [];

  async function overwrite(source: { client: import('pg').Client }, cost: string): Promise<void> {
    const window = dayWindow(DAY, 'UTC');
    await source.client.query(`UPDATE rentals SET rent_cost = $3, updated_at = now() WHERE rent_start >= $1 AND rent_start < $2 AND rental_id % 5 = 0`, [
      window.start,
      window.end,
      cost,
    ]);
    const run = await runLocalExecution(config, { date: DAY.iso, mode: 'overwrite' }, { concurrency: 1, logLine: () => undefined });
    expect(run.status, `${run.error}: ${run.cause}`).toBe('SUCCEEDED');
  }

  async function remember(lake: string): Promise<void> {
    const read = await readIcebergTable(tableUrl(lake));
    const files = (await readManifest(store, DAY))!.manifest.files.map((f) => f.key.split('/').at(-1)!).sort();
    versions.push({ costs: costsOfDay(read.rows), at: new Date(), files });
  }

  test('an overwrite keeps the old files: a glob sees both versions, the manifest the new one, icebird reads either', async ({ source }) => {
    // Prepare
    config = loadConfig({ DATABASE_URL: source.databaseUrl, LAKE_URI: source.lake, ICEBERG_KEEP_SUPERSEDED_HOURS: '1', POWERTOOLS_LOG_LEVEL: 'WARN' });
    store = new FsStore(config.lake);
    const backfill = await runLocalExecution(config, { from: DAY.iso, to: '2025-05-02' }, { concurrency: 2, logLine: () => undefined });
    expect(backfill.status, `${backfill.error}: ${backfill.cause}`).toBe('SUCCEEDED');
    await remember(source.lake);

    // Act: two overwrites within the hour
    await overwrite(source, '111.11');
    await remember(source.lake);
    await overwrite(source, '222.22');
    await remember(source.lake);

    // Assess: the three versions differ, and the current one is the source's
    const [v1, v2, v3] = versions;
    expect(new Set(versions.map((v) => JSON.stringify(v.costs))).size).toBe(3);
    expect(Object.values(v3.costs)).toContain('222.22');
    // The Hive folder holds every version's files; the manifest names the last one's only.
    expect(await parquetIn(partition(source.lake))).toEqual([...v1.files, ...v2.files, ...v3.files].sort());
    // icebird reads each version as of an instant it was current.
    expect(costsOfDay((await readIcebergTable(tableUrl(source.lake), { asOf: v1.at })).rows)).toEqual(v1.costs);
    expect(costsOfDay((await readIcebergTable(tableUrl(source.lake), { asOf: v2.at })).rows)).toEqual(v2.costs);
    expect(costsOfDay((await readIcebergTable(tableUrl(source.lake))).rows)).toEqual(v3.costs);
  });

  test("a killed run's never-published files still go at once; the superseded ones stay while the setting holds", async ({ source }) => {
    // Prepare: a file promoted into the partition by a run that never committed its manifest
    const folder = partition(source.lake);
    const unpublished = 'part-20250501T235959000Z-deadbeef-00000.parquet';
    await copyFile(join(folder, versions[2].files[0]), join(folder, unpublished));

    // Act
    const cleaned = await cleanLake(store, { liveness: localLiveness, iceberg: { keepSupersededMs: HOUR } });

    // Assess
    expect(cleaned.removed).toEqual([`rentals/year=2025/month=05/day=01/${unpublished}`]);
    expect(await parquetIn(folder)).toEqual(versions.flatMap((v) => v.files).sort());
    expect(costsOfDay((await readIcebergTable(tableUrl(source.lake), { asOf: versions[0].at })).rows)).toEqual(versions[0].costs);
  });

  test('once the time is up, the next commit of the table deletes the superseded files and expires the snapshots that named them', async ({ source }) => {
    // Prepare: a clock half an hour on (etl clean leaves everything), then one an hour and a minute on
    const before = await readIcebergTable(tableUrl(source.lake));
    const early = await cleanLake(store, { liveness: localLiveness, iceberg: { keepSupersededMs: HOUR, now: () => Date.now() + HOUR / 2 } });
    expect(early.removed).toEqual([]);
    const later = () => Date.now() + HOUR + 60_000;
    const otherDay = parseDay('2025-05-02');

    // Act: a commit of another day (its sync: nothing of its own to change, the table's maintenance is due)
    const commit = await syncIcebergDay(store, otherDay, (await readManifest(store, otherDay))!.manifest, { keepSupersededMs: HOUR, now: later });
    const cleaned = await cleanLake(store, { liveness: localLiveness, iceberg: { keepSupersededMs: HOUR, now: later } });

    // Assess: the glob and the manifest agree again; the table reads the current version only
    const [v1, v2, v3] = versions;
    expect(commit?.supersededRemoved.map((k) => k.split('/').at(-1)).sort()).toEqual([...v1.files, ...v2.files].sort());
    expect(cleaned.removed).toEqual([]);
    expect(await parquetIn(partition(source.lake))).toEqual(v3.files);
    const after = await readIcebergTable(tableUrl(source.lake));
    expect(costsOfDay(after.rows)).toEqual(v3.costs);
    // Every snapshot before the last overwrite named a superseded file: only the last overwrite's is left.
    expect(before.metadata.snapshots.length).toBeGreaterThan(3);
    expect(after.metadata.snapshots.map((s) => s.summary.operation)).toEqual(['overwrite']);
    await expect(readIcebergTable(tableUrl(source.lake), { asOf: v1.at })).rejects.toThrow(/no snapshot/);
    await expect(readIcebergTable(tableUrl(source.lake), { asOf: v2.at })).rejects.toThrow(/no snapshot/);
    // Every snapshot kept still reads: none names a deleted file.
    for (const entry of after.metadata['snapshot-log']) {
      await expect(readIcebergTable(tableUrl(source.lake), { asOf: new Date(entry['timestamp-ms']) })).resolves.toBeDefined();
    }
  });
});
