/**
 * Users and bikes are copied once per execution (not once per day), checked, and published like a
 * partition: staged, then promoted over the published copy with a manifest; a reader of the
 * folder sees one whole copy, and an older read never replaces a newer one.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seed } from '../../src/source/synthetic/load.js';
import { loadConfig } from '../../src/core/config.js';
import { parseDay } from '../../src/core/day.js';
import { FsStore } from '../../src/lake/fs-store.js';
import { newRunId, snapshotKey, stagedKey } from '../../src/lake/layout.js';
import { LakeSession } from '../../src/lake/session.js';
import { readSnapshotManifest } from '../../src/lake/snapshot-publication.js';
import { runLocalExecution } from '../../src/pipeline/local-execution.js';
import { STAGES } from '../../src/pipeline/stages.js';
import { createTestDatabase } from '../support/databases.js';
import { interceptStore } from '../support/intercepted-store.js';

const FROM = parseDay('2025-05-01');
const TO = parseDay('2025-05-04');

describe('snapshot tables', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let client: pg.Client;
  let lake: string;
  let store: FsStore;

  const config = () => loadConfig({ DATABASE_URL: database.url, LAKE_URI: lake, POWERTOOLS_LOG_LEVEL: 'ERROR' });
  const countRows = async (path: string) => {
    const instance = await DuckDBInstance.create(':memory:');
    const db = await instance.connect();
    try {
      return Number((await db.runAndReadAll(`SELECT count(*)::BIGINT AS n FROM read_parquet('${path}/*.parquet')`)).getRowObjectsJS()[0].n);
    } finally {
      db.closeSync();
      instance.closeSync();
    }
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    client = new pg.Client(database.url);
    await client.connect();
    await seed(client, { from: FROM, to: TO, rentalsPerDay: 200, users: 120, bikes: 40, seed: 3 });
    lake = await mkdtemp(join(tmpdir(), 'snapshot-lake-'));
    store = new FsStore(config().lake);
  });
  afterAll(async () => {
    await client?.end();
    await database?.drop();
    await rm(lake, { recursive: true, force: true });
  });

  it('a backfill copies users and bikes once, not once per day, and publishes them with a manifest', async () => {
    // Prepare
    let snapshots = 0;

    // Act
    const result = await runLocalExecution(
      config(),
      { from: FROM.iso, to: TO.iso },
      {
        concurrency: 2,
        handlers: {
          [STAGES.snapshot.state]: (own) => async (event) => {
            snapshots++;
            return own(event);
          },
        },
      },
    );

    // Assess: one copy of each, whole, as a folder reader sees it, with its manifest
    expect(result.status).toBe('SUCCEEDED');
    expect(snapshots).toBe(1);
    expect(await readdir(join(lake, 'users'))).toEqual(['data.parquet']);
    expect(await countRows(join(lake, 'users'))).toBe(120);
    expect(await countRows(join(lake, 'bikes'))).toBe(40);
    expect(await readSnapshotManifest(store, 'users')).toMatchObject({ table: 'users', key: snapshotKey('users'), rows: 120 });
    expect(await store.list('_staging/')).toEqual([]);
  });

  it('a later execution publishes the users as they are then; an older copy never replaces a newer one', async () => {
    // Prepare
    await client.query(`INSERT INTO users SELECT user_id + 100000, first_name, last_name, 'x' || email, age, city, signup_date FROM users LIMIT 5`);
    const before = (await readSnapshotManifest(store, 'users'))!;

    // Act
    const result = await runLocalExecution(config(), { date: FROM.iso }, { concurrency: 1 });
    const after = (await readSnapshotManifest(store, 'users'))!;
    const oldRun = newRunId(new Date(Date.parse(before.sourceSnapshotAt) - 60_000));
    await store.putObject(stagedKey(oldRun, snapshotKey('users')), 'an older copy');
    const older = await new LakeSession().publishSnapshot(store, {
      table: 'users',
      runId: oldRun,
      staged: stagedKey(oldRun, snapshotKey('users')),
      rows: 1,
      bytes: 13,
      sourceSnapshotAt: before.sourceSnapshotAt,
    });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(after, JSON.stringify({ before, after })).toMatchObject({ rows: 125 });
    expect(after.sourceSnapshotAt > before.sourceSnapshotAt).toBe(true);
    expect(await countRows(join(lake, 'users'))).toBe(125);
    expect(older).toBe(false);
    expect(await readSnapshotManifest(store, 'users')).toEqual(after);
  });

  it('two executions publishing a table at once: the copy read later wins, whatever order their steps interleave in', async () => {
    // Prepare: the older read's promotion waits until the newer one has committed, or was refused
    // the table's lock (it cannot commit before the older one lets go): without the lock and the
    // conditional commit, the older copy lands over the newer one.
    const raceLake = await mkdtemp(join(tmpdir(), 'snapshot-race-'));
    const base = new FsStore(loadConfig({ LAKE_URI: raceLake }).lake);
    const olderRun = newRunId(new Date('2025-05-01T00:00:00Z'));
    const newerRun = newRunId(new Date('2025-05-01T00:01:00Z'));
    const newerCommittedOrRefused = Promise.withResolvers<void>();
    const racing = interceptStore(base, {
      promote: async ([from, to], next) => {
        if (from.includes(olderRun)) await newerCommittedOrRefused.promise;
        return next(from, to);
      },
      putObject: async ([key, body, options], next) => {
        try {
          const written = await next(key, body, options);
          if (key === '_manifests/users.json' && String(body).includes(newerRun)) newerCommittedOrRefused.resolve();
          return written;
        } catch (error) {
          if (key.startsWith('_locks/users') && String(body).includes(newerRun)) newerCommittedOrRefused.resolve();
          throw error;
        }
      },
    });
    const copy = (runId: string, sourceSnapshotAt: string, text: string) => ({
      table: 'users',
      runId,
      staged: stagedKey(runId, snapshotKey('users')),
      rows: 1,
      bytes: text.length,
      sourceSnapshotAt,
      text,
    });
    const older = copy(olderRun, '2025-05-01T00:00:00.000Z', 'the older copy');
    const newer = copy(newerRun, '2025-05-01T00:01:00.000Z', 'the newer copy');
    for (const c of [older, newer]) await base.putObject(c.staged, c.text);

    try {
      // Act: two executions, each with its own session, the older one starting first
      const published = await Promise.all([new LakeSession().publishSnapshot(racing, older), new LakeSession().publishSnapshot(racing, newer)]);

      // Assess: the file a reader takes and the manifest are both the newer copy's
      expect(published[1]).toBe(true);
      expect(Buffer.from((await base.getObject(snapshotKey('users')))!.body).toString()).toBe('the newer copy');
      expect(await readSnapshotManifest(base, 'users')).toMatchObject({ runId: newerRun, sourceSnapshotAt: newer.sourceSnapshotAt });
      expect(await base.list('_locks/')).toEqual([]);
    } finally {
      await rm(raceLake, { recursive: true, force: true });
    }
  });
});
