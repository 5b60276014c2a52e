/**
 * End to end on a local-directory lake and a real Postgres: seed days with anomalies, run them
 * through the CLI (once, for every test), read the lake back with two independent readers and compare with SQL on the
 * source; then re-run, append and overwrite and check what the partition holds.
 */
import { copyFile, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDay } from '../../src/core/day.js';
import { seed } from '../../src/source/synthetic/load.js';
import { manifestKey, reportKey } from '../../src/lake/layout.js';
import type { ValidationReport } from '../../src/lake/report-record.js';
import type { PartitionManifest } from '../../src/lake/manifest.js';
import { runMain } from '../support/capture.js';
import { createTestDatabase } from '../support/databases.js';
import { duckdbAggregate, duckdbDistinctIds, hyparquetAggregate } from '../support/lake-readers.js';
import { sourceAggregate } from '../support/source.js';

const DAYS = ['2025-03-01', '2025-03-02', '2025-03-03'];
const PER_DAY = 3_000;

describe('pipeline on a local lake', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let client: pg.Client;
  let lake: string;
  let env: NodeJS.ProcessEnv;
  /** The backfill of DAYS every test starts from. */
  let backfill: Awaited<ReturnType<typeof etl>>;

  const etl = async (...argv: string[]) => {
    const { code, out, err } = await runMain(argv, env);
    return { code, stdout: out, stderr: err };
  };
  const partitionDir = (date: string) => {
    const [y, m, d] = date.split('-');
    return join(lake, 'rentals', `year=${y}`, `month=${m}`, `day=${d}`);
  };
  const manifestOf = async (date: string) => JSON.parse(await readFile(join(lake, manifestKey(parseDay(date))), 'utf8')) as PartitionManifest;
  const parquetFiles = async (date: string) =>
    (await readdir(partitionDir(date))).filter((f) => f.endsWith('.parquet')).map((f) => join(partitionDir(date), f));

  beforeAll(async () => {
    database = await createTestDatabase();
    client = new pg.Client(database.url);
    await client.connect();
    lake = await mkdtemp(join(tmpdir(), 'lake-'));
    env = { DATABASE_URL: database.url, LAKE_URI: lake, PARTITION_TIMEZONE: 'UTC' };
    await seed(client, { from: parseDay(DAYS[0]), to: parseDay(DAYS.at(-1)!), rentalsPerDay: PER_DAY, errorRate: 0.02, seed: 7 });
    backfill = await etl('backfill', '--from', DAYS[0], '--to', DAYS.at(-1)!, '--concurrency', '2');
  });

  afterAll(async () => {
    await client?.end();
    await database?.drop();
    await rm(lake, { recursive: true, force: true });
  });

  it('backfills the days and the lake agrees with the source under two independent readers', async () => {
    // Act (the backfill is the suite's set-up)
    const result = backfill;

    // Assess
    expect(result.code, result.stderr.join('\n')).toBe(0);
    expect(result.stdout.join('\n')).toMatch(/total\s+9,000\s+9,000/);
    for (const date of DAYS) {
      const source = await sourceAggregate(client, date);
      const files = await parquetFiles(date);
      expect(source.rows).toBe(PER_DAY);
      expect(await duckdbAggregate(files)).toEqual(source);
      const viaHyparquet = await hyparquetAggregate(files);
      expect(viaHyparquet).toEqual({ ...source, minStart: source.minStart.slice(0, 23), maxStart: source.maxStart.slice(0, 23) });
      const manifest = await manifestOf(date);
      expect(manifest.rows).toBe(PER_DAY);
      expect(manifest.files.map((f) => join(lake, f.key)).sort()).toEqual(files.sort());
    }
  });

  it('quarantines every junk rent_cost with its raw value and a reason', async () => {
    // Prepare
    const { rows } = await client.query<{ rental_id: string; rent_cost: string }>(
      `SELECT rental_id::text, rent_cost FROM rentals WHERE rent_start >= '2025-03-01' AND rent_start < '2025-03-02'
       AND rent_cost IS NOT NULL AND rent_cost !~ '^[ \\t]*[+-]?([0-9]+(\\.[0-9]{1,2})?|\\.[0-9]{1,2})[ \\t]*$' ORDER BY rental_id`,
    );
    const dir = join(lake, '_quarantine', 'rentals', 'year=2025', 'month=03', 'day=01');

    // Act
    const [file] = await readdir(dir);
    const lines = (await readFile(join(dir, file), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));

    // Assess
    expect(rows.length).toBeGreaterThan(0);
    expect(lines.map((l) => ({ rental_id: l.row.rental_id, rent_cost: l.row.rent_cost })).sort((a, b) => a.rental_id.localeCompare(b.rental_id))).toEqual(
      rows.sort((a, b) => a.rental_id.localeCompare(b.rental_id)),
    );
    expect(new Set(lines.map((l) => l.reason))).toContain('rent_cost_not_numeric');
    expect(Object.keys(lines[0].row)).not.toContain('email');
  });

  it('re-running a day replaces it without duplicates or stale files', async () => {
    // Prepare
    const before = await manifestOf(DAYS[0]);

    // Act
    const result = await etl('run', '--date', DAYS[0]);

    // Assess
    expect(result.code).toBe(0);
    const after = await manifestOf(DAYS[0]);
    expect(after.runId).not.toBe(before.runId);
    const files = await parquetFiles(DAYS[0]);
    expect(files.every((f) => f.includes(after.runId))).toBe(true);
    expect((await duckdbAggregate(files)).rows).toBe(PER_DAY);
  });

  it('append adds only rentals the partition lacks, reports changed ones, and fails on duplicates in the partition; overwrite resets the day', async () => {
    // Act: append the unchanged day, then a late rental and a changed one
    const unchanged = await etl('run', '--date', DAYS[1], '--mode', 'append');
    const afterUnchanged = await duckdbAggregate(await parquetFiles(DAYS[1]));
    await client.query(
      `UPDATE rentals SET rent_cost = '77.70', updated_at = now() WHERE rental_id = (SELECT max(rental_id) FROM rentals WHERE rent_start >= '2025-03-02' AND rent_start < '2025-03-02 12:00')`,
    );
    await client.query(
      `INSERT INTO rentals (rental_id, user_id, bike_id, rent_start, rent_end, start_station, end_station, rent_cost, updated_at)
         SELECT (SELECT max(rental_id) + 1 FROM rentals), user_id, bike_id, rent_start + interval '1 minute', rent_end, start_station, end_station, '1.00', now() FROM rentals
          WHERE rent_start >= '2025-03-02' AND rent_start < '2025-03-03' ORDER BY rental_id LIMIT 1`,
    );
    const late = await etl('run', '--date', DAYS[1], '--mode', 'append');
    const afterLate = await duckdbAggregate(await parquetFiles(DAYS[1]));
    const distinct = await duckdbDistinctIds(await parquetFiles(DAYS[1]));
    const runsAfterLate = (await manifestOf(DAYS[1])).runs.map((r) => r.mode);
    const report = JSON.parse(await readFile(join(lake, reportKey(parseDay(DAYS[1]), (await manifestOf(DAYS[1])).runId)), 'utf8')) as ValidationReport;

    // Act: a partition that already holds a key twice (a copy of one of its files, as an old append made)
    const manifest = await manifestOf(DAYS[1]);
    const copied = manifest.files[0].key.replace(/-(\d{5})\.parquet$/, '-9$1.parquet');
    await copyFile(join(lake, manifest.files[0].key), join(lake, copied));
    await writeFile(
      join(lake, manifestKey(parseDay(DAYS[1]))),
      JSON.stringify({ ...manifest, files: [...manifest.files, { ...manifest.files[0], key: copied }], rows: manifest.rows + manifest.files[0].rows }),
    );
    const onDuplicates = await etl('run', '--date', DAYS[1], '--mode', 'append');
    const overwritten = await etl('run', '--date', DAYS[1], '--mode', 'overwrite');
    const afterOverwrite = await duckdbAggregate(await parquetFiles(DAYS[1]));

    // Assess
    expect(unchanged.code).toBe(0);
    expect(afterUnchanged.rows).toBe(PER_DAY);
    expect(late.code, late.stderr.join('\n')).toBe(0);
    expect(afterLate.rows).toBe(PER_DAY + 1);
    expect(distinct).toBe(PER_DAY + 1);
    expect(runsAfterLate).toEqual(['overwrite', 'append', 'append']);
    expect(report.checks.find((c) => c.check === 'changed_since_publish')).toMatchObject({
      passed: false,
      severity: 'warning',
      actual: expect.stringMatching(/^1 changed/),
    });
    expect(onDuplicates.code).toBe(1);
    expect(onDuplicates.stdout.join('\n') + onDuplicates.stderr.join('\n')).toMatch(/duplicate_rental_id/);
    expect(overwritten.code).toBe(0);
    expect(afterOverwrite.rows).toBe(PER_DAY + 1);
    expect(afterOverwrite).toEqual(await sourceAggregate(client, DAYS[1]));
  });

  it('validate --date passes on a fresh day and reports a stale one after the source changed', async () => {
    // Act
    const fresh = await etl('validate', '--date', DAYS[2]);
    await client.query(
      `UPDATE rentals SET rent_cost = '99.99', updated_at = now() WHERE rental_id = (SELECT min(rental_id) FROM rentals WHERE rent_start >= '2025-03-03' AND rent_start < '2025-03-04')`,
    );
    const stale = await etl('validate', '--date', DAYS[2]);

    // Assess
    expect(fresh.code, fresh.stdout.join('\n')).toBe(0);
    expect(stale.code).toBe(1);
    expect(stale.stdout.join('\n')).toMatch(/FAIL source_unchanged_since_snapshot/);
  });

  it('lists the published files of a day for readers', async () => {
    // Act
    const result = await etl('read', '--date', DAYS[0]);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout.sort()).toEqual((await parquetFiles(DAYS[0])).sort());
  });

  it('prints a DuckDB query over exactly the published files of a range', async () => {
    // Act
    const result = await etl('read', '--from', DAYS[0], '--to', DAYS.at(-1)!, '--sql');

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toHaveLength(1);
    const instance = await (await import('@duckdb/node-api')).DuckDBInstance.create(':memory:');
    const db = await instance.connect();
    const rows = (
      await db.runAndReadAll(
        `SELECT count(*)::INTEGER AS n, count(DISTINCT day)::INTEGER AS days, any_value(typeof(month)) AS month_type FROM (${result.stdout[0]})`,
      )
    ).getRowObjectsJS();
    db.closeSync();
    instance.closeSync();
    const sourceRows = (await Promise.all(DAYS.map((day) => sourceAggregate(client, day)))).reduce((n, day) => n + day.rows, 0);
    expect(rows).toEqual([{ n: sourceRows, days: DAYS.length, month_type: 'INTEGER' }]);
    // The partition columns are integers whatever the folder names look like (month=03, day=01)
    expect(result.stdout[0]).toContain("hive_types = {'year': INTEGER, 'month': INTEGER, 'day': INTEGER}");
  });

  it('refuses to print a query over days none of which is published (exit 1, as read without --sql)', async () => {
    // Act
    const result = await etl('read', '--from', '2024-01-01', '--to', '2024-01-03', '--sql');

    // Assess
    expect(result.code).toBe(1);
    expect(result.stdout).toEqual([]);
    expect(result.stderr.at(-1)).toBe('etl read: no published day from 2024-01-01 to 2024-01-03: nothing to query (run the days first)');
  });

  it('publishes an empty partition for a day without rentals', async () => {
    // Act
    const result = await etl('run', '--date', '2025-02-01');

    // Assess
    expect(result.code, result.stderr.join('\n')).toBe(0);
    const manifest = await manifestOf('2025-02-01');
    expect(manifest.rows).toBe(0);
    expect((await duckdbAggregate(await parquetFiles('2025-02-01'))).rows).toBe(0);
  });
});
