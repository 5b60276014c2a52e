/**
 * A kill at each point of a publish, read by an independent Iceberg reader (icebird): between the
 * kill and the recovery the `rentals` table names the old version's files or the new one's — all
 * of them existing, never a missing file — with the source's rental ids; after `etl clean` it
 * names exactly what the day's manifest names; after the next run of the day it reads the source's
 * rows. The kill points are those of `faults.test.ts` (there read by a glob), and one more: between
 * the manifest's commit and the Iceberg commit.
 */
import { access, cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseLakeUri } from '../../src/core/config.js';
import { parseDay } from '../../src/core/day.js';
import { FsStore } from '../../src/lake/fs-store.js';
import { readManifest } from '../../src/lake/manifest.js';
import { cleanLake } from '../../src/lake/sweep.js';
import { seed } from '../../src/source/synthetic/load.js';
import { createTestDatabase } from '../support/databases.js';
import { type Fault, FaultyStore } from '../support/faulty-store.js';
import { readIcebergTable } from '../support/iceberg-reader.js';
import { runDay } from '../support/run-day.js';

const DAY = parseDay('2025-07-01');
const ROWS = 3_000;
const killed = () => new Error('killed');

/** Where the process dies, and which version the table must name until the recovery. */
const DEATHS: Array<[string, Fault, 'old' | 'new' | 'either']> = [
  ['while uploading a data file', { operation: 'upload', key: /part-.*\.parquet$/, nth: 2, error: killed, die: true }, 'old'],
  ['after writing the data files, before validating', { operation: 'readRange', key: /rentals\/.*part-.*\.parquet$/, error: killed, die: true }, 'old'],
  ['at the first promotion into the partition', { operation: 'promote', key: /^rentals\//, error: killed, die: true }, 'old'],
  ['after promoting the files, before the manifest', { operation: 'putObject', key: /^_manifests\/rentals\//, error: killed, die: true }, 'old'],
  [
    "after the manifest, before the Iceberg commit's metadata file",
    { operation: 'putObject', key: /^_iceberg\/rentals\/metadata\/v\d+\.metadata\.json$/, error: killed, die: true },
    'old',
  ],
  ['after the manifest, before removing old files', { operation: 'list', key: /^rentals\//, nth: 2, error: killed, die: true }, 'new'],
  ['after removing old files, before cleaning staging', { operation: 'list', key: /^_staging\/.*\/$/, nth: 2, error: killed, die: true }, 'new'],
];

describe('a kill at each point of the publish, read by icebird', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let client: pg.Client;
  let root: string;
  let store: FsStore;
  let published0: string;
  let version = 0;
  const tableUrl = () => pathToFileURL(join(root, '_iceberg', 'rentals')).href;

  /** The source's rental ids of the day. */
  async function sourceIds(): Promise<string[]> {
    const { rows } = await client.query<{ id: string }>(
      `SELECT rental_id::text AS id FROM rentals WHERE rent_start >= '2025-07-01' AND rent_start < '2025-07-02' ORDER BY 1`,
    );
    return rows.map((r) => r.id).sort();
  }

  /** The costs of the rows each case changes (rental_id % 10 = 0), as a table read has them. */
  const changedCosts = (costs: Record<string, string>) => new Set(Object.entries(costs).flatMap(([id, cost]) => (BigInt(id) % 10n === 0n ? [cost] : [])));

  /** The table as icebird reads it: its files (lake keys, each checked to exist), rental ids and costs. */
  async function table() {
    const read = await readIcebergTable(tableUrl());
    const keys = read.files.map((f) => fileURLToPath(f.path).slice(root.length + 1)).sort();
    for (const key of keys) await expect(access(join(root, key)), `${key} named by the table`).resolves.toBeUndefined();
    const ids = read.rows.map((r) => String(r.rental_id)).sort();
    const costs = Object.fromEntries(read.rows.map((r) => [String(r.rental_id), r.rent_cost === null ? 'null' : Number(r.rent_cost).toFixed(2)]));
    return { keys, ids, costs };
  }

  const manifestKeys = async () => (await readManifest(store, DAY))!.manifest.files.map((f) => f.key).sort();

  beforeAll(async () => {
    database = await createTestDatabase();
    client = new pg.Client(database.url);
    await client.connect();
    await seed(client, { from: DAY, to: DAY, rentalsPerDay: ROWS, seed: 7 });
    root = await mkdtemp(join(tmpdir(), 'iceberg-faults-'));
    store = new FsStore(parseLakeUri(root));
    await runDay(store, database.url, DAY, { owner: 'setup' });
    published0 = await mkdtemp(join(tmpdir(), 'iceberg-faults-published-'));
    await cp(root, published0, { recursive: true });
  });

  afterAll(async () => {
    await client?.end();
    await database?.drop();
    await rm(root, { recursive: true, force: true });
    await rm(published0, { recursive: true, force: true });
  });

  beforeEach(async () => {
    // Every case starts from the published day, then the source changes (a republish has a new version to publish).
    await rm(root, { recursive: true, force: true });
    await cp(published0, root, { recursive: true });
    version++;
    await client.query(
      `UPDATE rentals SET rent_cost = $1, updated_at = now() WHERE rental_id % 10 = 0 AND rent_start >= '2025-07-01' AND rent_start < '2025-07-02'`,
      [`${version}.00`],
    );
  });

  it.each(DEATHS)('the process dying %s', async (_name, fault, expected) => {
    // Prepare
    const old = await table();
    const faulty = new FaultyStore(store, fault);

    // Act: the run dies at the fault
    await runDay(faulty, database.url, DAY, { owner: 'execution-A' }).catch(() => undefined);

    // Assess: the table names one whole version, every file of it there, with the source's rental ids
    expect(faulty.fired).toBe(true);
    const ids = await sourceIds();
    const afterKill = await table();
    expect(afterKill.ids).toEqual(ids);
    if (expected === 'old') expect(afterKill.keys).toEqual(old.keys);
    else expect(afterKill.keys).toEqual(await manifestKeys());
    expect(afterKill.keys).not.toEqual(expected === 'old' ? await manifestKeysIfNew(old.keys) : old.keys);

    // Act: etl clean, the dead run's holder gone
    await cleanLake(store, { liveness: async () => true });

    // Assess: the table names what the manifest names
    const afterClean = await table();
    expect(afterClean.keys).toEqual(await manifestKeys());
    expect(afterClean.ids).toEqual(ids);

    // Act: the next run of the day
    await runDay(store, database.url, DAY, { owner: 'execution-A' });

    // Assess: the source's rows
    const recovered = await table();
    expect(recovered.keys).toEqual(await manifestKeys());
    expect(recovered.ids).toEqual(ids);
    expect(changedCosts(recovered.costs)).toEqual(new Set([`${version}.00`]));
    expect(changedCosts(old.costs).size).toBeGreaterThan(1); // the published version's costs: the seed's, not one value
  });

  /** The manifest's keys when they differ from `old` (the new version was committed), else a value no table equals. */
  async function manifestKeysIfNew(old: string[]): Promise<unknown> {
    const keys = await manifestKeys();
    return JSON.stringify(keys) === JSON.stringify(old) ? ['(the manifest still names the old version)'] : keys;
  }
});
