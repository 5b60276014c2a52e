/**
 * Readers the project did not write, polled throughout a compaction of a day published as several
 * files, with a reading before every write the compaction makes: on a directory lake DuckDB's glob
 * with `hive_partitioning`, on S3 the listing a glob starts from (LIST the partition, GET what it
 * named, DuckDB over those objects). Outside the publish window (first promotion into the
 * partition to the last removal from it) they see every row once, the old files before and the new
 * ones after.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/core/config.js';
import { parseDay } from '../../src/core/day.js';
import { rentalsPartitionPrefix } from '../../src/lake/layout.js';
import { readManifest } from '../../src/lake/manifest.js';
import { openStore } from '../../src/lake/open.js';
import type { ObjectStore } from '../../src/lake/store.js';
import { runLocalExecution } from '../../src/pipeline/local-execution.js';
import { seed } from '../../src/source/synthetic/load.js';
import { createTestDatabase } from '../support/databases.js';
import { createBucket, s3Endpoint, useS3Credentials } from '../support/s3.js';
import { watchCompaction } from '../support/watched-compaction.js';

const DAY = parseDay('2025-04-02');
const ROWS = 10_000;

interface View {
  readonly rows?: number;
  readonly distinctIds?: number;
  /** A sum of every row's hash: the same rows give the same sum. */
  readonly content?: string;
  readonly error?: string;
}

type Connection = Awaited<ReturnType<DuckDBInstance['connect']>>;

/** What DuckDB sees of the Parquet files `source` names (a glob, or a list of paths) filtered by `where`. */
async function duckdbView(db: Connection, source: string, where = 'true'): Promise<View> {
  try {
    const result = await db.runAndReadAll(
      `SELECT count(*)::BIGINT AS n, count(DISTINCT rental_id)::BIGINT AS ids,
              sum(hash(rental_id, user_id, bike_id, rent_start, rent_end, start_station, end_station, rent_cost, updated_at, etl_run_id, etl_extracted_at))::VARCHAR AS content
         FROM ${source} WHERE ${where}`,
    );
    const [row] = result.getRowObjectsJS() as Array<{ n: bigint; ids: bigint; content: string | null }>;
    return { rows: Number(row.n), distinctIds: Number(row.ids), content: row.content ?? '' };
  } catch (error) {
    return { error: (error as Error).message.split('\n')[0] };
  }
}

/** A DuckDB glob over the whole directory lake, DAY's partition picked by its hive keys. */
function globView(db: Connection, lake: string): Promise<View> {
  return duckdbView(
    db,
    `read_parquet('${lake}/rentals/*/*/*/*.parquet', hive_partitioning = true, hive_types = {'year': INTEGER, 'month': INTEGER, 'day': INTEGER})`,
    `year = ${DAY.year} AND month = ${DAY.month} AND day = ${DAY.day}`,
  );
}

/** What a reader of an S3 lake sees of DAY: LIST the partition, GET each object it named (one gone is an error), read them. */
async function listingView(db: Connection, store: ObjectStore, scratch: string, reading: number): Promise<View> {
  const listed = (await store.list(rentalsPartitionPrefix(DAY))).filter((o) => o.key.endsWith('.parquet'));
  const paths: string[] = [];
  for (const [i, object] of listed.entries()) {
    const got = await store.getObject(object.key);
    if (!got) return { error: `listed but gone: ${object.key}` };
    const path = join(scratch, `${reading}-${i}.parquet`);
    await writeFile(path, got.body);
    paths.push(`'${path}'`);
  }
  if (paths.length === 0) return { rows: 0, distinctIds: 0, content: '' };
  return duckdbView(db, `read_parquet([${paths.join(', ')}])`);
}

const LAKES = [
  { name: 'a directory lake', s3: false },
  { name: 'an S3 lake', s3: true },
] as const;

describe.each(LAKES)('readers during a compaction, on $name', ({ s3 }) => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let scratch: string;
  let config: Config;
  let store: ObjectStore;
  let instance: DuckDBInstance;
  let db: Connection;
  let readings = 0;
  const view = () => (s3 ? listingView(db, store, scratch, readings++) : globView(db, config.lake.uri));

  const partitionFiles = async () =>
    (await store.list(rentalsPartitionPrefix(DAY)))
      .map((o) => o.key.split('/').at(-1)!)
      .filter((f) => f.endsWith('.parquet'))
      .sort();

  beforeAll(async () => {
    if (s3 && !s3Endpoint) return;
    database = await createTestDatabase();
    const client = new pg.Client(database.url);
    await client.connect();
    await seed(client, { from: DAY, to: DAY, rentalsPerDay: ROWS, seed: 12 });
    await client.end();
    scratch = await mkdtemp(join(tmpdir(), 'compaction-readers-'));
    let lake = join(scratch, 'lake');
    if (s3) {
      useS3Credentials(s3Endpoint!);
      lake = `s3://${await createBucket(s3Endpoint!)}/lake`;
    }
    // Files of 1,024 rows: the day is published as ten.
    config = loadConfig({
      ...process.env,
      DATABASE_URL: database.url,
      LAKE_URI: lake,
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      ROWS_PER_FILE: '1024',
      ROW_GROUP_ROWS: '1024',
    });
    store = await openStore(config);
    instance = await DuckDBInstance.create(':memory:');
    db = await instance.connect();
    expect((await runLocalExecution(config, { date: DAY.iso }, { concurrency: 1 })).status).toBe('SUCCEEDED');
  });
  afterAll(async () => {
    db?.closeSync();
    instance?.closeSync();
    await database?.drop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it.skipIf(s3 && !s3Endpoint)(
    'a reader polled throughout sees every row once outside the publish window, the old files before it and the new ones after',
    async () => {
      // Prepare
      const oldFiles = await partitionFiles();
      const old = await view();
      expect(oldFiles).toHaveLength(10);
      expect(old).toMatchObject({ rows: ROWS, distinctIds: ROWS });

      // Act: files of 4,096 rows, a reading before every write the compaction makes
      const {
        outcome,
        readings: seen,
        windowStart,
        windowEnd,
        outside,
      } = await watchCompaction(store, DAY, { rowsPerFile: 4096, rowGroupRows: 1024, lockTtlMs: config.lockTtlMs }, view);

      // Assess: three new files in place of the ten, and no reading outside the window other than the whole day
      const newFiles = await partitionFiles();
      expect(outcome).toMatchObject({ compacted: true, rows: ROWS, filesBefore: 10, filesAfter: 3 });
      expect(newFiles).toHaveLength(3);
      expect(newFiles.filter((f) => oldFiles.includes(f))).toEqual([]);
      expect((await readManifest(store, DAY))!.manifest.files.map((f) => f.key.split('/').at(-1)).sort()).toEqual(newFiles);
      const wrong = outside.filter(({ view }) => view.rows !== old.rows || view.distinctIds !== old.distinctIds || view.content !== old.content);
      expect(wrong, JSON.stringify({ old, windowStart, windowEnd, wrong: wrong.slice(0, 5) })).toEqual([]);
      expect(windowStart).toBeDefined();
      expect(windowEnd).toBeGreaterThan(windowStart!);
      // Readings on both sides of the window: the old files' and the new files'.
      expect(outside.filter((r) => r.end < windowStart!).length).toBeGreaterThan(5);
      expect(outside.filter((r) => r.at > windowEnd!).length).toBeGreaterThan(0);
      expect(await view()).toEqual(old);
      console.log(
        `[compaction readers] ${s3 ? 'S3 listing' : 'DuckDB glob'}: ${seen.length} readings, ${seen.length - outside.length} inside the publish window ` +
          `(${outcome.publishWindowMs} ms for ${outcome.filesAfter} files in place of ${outcome.filesBefore})`,
      );
    },
  );
});
