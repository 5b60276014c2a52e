/**
 * Every fault leaves the lake valid, through the deployed state machine's retries and catches:
 * after an injected failure at each step the day's published content is one complete version (the
 * new one when a retry got past the fault, else the old one), nothing unpublished stays visible
 * to a glob unless the process died, the lease is given back, and a rerun succeeds.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, parseLakeUri } from '../../src/core/config.js';
import { parseDay } from '../../src/core/day.js';
import { PartitionBusyError, SourceUnavailableError, StoreError, StoreUnavailableError } from '../../src/core/errors.js';
import { seed } from '../../src/source/synthetic/load.js';
import { FsStore } from '../../src/lake/fs-store.js';
import { acquireLock, lockKey, releaseLock } from '../../src/lake/lease.js';
import { LakeSession } from '../../src/lake/session.js';
import { runLocalExecution } from '../../src/pipeline/local-execution.js';
import { STAGES } from '../../src/pipeline/stages.js';
import { readManifest } from '../../src/lake/manifest.js';
import type { ObjectStore } from '../../src/lake/store.js';
import { createTestDatabase } from '../support/databases.js';
import { FaultyStore, type Fault } from '../support/faulty-store.js';
import { duckdbAggregate } from '../support/lake-readers.js';
import { DayFailedError, runDay } from '../support/run-day.js';
import { overlapBarrier } from '../support/overlap.js';
import { sourceAggregate } from '../support/source.js';

const DAY = parseDay('2025-07-01');
const ROWS = 3_000;

describe('faults leave the lake valid', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let client: pg.Client;
  let root: string;
  let store: FsStore;
  /** The lake with the day published, as every case starts from it. */
  let published0: string;
  let version = 0;

  /** Changes some source rows so the next run's version differs from the published one. */
  async function changeSource(): Promise<void> {
    version++;
    await client.query(
      `UPDATE rentals SET rent_cost = $1, updated_at = now() WHERE rental_id % 10 = 0 AND rent_start >= '2025-07-01' AND rent_start < '2025-07-02'`,
      [`${version}.00`],
    );
  }

  /** The published content of the day: manifest, and what DuckDB reads from its files. */
  async function published(s: ObjectStore = store) {
    const current = await readManifest(s, DAY);
    const files = current!.manifest.files.map((f) => join(root, f.key));
    return { runId: current!.manifest.runId, rows: current!.manifest.rows, aggregate: await duckdbAggregate(files) };
  }

  /** Parquet files a glob over the partition sees. */
  async function globbed(): Promise<string[]> {
    return (await store.list('rentals/year=2025/month=07/day=01/'))
      .map((o) => o.key)
      .filter((k) => k.endsWith('.parquet'))
      .sort();
  }

  async function manifestFiles(): Promise<string[]> {
    return (await readManifest(store, DAY))!.manifest.files.map((f) => f.key).sort();
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    client = new pg.Client(database.url);
    await client.connect();
    await seed(client, { from: DAY, to: DAY, rentalsPerDay: ROWS, seed: 5 });
    root = await mkdtemp(join(tmpdir(), 'faults-'));
    store = new FsStore(parseLakeUri(root));
    // The published, current day every case starts from, kept aside once instead of run again for each case.
    await runDay(store, database.url, DAY, { owner: 'setup' });
    published0 = await mkdtemp(join(tmpdir(), 'faults-published-'));
    await cp(root, published0, { recursive: true });
  });

  afterAll(async () => {
    await client?.end();
    await database?.drop();
    await rm(root, { recursive: true, force: true });
    await rm(published0, { recursive: true, force: true });
  });

  beforeEach(async () => {
    // Every case starts from the published day and then changes the source.
    await rm(root, { recursive: true, force: true });
    await cp(published0, root, { recursive: true });
    await changeSource();
  });

  const transient = () => new StoreUnavailableError('injected: 503 SlowDown');
  /**
   * The fault, which version readers must see afterwards, and whether a glob must already be clean.
   * A one-off transient fault is retried by the state machine and the day publishes the new version;
   * a fault that outlasts the retries, or a terminal one, fails the day (ReleaseDay gives its lease
   * back) and leaves the old version. A transient failure in validate keeps the run's files for a
   * retry to publish (unpublished, so not part of the lake; the next run of the day removes them).
   */
  const cases: Array<[string, Fault, 'old' | 'new', 'clean' | 'kept']> = [
    ['the first data-file upload, once', { operation: 'upload', key: /part-.*\.parquet$/, nth: 1, error: transient }, 'new', 'clean'],
    ['the third data-file upload, once', { operation: 'upload', key: /part-.*\.parquet$/, nth: 3, error: transient }, 'new', 'clean'],
    ['the staging upload, once', { operation: 'upload', key: /_staging\/.*rentals\.arrows$/, error: transient }, 'new', 'clean'],
    ['reading the staged rows, once', { operation: 'readStream', key: /rentals\.arrows$/, error: transient }, 'new', 'clean'],
    ['the quarantine upload, once', { operation: 'upload', key: /\.jsonl$/, error: transient }, 'new', 'clean'],
    ['the report write, once', { operation: 'putObject', key: /_reports\//, error: transient }, 'new', 'clean'],
    ['a footer read, once', { operation: 'readRange', key: /part-.*\.parquet$/, nth: 2, error: transient }, 'new', 'clean'],
    ['the manifest write, once', { operation: 'putObject', key: /^_manifests\/rentals\//, error: transient }, 'new', 'clean'],
    ['the delete of the old files, once', { operation: 'deleteObjects', key: /part-.*\.parquet/, error: transient }, 'new', 'clean'],
    ['the delete of the staging area, once', { operation: 'deleteObjects', key: /_staging\//, error: transient }, 'new', 'clean'],
    ['every data-file upload', { operation: 'upload', key: /part-.*\.parquet$/, times: Number.POSITIVE_INFINITY, error: transient }, 'old', 'clean'],
    ['every staged-rows read', { operation: 'readStream', key: /rentals\.arrows$/, times: Number.POSITIVE_INFINITY, error: transient }, 'old', 'clean'],
    ['every report write', { operation: 'putObject', key: /_reports\//, times: Number.POSITIVE_INFINITY, error: transient }, 'old', 'kept'],
    ['every manifest write', { operation: 'putObject', key: /^_manifests\/rentals\//, times: Number.POSITIVE_INFINITY, error: transient }, 'old', 'kept'],
    [
      'the manifest write (access denied)',
      { operation: 'putObject', key: /^_manifests\/rentals\//, error: () => new StoreError('injected: AccessDenied') },
      'old',
      'clean',
    ],
  ];

  it.each(cases)('a failure of %s', async (_name, fault, expected, glob) => {
    // Prepare
    const before = await published();
    const faulty = new FaultyStore(store, fault);

    // Act (the staged rows are read back where the stages run apart, as Lambdas: a local run's
    // transform-write takes them from its extract as they come)
    const outcome = await runDay(faulty, database.url, DAY, { owner: 'run-1', overlap: fault.operation !== 'readStream' }).then(
      () => 'published',
      (e: unknown) => e,
    );

    // Assess: the fault fired, the day is one complete version, nothing unpublished is globbed, the lease is free
    expect(faulty.fired).toBe(true);
    const after = await published();
    if (expected === 'old') {
      expect(outcome).toBeInstanceOf(DayFailedError);
      expect(after).toEqual(before);
    } else {
      expect(outcome).toBe('published');
      expect(after.runId).not.toBe(before.runId);
      expect(after.aggregate).toEqual(await sourceAggregate(client, DAY.iso));
    }
    const published_ = await manifestFiles();
    const extras = (await globbed()).filter((k) => !published_.includes(k));
    if (glob === 'clean') expect(extras).toEqual([]);
    else expect(new Set(extras.map((k) => /part-(.+)-\d+\.parquet$/.exec(k)?.[1])).size).toBeLessThanOrEqual(1);
    expect(await store.getObject(lockKey(DAY))).toBeUndefined();

    // Act: a rerun succeeds and matches the source
    await runDay(store, database.url, DAY, { owner: 'run-1' });

    // Assess
    expect((await published()).aggregate).toEqual(await sourceAggregate(client, DAY.iso));
    expect(await globbed()).toEqual(await manifestFiles());
    expect(await store.getObject(lockKey(DAY))).toBeUndefined();
  });

  /** What a glob over the partition sees once the process died: the old files, the new, or both (it died inside the publish window). */
  type GlobView = 'old' | 'mixed' | 'new';
  const deaths: Array<[string, Fault, GlobView]> = [
    ['while uploading a data file', { operation: 'upload', key: /part-.*\.parquet$/, nth: 2, error: () => new Error('killed'), die: true }, 'old'],
    [
      'after writing the data files, before validating',
      { operation: 'readRange', key: /rentals\/.*part-.*\.parquet$/, error: () => new Error('killed'), die: true },
      'old',
    ],
    ['at the first promotion into the partition', { operation: 'promote', key: /^rentals\//, error: () => new Error('killed'), die: true }, 'old'],
    [
      'after promoting the files, before the manifest',
      { operation: 'putObject', key: /^_manifests\/rentals\//, error: () => new Error('killed'), die: true },
      'mixed',
    ],
    ['after the manifest, before removing old files', { operation: 'list', key: /^rentals\//, nth: 2, error: () => new Error('killed'), die: true }, 'mixed'],
    [
      'after removing old files, before cleaning staging',
      { operation: 'list', key: /^_staging\/.*\/$/, nth: 2, error: () => new Error('killed'), die: true },
      'new',
    ],
  ];

  it.each(deaths)('the process dying %s', async (_name, fault, view) => {
    // Prepare
    const before = await published();
    const beforeFiles = await manifestFiles();
    const faulty = new FaultyStore(store, fault);

    // Act
    await runDay(faulty, database.url, DAY, { owner: 'execution-A' }).catch(() => undefined);
    const afterDeath = await published();
    const globbedAfterDeath = await globbed();

    // Assess: readers of the manifest see one complete version; a glob sees old files only,
    // unless the process died inside the publish window
    expect(faulty.fired).toBe(true);
    if (afterDeath.runId === before.runId) expect(afterDeath).toEqual(before);
    else expect(afterDeath.aggregate).toEqual(await sourceAggregate(client, DAY.iso));
    if (view === 'old') expect(globbedAfterDeath).toEqual(beforeFiles);
    if (view === 'new') expect(globbedAfterDeath).toEqual(await manifestFiles());
    if (view === 'mixed') expect(globbedAfterDeath.length).toBeGreaterThan(beforeFiles.length);

    // Act: another execution is refused (after its retries) while the dead run's lock lives; a retry of the same execution takes it over
    const other = await runDay(store, database.url, DAY, { owner: 'execution-B' }).catch((e: unknown) => e);
    await runDay(store, database.url, DAY, { owner: 'execution-A' });

    // Assess
    expect(other).toMatchObject({ name: PartitionBusyError.name });
    expect((await published()).aggregate).toEqual(await sourceAggregate(client, DAY.iso));
    expect(await globbed()).toEqual(await manifestFiles());
    expect(await store.list('_staging/')).toEqual([]);
  });

  it('the source connection dropping mid-stream', async () => {
    // Prepare: a day far bigger than any socket buffer, so the server is still sending when its
    // backend is killed; the staging upload waits for the kill before it reads on
    const before = await published();
    const bigDay = parseDay('2025-07-02');
    await seed(client, { from: bigDay, to: bigDay, rentalsPerDay: 200_000, seed: 6 });
    const killer = new pg.Client(database.url);
    await killer.connect();
    const victim = new pg.Client(database.url);
    await victim.connect();
    victim.on('error', () => undefined);
    const victimPid = (await victim.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    let killed: Promise<unknown> | undefined;
    const waitsForTheKill: ObjectStore = Object.create(store, {
      upload: {
        value: (key: string, body: AsyncIterable<Uint8Array>, type: string) =>
          store.upload(
            key,
            (async function* () {
              for await (const chunk of body) {
                if (killed) await killed;
                yield chunk;
              }
            })(),
            type,
          ),
      },
    });
    const { extractDay } = await import('../../src/pipeline/extract/extract.js');
    const runId = '20250702T000000000Z-0000dead';
    await acquireLock(store, bigDay, { owner: 'run-drop', runId, ttlMs: 60_000 });

    // Act: extract under the run's lease, as the extract stage runs
    const publication = new LakeSession().publication(store, { day: bigDay, runId, owner: 'run-drop' }, 60_000);
    const failure = await publication
      .runStage(STAGES.extract.lease, () =>
        extractDay({
          client: victim,
          store: waitsForTheKill,
          day: bigDay,
          timeZone: 'UTC',
          runId,
          batchRows: 500,
          onProgress: () => {
            // pg_terminate_backend with a timeout returns once the backend is gone.
            killed ??= killer.query('SELECT pg_terminate_backend($1, 10000)', [victimPid]);
          },
        }),
      )
      .catch((e: unknown) => e);
    await killed;
    await killer.end();
    await victim.end().catch(() => undefined);

    // Assess
    expect(failure).toBeInstanceOf(SourceUnavailableError);
    expect(await published()).toEqual(before);
    expect(await store.list(`_staging/${runId}/`)).toEqual([]);
    // A transient failure keeps the lock for the retry; giving the day up (ReleaseDay) frees it.
    expect(JSON.parse(Buffer.from((await store.getObject(lockKey(bigDay)))!.body).toString())).toMatchObject({ runId });
    expect(await releaseLock(store, bigDay, runId)).toBe(true);
  });

  it('a retried publish of an append is applied once', async () => {
    // Prepare: rentals the partition lacks; validate fails after writing the manifest (removing the staging area), once
    const before = (await readManifest(store, DAY))!.manifest;
    await client.query(
      `INSERT INTO rentals (rental_id, user_id, bike_id, rent_start, rent_end, start_station, end_station, rent_cost, updated_at)
         SELECT rental_id + 1000000000, user_id, bike_id, rent_start, rent_end, start_station, end_station, rent_cost, updated_at FROM rentals
          WHERE rent_start >= '2025-07-01' AND rent_start < '2025-07-02'`,
    );
    const faulty = new FaultyStore(store, { operation: 'deleteObjects', key: /_staging\//, error: () => new StoreUnavailableError('injected') });

    // Act: the state machine retries validate with the same input
    const result = await runDay(faulty, database.url, DAY, { mode: 'append' });

    // Assess
    expect(faulty.fired).toBe(true);
    const after = (await readManifest(store, DAY))!.manifest;
    expect(after.runs.map((r) => r.runId)).toEqual([...before.runs.map((r) => r.runId), result.runId]);
    expect(after.rows).toBe(before.rows + ROWS);
    expect(result.partitionRows).toBe(before.rows + ROWS);
    await client.query(`DELETE FROM rentals WHERE rental_id > 1000000000`);
  });

  it('a validate whose answer is lost after it published (a timeout after the commit) is retried and passes, once', async () => {
    // Prepare: the first validate publishes, then its answer is lost as a Lambda timeout would lose it
    await changeSource();
    let calls = 0;
    const losesItsAnswer = (own: (event: unknown) => Promise<unknown>) => async (event: unknown) => {
      const answer = await own(event);
      if (++calls === 1) throw Object.assign(new Error('Task timed out after 300.00 seconds'), { name: 'Lambda.Unknown' });
      return answer;
    };

    // Act
    const result = await runLocalExecution(
      loadConfig({ DATABASE_URL: database.url, LAKE_URI: root, POWERTOOLS_LOG_LEVEL: 'ERROR' }),
      { date: DAY.iso },
      { concurrency: 1, retryIntervalMs: 0, logLine: () => undefined, handlers: { [STAGES.validate.state]: losesItsAnswer } },
    );

    // Assess
    expect(calls, JSON.stringify(result).slice(0, 600)).toBe(2);
    expect(result.status, result.cause).toBe('SUCCEEDED');
    expect((await readManifest(store, DAY))!.manifest.runs).toHaveLength(1);
    expect((await published()).aggregate).toEqual(await sourceAggregate(client, DAY.iso));
    expect(await globbed()).toEqual(await manifestFiles());
  });

  it('two runs of the same day at once: exactly one publishes, the other is told the partition is busy', async () => {
    // Prepare: both runs' PlanDay in flight at once (their Snapshot steps take turns on the tables' locks)
    const both = overlapBarrier(2);
    const wrap = { [STAGES.planDay.state]: (own: (event: unknown) => Promise<unknown>) => both.wrap(own) };

    // Act
    const results = await Promise.allSettled([
      runDay(store, database.url, DAY, { owner: 'schedule', wrap }),
      runDay(store, database.url, DAY, { owner: 'backfill', wrap }),
    ]);

    // Assess
    const fulfilled = results.filter((r) => r.status === 'fulfilled');
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(fulfilled).toHaveLength(1);
    expect(rejected).toHaveLength(1);
    expect(rejected[0].reason).toMatchObject({ name: PartitionBusyError.name });
    expect(String(rejected[0].reason.message)).toMatch(/partition 2025-07-01 is busy/);
    expect((await published()).aggregate).toEqual(await sourceAggregate(client, DAY.iso));
  });

  it('an expired lock of a crashed run does not hold the day', async () => {
    // Prepare: a crashed run's lock that expired a moment ago
    await acquireLock(store, DAY, { owner: 'crashed', runId: '20250701T000000000Z-00000000', ttlMs: 1, now: new Date(Date.now() - 1_000) });

    // Act
    const result = await runDay(store, database.url, DAY, { owner: 'next' });

    // Assess
    expect(result.verdict).toBe('passed');
  });
});
