/**
 * The Iceberg tables on an S3 lake (the test endpoint): a backfill at concurrency 8 and an
 * overwrite, read back by icebird through `s3://` locations; data file and metadata paths are
 * absolute `s3://bucket/prefix/…`, and each day's rental ids equal the source's.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/core/config.js';
import { dayAt, dayWindow, daysBetween, parseDay } from '../../src/core/day.js';
import { seed } from '../../src/source/synthetic/load.js';
import { runLocalExecution } from '../../src/pipeline/local-execution.js';
import { createTestDatabase } from '../support/databases.js';
import { readIcebergTable } from '../support/iceberg-reader.js';
import { createBucket, s3Endpoint, s3Env, useS3Credentials } from '../support/s3.js';

const FROM = '2025-06-01';
const TO = '2025-06-05';
const LOOSE_QUALITY = {
  QUALITY_MAX_NEGATIVE_DURATION_RATE: '1',
  QUALITY_MAX_NEGATIVE_COST_RATE: '1',
  QUALITY_MAX_QUARANTINE_RATE: '1',
  QUALITY_MAX_NULL_RATE: '1',
  QUALITY_MAX_DAY_OVER_DAY_CHANGE: '100',
};

describe.skipIf(!s3Endpoint)('the lake as Iceberg tables (S3 lake)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let client: pg.Client;
  let config: Config;
  let tableUrl: string;
  const dates = daysBetween(parseDay(FROM), parseDay(TO)).map((d) => d.iso);

  const sourceIds = async () => {
    const out: Record<string, string[]> = {};
    for (const date of dates) {
      const window = dayWindow(parseDay(date), 'UTC');
      const { rows } = await client.query<{ id: string }>('SELECT rental_id::text AS id FROM rentals WHERE rent_start >= $1 AND rent_start < $2 ORDER BY 1', [
        window.start,
        window.end,
      ]);
      out[date] = rows.map((r) => r.id);
    }
    return out;
  };
  const lakeIds = (rows: readonly Record<string, unknown>[]) => {
    const out: Record<string, string[]> = {};
    for (const row of rows) {
      const date = dayAt(row.rent_start as Date, 'UTC').iso;
      out[date] = [...(out[date] ?? []), String(row.rental_id)];
    }
    for (const ids of Object.values(out)) ids.sort();
    return out;
  };

  beforeAll(async () => {
    useS3Credentials(s3Endpoint!);
    const bucket = await createBucket(s3Endpoint!);
    database = await createTestDatabase();
    client = new pg.Client(database.url);
    await client.connect();
    await seed(client, { from: parseDay(FROM), to: parseDay(TO), rentalsPerDay: 50 });
    const lake = `s3://${bucket}/warehouse`;
    config = loadConfig({ ...s3Env(s3Endpoint!), DATABASE_URL: database.url, LAKE_URI: lake, POWERTOOLS_LOG_LEVEL: 'WARN', ...LOOSE_QUALITY });
    tableUrl = `${lake}/_iceberg/rentals`;
  });

  afterAll(async () => {
    await client?.end();
    await database?.drop();
  });

  it('commits every day of a concurrent backfill and an overwrite; icebird reads the source back', async () => {
    // Act
    const backfill = await runLocalExecution(config, { from: FROM, to: TO }, { concurrency: 8, logLine: () => undefined });
    await client.query(`UPDATE rentals SET rent_cost = '1.23', updated_at = now() WHERE rent_start >= $1 AND rent_start < $2`, [
      dayWindow(parseDay('2025-06-03'), 'UTC').start,
      dayWindow(parseDay('2025-06-03'), 'UTC').end,
    ]);
    const overwrite = await runLocalExecution(config, { date: '2025-06-03', mode: 'overwrite' }, { concurrency: 1, logLine: () => undefined });

    // Assess
    expect(backfill.status, `${backfill.error}: ${backfill.cause}`).toBe('SUCCEEDED');
    expect(overwrite.status, `${overwrite.error}: ${overwrite.cause}`).toBe('SUCCEEDED');
    const read = await readIcebergTable(tableUrl, { s3Endpoint });
    expect(lakeIds(read.rows)).toEqual(await sourceIds());
    expect(read.files.every((f) => f.path.startsWith(`${config.lake.uri}/rentals/year=2025/month=06/day=`))).toBe(true);
    expect(read.metadata.location).toBe(tableUrl);
    expect(read.metadata.snapshots.at(-1)?.summary.operation).toBe('overwrite');
    expect(read.rows.filter((r) => dayAt(r.rent_start as Date, 'UTC').iso === '2025-06-03').every((r) => Number(r.rent_cost) === 1.23)).toBe(true);
    const users = await readIcebergTable(`${config.lake.uri}/_iceberg/users`, { s3Endpoint });
    expect(users.rows.length).toBe(Number((await client.query('SELECT count(*) AS n FROM users')).rows[0].n));
  });
});
