/**
 * The lake as readers the project did not write see it: DuckDB's glob with `hive_partitioning`
 * (and, on S3, the listing a glob starts from), polled throughout a replacement of a day. Outside
 * the publish window (first promotion into the partition to the end of the publish) a reader sees
 * the old version or the new one, whole; kills leave it the old one; an interrupted local run
 * (Ctrl-C) gives the day back at once, and a killed one is taken over by the next run at once.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seed } from '../../src/source/synthetic/load.js';
import { loadConfig, type Config } from '../../src/core/config.js';
import { parseDay } from '../../src/core/day.js';
import { FsStore } from '../../src/lake/fs-store.js';
import { lockKey } from '../../src/lake/lease.js';
import { readManifest } from '../../src/lake/manifest.js';
import { runLocalExecution } from '../../src/pipeline/local-execution.js';
import { spawnEtl } from '../support/cli.js';
import { createTestDatabase } from '../support/databases.js';
import { watchReplacement } from '../support/watched-replacement.js';

const DAY = parseDay('2025-04-01');
const ROWS = 10_000;

interface Observation {
  readonly rows?: number;
  readonly cents?: number;
  readonly error?: string;
}

/** What a DuckDB glob over the whole lake sees of DAY: rows and revenue, or the error it met. */
async function globView(db: Awaited<ReturnType<DuckDBInstance['connect']>>, lake: string): Promise<Observation> {
  try {
    const result = await db.runAndReadAll(
      `SELECT count(*)::BIGINT AS n, coalesce(sum(rent_cost), 0) * 100 AS cents
         FROM read_parquet('${lake}/rentals/*/*/*/*.parquet', hive_partitioning = true, hive_types = {'year': INTEGER, 'month': INTEGER, 'day': INTEGER})
        WHERE year = ${DAY.year} AND month = ${DAY.month} AND day = ${DAY.day}`,
    );
    const [row] = result.getRowObjectsJS() as Array<{ n: bigint; cents: unknown }>;
    return { rows: Number(row.n), cents: Math.round(Number(row.cents)) };
  } catch (error) {
    return { error: (error as Error).message.split('\n')[0] };
  }
}

describe('glob readers', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let client: pg.Client;
  let lake: string;
  let store: FsStore;
  let instance: DuckDBInstance;
  let db: Awaited<ReturnType<DuckDBInstance['connect']>>;
  let version = 0;

  const configWith = (env: Record<string, string> = {}): Config =>
    loadConfig({ DATABASE_URL: database.url, LAKE_URI: lake, POWERTOOLS_LOG_LEVEL: 'ERROR', ROWS_PER_FILE: '1024', ROW_GROUP_ROWS: '1024', ...env });
  const partitionFiles = async () => (await readdir(join(lake, 'rentals/year=2025/month=04/day=01')).catch(() => [] as string[])).sort();

  /** Changes every tenth rental's cost, so that the next version's revenue differs. */
  async function changeSource(): Promise<void> {
    version++;
    await client.query(`UPDATE rentals SET rent_cost = $1, updated_at = now() WHERE rental_id % 10 = 0`, [`${version}.25`]);
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    client = new pg.Client(database.url);
    await client.connect();
    await seed(client, { from: DAY, to: DAY, rentalsPerDay: ROWS, seed: 11 });
    lake = await mkdtemp(join(tmpdir(), 'glob-lake-'));
    store = new FsStore(configWith().lake);
    instance = await DuckDBInstance.create(':memory:');
    db = await instance.connect();
    expect((await runLocalExecution(configWith(), { date: DAY.iso }, { concurrency: 1 })).status).toBe('SUCCEEDED');
  });
  afterAll(async () => {
    db?.closeSync();
    instance?.closeSync();
    await client?.end();
    await database?.drop();
    await rm(lake, { recursive: true, force: true });
  });

  it.each([
    ['a day cut into five hour ranges', { RANGE_MAX_ROWS: '2500' }],
    ['a day in one range', {}],
  ])('%s: a DuckDB glob polled throughout a replacement sees the old or the new version, mixed only inside the publish window', async (_name, env) => {
    // Prepare
    const old = await globView(db, lake);
    await changeSource();

    // Act: a reader polls while the day is replaced (and reads before every write), then once after
    const { result, published, readings, windowStart, windowEnd, outside } = await watchReplacement(store, configWith(env), DAY.iso, () => globView(db, lake), {
      rangeConcurrency: 2,
    });
    const fresh = await globView(db, lake);

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(windowStart).toBeDefined();
    expect(fresh.rows).toBe(ROWS);
    expect(fresh.cents).not.toBe(old.cents);
    const mixed = outside.filter(({ view: o }) => !((o.rows === old.rows && o.cents === old.cents) || (o.rows === fresh.rows && o.cents === fresh.cents)));
    expect(mixed, JSON.stringify({ old, fresh, windowStart, windowEnd })).toEqual([]);
    expect(outside.filter((o) => o.view.cents === old.cents).length).toBeGreaterThan(5);
    console.log(
      `[glob readers] ${_name}: ${readings.length} DuckDB readings, ${readings.length - outside.length} inside the publish window; ` +
        `publish window ${published!.publishWindowMs} ms for ${published!.files} files`,
    );
  });

  it('an interrupted run (Ctrl-C) exits 130, gives the day back and leaves the old version', async () => {
    // Prepare
    const before = await partitionFiles();
    const old = await globView(db, lake);
    await changeSource();

    // Act: interrupt once the run has staged something
    const child = spawnEtl(['run', '--date', DAY.iso], {
      env: { ...process.env, DATABASE_URL: database.url, LAKE_URI: lake },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    for (let i = 0; i < 1000 && ((await store.list('_staging/')).length === 0 || !(await store.head(lockKey(DAY)))); i++)
      await new Promise((r) => setTimeout(r, 10));
    child.kill('SIGINT');
    const code = await exited;

    // Assess
    expect(code, stderr).toBe(130);
    expect(stderr).toMatch(/etl: interrupted; gave back 2025-04-01 \(unpublished files removed\)/);
    expect(await store.getObject(lockKey(DAY))).toBeUndefined();
    expect(await store.list('_staging/')).toEqual([]);
    expect(await partitionFiles()).toEqual(before);
    expect(await globView(db, lake)).toEqual(old);
  });

  it('a killed run (SIGKILL) is taken over by the next run at once, which sweeps what it left', async () => {
    // Prepare: a run killed once it has staged files and holds the day
    const old = await globView(db, lake);
    await changeSource();
    // Small batches keep the run in extract and transform long enough to be caught there on a quiet
    // machine (a 10,000-row day in one batch was over before the polling saw it, now and then).
    const child = spawnEtl(['run', '--date', DAY.iso], { env: { ...process.env, DATABASE_URL: database.url, LAKE_URI: lake, BATCH_ROWS: '50' } });
    let running = true;
    const exited = new Promise((resolve) => child.on('exit', resolve)).finally(() => (running = false));
    for (let i = 0; running && i < 1000 && ((await store.list('_staging/')).length === 0 || !(await store.head(lockKey(DAY)))); i++)
      await new Promise((r) => setTimeout(r, 10));
    child.kill('SIGKILL');
    await exited;
    const leftLock = await store.getObject(lockKey(DAY));
    const afterKill = await globView(db, lake);

    // Act: the next run of the day
    const started = performance.now();
    const rerun = await runLocalExecution(configWith(), { date: DAY.iso }, { concurrency: 1 });
    const seconds = (performance.now() - started) / 1000;

    // Assess
    expect(leftLock).toBeDefined();
    expect(afterKill).toEqual(old);
    expect(rerun.status, JSON.stringify({ leftLock: leftLock && Buffer.from(leftLock.body).toString('utf8'), rerun })).toBe('SUCCEEDED');
    expect(rerun.outcomes[0].seconds).toBeLessThan(10);
    expect(await store.list('_staging/')).toEqual([]);
    const manifest = (await readManifest(store, DAY))!.manifest;
    expect(await partitionFiles()).toEqual(manifest.files.map((f) => f.key.split('/').at(-1)).sort());
    console.log(`[glob readers] rerun after a killed run: ${seconds.toFixed(1)} s, no wait for the dead run's lease`);
  });
});
