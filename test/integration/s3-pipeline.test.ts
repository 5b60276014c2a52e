/**
 * The pipeline with the lake in a real S3-compatible endpoint (moto in CI; LocalStack or AWS
 * behave the same for the calls used): a day published under a prefix, read back by DuckDB
 * from the downloaded published files and compared with SQL on the source.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.js';
import { openStore } from '../../src/lake/open.js';
import { parseDay } from '../../src/core/day.js';
import { seed } from '../../src/source/synthetic/load.js';
import { runMain } from '../support/capture.js';
import { createTestDatabase } from '../support/databases.js';
import { duckdbAggregate } from '../support/lake-readers.js';
import { createBucket, s3Endpoint, s3Env, useS3Credentials } from '../support/s3.js';
import { sourceAggregate } from '../support/source.js';
import { watchReplacement } from '../support/watched-replacement.js';

describe.skipIf(!s3Endpoint)('pipeline on an S3 lake', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let client: pg.Client;
  let s3: S3Client;
  let bucket: string;
  let scratch: string;
  let env: NodeJS.ProcessEnv;

  const etl = (...argv: string[]) => runMain(argv, env);

  /** Downloads the s3:// URIs that `etl read` printed and returns local paths. */
  const download = async (uris: string[]) => {
    const paths: string[] = [];
    for (const [i, uri] of uris.entries()) {
      const key = uri.slice(`s3://${bucket}/`.length);
      const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const path = join(scratch, `${i}.parquet`);
      await writeFile(path, await object.Body!.transformToByteArray());
      paths.push(path);
    }
    return paths;
  };

  beforeAll(async () => {
    useS3Credentials(s3Endpoint!);
    bucket = await createBucket(s3Endpoint!);
    s3 = new S3Client({ region: 'us-east-1', endpoint: s3Endpoint, forcePathStyle: true });
    database = await createTestDatabase();
    client = new pg.Client(database.url);
    await client.connect();
    scratch = await mkdtemp(join(tmpdir(), 's3-lake-'));
    env = { ...s3Env(s3Endpoint!), DATABASE_URL: database.url, LAKE_URI: `s3://${bucket}/warehouse/bikes`, ROW_GROUP_ROWS: '1024', ROWS_PER_FILE: '2048' };
    await seed(client, { from: parseDay('2025-06-01'), to: parseDay('2025-06-02'), rentalsPerDay: 5_000, seed: 11 });
  });

  afterAll(async () => {
    s3?.destroy();
    await client?.end();
    await database?.drop();
    await rm(scratch, { recursive: true, force: true });
  });

  it('publishes days under the prefix, split into files of at most ROWS_PER_FILE rows, matching the source', async () => {
    // Act
    const run = await etl('backfill', '--from', '2025-06-01', '--to', '2025-06-02');
    const listed = await etl('read', '--date', '2025-06-01');

    // Assess
    expect(run.code, run.err.join('\n')).toBe(0);
    expect(listed.out).toHaveLength(3);
    expect(listed.out.every((u) => u.startsWith(`s3://${bucket}/warehouse/bikes/rentals/year=2025/month=06/day=01/part-`))).toBe(true);
    expect(await duckdbAggregate(await download(listed.out))).toEqual(await sourceAggregate(client, '2025-06-01'));
  });

  it('a listing of the partition (where a glob starts) sees the old files or the new ones, both only inside the publish window', async () => {
    // Prepare: the day published
    const prefix = 'warehouse/bikes/rentals/year=2025/month=06/day=01/';
    const listing = async () => {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
      return (page.Contents ?? [])
        .map((o) => o.Key!)
        .sort()
        .join(' ');
    };
    const old = await listing();

    // Act: list while the day is replaced (and before every write), then once after
    const { result, published, readings, outside } = await watchReplacement(await openStore(loadConfig(env)), loadConfig(env), '2025-06-01', listing);
    const fresh = await listing();

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(fresh).not.toBe(old);
    expect(outside.filter((o) => o.view !== old && o.view !== fresh)).toEqual([]);
    expect(outside.filter((o) => o.view === old).length).toBeGreaterThan(3);
    console.log(
      `[s3] ${readings.length} listings, ${readings.length - outside.length} inside the publish window; publish window ${published!.publishWindowMs} ms for ${published!.files} files`,
    );
  });

  it('leaves no staging objects behind and writes a report, quarantine and snapshots', async () => {
    // Act
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'warehouse/bikes/', ContinuationToken: token }));
      keys.push(...(page.Contents ?? []).map((o) => o.Key!));
      token = page.NextContinuationToken;
    } while (token);

    // Assess
    expect(keys.filter((k) => k.includes('/_staging/'))).toEqual([]);
    expect(keys.filter((k) => k.includes('/_reports/rentals/year=2025/month=06/day=02/'))).toHaveLength(1);
    expect(keys.filter((k) => k.includes('/_quarantine/rentals/year=2025/month=06/day=02/'))).toHaveLength(1);
    expect(keys).toContain('warehouse/bikes/users/data.parquet');
    expect(keys).toContain('warehouse/bikes/bikes/data.parquet');
    expect(keys).toContain('warehouse/bikes/_manifests/rentals/year=2025/month=06/day=02.json');
  });

  it('appends late and still-open rentals to a published day: one more file, the day equal to the source', async () => {
    // Prepare: 30 rentals of 2025-06-02 recorded late, 10 of them still open
    await client.query(
      `INSERT INTO rentals (rental_id, user_id, bike_id, rent_start, rent_end, start_station, end_station, rent_cost, updated_at)
       SELECT (SELECT max(rental_id) FROM rentals) + g, 1, 1, '2025-06-02T20:00:00Z'::timestamptz + g * interval '1 minute',
              CASE WHEN g <= 10 THEN NULL ELSE '2025-06-02T21:00:00Z'::timestamptz + g * interval '1 minute' END,
              'Late', CASE WHEN g <= 10 THEN NULL ELSE 'Late' END, CASE WHEN g <= 10 THEN NULL ELSE '4.20' END, now()
       FROM generate_series(1, 30) AS g`,
    );
    const before = await etl('read', '--date', '2025-06-02');

    // Act
    const appended = await etl('run', '--date', '2025-06-02', '--mode', 'append', '--json');
    const after = await etl('read', '--date', '2025-06-02');

    // Assess
    expect(appended.code, appended.err.join('\n')).toBe(0);
    expect(after.out.length).toBe(before.out.length + 1);
    expect(after.out).toEqual(expect.arrayContaining(before.out));
    expect(await duckdbAggregate(await download(after.out))).toEqual(await sourceAggregate(client, '2025-06-02'));
  });
});
