/**
 * A glob reader the project did not write (DuckDB's glob with `hive_partitioning`) polled
 * throughout a compaction of a day published as several files, with a reading before every write
 * the compaction makes: outside the publish window (first promotion into the partition to the last
 * removal from it) it sees every row once, the old files before and the new ones after.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/core/config.js';
import { parseDay } from '../../src/core/day.js';
import { FsStore } from '../../src/lake/fs-store.js';
import { readManifest } from '../../src/lake/manifest.js';
import { runLocalExecution } from '../../src/pipeline/local-execution.js';
import { seed } from '../../src/source/synthetic/load.js';
import { createTestDatabase } from '../support/databases.js';
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

/** What a DuckDB glob over the whole lake sees of DAY. */
async function globView(db: Awaited<ReturnType<DuckDBInstance['connect']>>, lake: string): Promise<View> {
  try {
    const result = await db.runAndReadAll(
      `SELECT count(*)::BIGINT AS n, count(DISTINCT rental_id)::BIGINT AS ids,
              sum(hash(rental_id, user_id, bike_id, rent_start, rent_end, start_station, end_station, rent_cost, updated_at, etl_run_id, etl_extracted_at))::VARCHAR AS content
         FROM read_parquet('${lake}/rentals/*/*/*/*.parquet', hive_partitioning = true, hive_types = {'year': INTEGER, 'month': INTEGER, 'day': INTEGER})
        WHERE year = ${DAY.year} AND month = ${DAY.month} AND day = ${DAY.day}`,
    );
    const [row] = result.getRowObjectsJS() as Array<{ n: bigint; ids: bigint; content: string | null }>;
    return { rows: Number(row.n), distinctIds: Number(row.ids), content: row.content ?? '' };
  } catch (error) {
    return { error: (error as Error).message.split('\n')[0] };
  }
}

describe('glob readers during a compaction', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let lake: string;
  let config: Config;
  let instance: DuckDBInstance;
  let db: Awaited<ReturnType<DuckDBInstance['connect']>>;

  const partitionFiles = async () => (await readdir(join(lake, 'rentals/year=2025/month=04/day=02'))).filter((f) => f.endsWith('.parquet')).sort();

  beforeAll(async () => {
    database = await createTestDatabase();
    const client = new pg.Client(database.url);
    await client.connect();
    await seed(client, { from: DAY, to: DAY, rentalsPerDay: ROWS, seed: 12 });
    await client.end();
    lake = await mkdtemp(join(tmpdir(), 'compaction-readers-'));
    // Files of 1,024 rows: the day is published as ten.
    config = loadConfig({ DATABASE_URL: database.url, LAKE_URI: lake, POWERTOOLS_LOG_LEVEL: 'ERROR', ROWS_PER_FILE: '1024', ROW_GROUP_ROWS: '1024' });
    instance = await DuckDBInstance.create(':memory:');
    db = await instance.connect();
    expect((await runLocalExecution(config, { date: DAY.iso }, { concurrency: 1 })).status).toBe('SUCCEEDED');
  });
  afterAll(async () => {
    db?.closeSync();
    instance?.closeSync();
    await database?.drop();
    await rm(lake, { recursive: true, force: true });
  });

  it('a DuckDB glob polled throughout sees every row once outside the publish window, the old files before it and the new ones after', async () => {
    // Prepare
    const store = new FsStore(config.lake);
    const oldFiles = await partitionFiles();
    const old = await globView(db, lake);
    expect(oldFiles).toHaveLength(10);
    expect(old).toMatchObject({ rows: ROWS, distinctIds: ROWS });

    // Act: files of 4,096 rows, a reading before every write the compaction makes
    const { outcome, readings, windowStart, windowEnd, outside } = await watchCompaction(
      store,
      DAY,
      { rowsPerFile: 4096, rowGroupRows: 1024, lockTtlMs: config.lockTtlMs },
      () => globView(db, lake),
    );

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
    expect(await globView(db, lake)).toEqual(old);
    console.log(
      `[compaction readers] ${readings.length} DuckDB readings, ${readings.length - outside.length} inside the publish window ` +
        `(${outcome.publishWindowMs} ms for ${outcome.filesAfter} files in place of ${outcome.filesBefore})`,
    );
  });
});
