/**
 * `etl unlock` and `etl clean`, as a user runs them after interrupted runs: a day held by a dead
 * process is given back with its run's leftovers; a live holder is refused unless forced; clean
 * sweeps staging of runs that hold nothing and partition files no manifest names, and leaves a
 * live run's day alone.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seed } from '../../src/source/synthetic/load.js';
import { loadConfig } from '../../src/core/config.js';
import { parseDay } from '../../src/core/day.js';
import { FsStore, temporaryFileName } from '../../src/lake/fs-store.js';
import { dataFileKey, manifestKey, newRunId, snapshotManifestKey, stagedKey } from '../../src/lake/layout.js';
import { lockKey, type PartitionLock } from '../../src/lake/lease.js';
import { readManifest } from '../../src/lake/manifest.js';
import { runLocalExecution } from '../../src/pipeline/local-execution.js';
import { runMain } from '../support/capture.js';
import { createTestDatabase } from '../support/databases.js';

const DAY = parseDay('2025-08-01');
const OTHER = parseDay('2025-08-02');

/** The pid of a process that has ended. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

describe('etl unlock and etl clean', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let client: pg.Client;
  let lake: string;
  let store: FsStore;

  const etl = async (...argv: string[]) => {
    const { code, out, err } = await runMain(argv, { DATABASE_URL: database.url, LAKE_URI: lake });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  /** What a run killed after promoting a file into the partition and staging another leaves: a lock, a visible file, staging. */
  async function killedRun(day: typeof DAY, pid: number): Promise<{ runId: string; visible: string; staged: string }> {
    const runId = newRunId();
    const lock: PartitionLock = {
      owner: 'arn:aws:states:us-east-1:123456789012:execution:Pipeline:local-x',
      runId,
      acquiredAt: new Date().toISOString(),
      expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
      host: hostname(),
      pid,
    };
    await store.putObject(lockKey(day), JSON.stringify(lock));
    const visible = dataFileKey(day, runId, 0);
    await store.putObject(visible, 'not published');
    const staged = stagedKey(runId, dataFileKey(day, runId, 1));
    await store.putObject(staged, 'staged');
    return { runId, visible, staged };
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    client = new pg.Client(database.url);
    await client.connect();
    await seed(client, { from: DAY, to: OTHER, rentalsPerDay: 100, seed: 8 });
    lake = await mkdtemp(join(tmpdir(), 'unlock-lake-'));
    store = new FsStore(loadConfig({ LAKE_URI: lake }).lake);
    expect(
      (
        await runLocalExecution(
          loadConfig({ DATABASE_URL: database.url, LAKE_URI: lake, POWERTOOLS_LOG_LEVEL: 'ERROR' }),
          { from: DAY.iso, to: OTHER.iso },
          { concurrency: 1 },
        )
      ).status,
    ).toBe('SUCCEEDED');
  });
  afterAll(async () => {
    await client?.end();
    await database?.drop();
    await rm(lake, { recursive: true, force: true });
  });

  it('unlock gives back a day whose process is dead, with what its run left; refuses a live holder unless forced', async () => {
    // Prepare
    const published = (await readManifest(store, DAY))!.manifest.files.map((f) => f.key.split('/').at(-1)).sort();
    const dead = await killedRun(DAY, await deadPid());

    // Act
    const unlocked = await etl('unlock', '--date', DAY.iso);
    const again = await etl('unlock', '--date', DAY.iso);
    const live = await killedRun(DAY, process.pid);
    const refused = await etl('unlock', '--date', DAY.iso);
    const forced = await etl('unlock', '--date', DAY.iso, '--force');

    // Assess
    expect(unlocked.code, unlocked.err).toBe(0);
    expect(unlocked.out).toMatch(new RegExp(`2025-08-01 unlocked \\(it was run ${dead.runId} .*\\); 2 leftover file\\(s\\) removed`));
    expect(again).toMatchObject({ code: 0, out: '2025-08-01 is not locked' });
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(new RegExp(`held by a live run: run ${live.runId} \\(process ${process.pid} on .+\\) holds it until .*use --force`));
    expect(forced.code).toBe(0);
    expect(await store.getObject(lockKey(DAY))).toBeUndefined();
    expect((await readdir(join(lake, 'rentals/year=2025/month=08/day=01'))).sort()).toEqual(published);
    expect(await store.list('_staging/')).toEqual([]);
  });

  it('a run waiting for a live holder says who holds the day and until when, and gives up only after a lease', async () => {
    // Prepare: this process holds the day for another execution
    const live = await killedRun(DAY, process.pid);
    const told: string[] = [];

    // Act
    const result = await runLocalExecution(
      loadConfig({ DATABASE_URL: database.url, LAKE_URI: lake, POWERTOOLS_LOG_LEVEL: 'ERROR' }),
      { date: DAY.iso },
      { concurrency: 1, retryIntervalMs: 0, logLine: () => undefined, onBusy: (date, holder) => told.push(`${date} ${holder}`) },
    );
    await etl('unlock', '--date', DAY.iso, '--force');

    // Assess: asked once per retry of the busy retrier (10 s apart in the definition, 0 here), then failed busy
    expect(result.status).toBe('FAILED');
    expect(result.outcomes[0].error).toMatch(/^PartitionBusyError: partition 2025-08-01 is busy/);
    expect(told.length).toBeGreaterThanOrEqual(120 / 10);
    expect(told[0]).toMatch(
      new RegExp(`^2025-08-01 partition 2025-08-01 is busy: run ${live.runId} \\(process ${process.pid} on .+\\) holds it until \\d{4}-`),
    );
  });

  it('a run after one killed inside a conditional write (its swap locks left beside the manifests) publishes at once', async () => {
    // Prepare: what a directory lake keeps of a writer killed between taking a manifest's swap lock and releasing it
    const pid = await deadPid();
    const locks = [manifestKey(DAY), snapshotManifestKey('users')].map((key) => `${join(lake, ...key.split('/'))}.lock`);
    for (const lock of locks) await writeFile(lock, `${temporaryFileName(pid)}\n`);
    await client.query(`UPDATE rentals SET rent_cost = '3.75', updated_at = now() WHERE rental_id % 5 = 0`);
    const before = (await readManifest(store, DAY))!.manifest.runs.map((r) => r.runId);

    // Act
    const started = performance.now();
    const result = await runLocalExecution(
      loadConfig({ DATABASE_URL: database.url, LAKE_URI: lake, POWERTOOLS_LOG_LEVEL: 'ERROR' }),
      { date: DAY.iso },
      { concurrency: 1 },
    );
    const seconds = (performance.now() - started) / 1000;

    // Assess: without the take-over, every publish of the day meets the lock until the busy retries run out (2 minutes)
    expect(result.status, JSON.stringify(result.outcomes)).toBe('SUCCEEDED');
    expect(seconds).toBeLessThan(10);
    expect((await readManifest(store, DAY))!.manifest.runs.map((r) => r.runId)).not.toEqual(before);
    for (const lock of locks) await expect(stat(lock)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('clean sweeps dead runs and unpublished files, leaves a live run alone, and removes empty folders', async () => {
    // Prepare
    const deadRun = await killedRun(DAY, await deadPid());
    const liveRun = await killedRun(OTHER, process.pid);
    const orphan = stagedKey(newRunId(), 'rentals/year=2025/month=09/day=01/part-x.parquet');
    // Temporary files of local writes: one a killed process left an hour ago, one a write in progress may own
    await mkdir(join(lake, '.tmp'), { recursive: true });
    await writeFile(join(lake, '.tmp', 'left-by-a-killed-write'), 'x');
    await utimes(join(lake, '.tmp', 'left-by-a-killed-write'), new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
    await writeFile(join(lake, '.tmp', 'being-written'), 'x');
    await store.putObject(orphan, 'a staged file of a run that holds nothing');
    await writeFile(join(lake, 'rentals/year=2025/month=08/day=02/part-stray.parquet'), 'not in the manifest, but a live run holds the day');

    // Act
    const cleaned = await etl('clean');

    // Assess
    expect(cleaned.code, cleaned.err).toBe(0);
    expect(cleaned.out).toMatch(/, 1 unfinished temporary file\(s\); gave back 2025-08-01; left 2025-08-02 to the live runs holding them/);
    expect(await readdir(join(lake, '.tmp'))).toEqual(['being-written']);
    expect(await store.head(deadRun.visible)).toBeUndefined();
    expect(await store.head(deadRun.staged)).toBeUndefined();
    expect(await store.head(orphan)).toBeUndefined();
    expect(await store.head(liveRun.staged)).toBeDefined();
    expect(await store.head(liveRun.visible)).toBeDefined();
    expect(await store.getObject(lockKey(OTHER))).toBeDefined();
    // The dead run's emptied staging folders went with their files
    expect(await readdir(join(lake, '_staging'))).not.toContain(deadRun.runId);
    expect((await readdir(join(lake, '_staging'))).length).toBe(1);
  });
});
