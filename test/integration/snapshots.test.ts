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
import { publishSnapshot, readSnapshotManifest } from '../../src/lake/publish.js';
import { runLocalExecution } from '../../src/pipeline/local-execution.js';
import { STAGES } from '../../src/pipeline/stages.js';
import { createTestDatabase } from '../support/databases.js';

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
    const older = await publishSnapshot(store, {
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
});
