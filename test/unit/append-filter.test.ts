/**
 * The append filter and the published keys it asks: rows whose key a published file holds are left
 * out (counted, changed ones apart); a file is read only when a row's key falls in the key range
 * its footer states; the sorted typed-array key set holds more keys than a JS Map can (2^24).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Field, Int64, makeData, RecordBatch, Schema, Struct, TimeUnit, Timestamp } from 'apache-arrow';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseLakeUri } from '../../src/core/config.js';
import { parseDay } from '../../src/core/day.js';
import { RENTALS } from '../../src/core/tables.js';
import { parquetBytes } from '../../src/formats/parquet.js';
import { FsStore } from '../../src/lake/fs-store.js';
import { manifestKey } from '../../src/lake/layout.js';
import { newRows } from '../../src/pipeline/transform-write/append-filter.js';
import { PublishedRows, SortedKeys } from '../../src/pipeline/transform-write/published-rows.js';

const DAY = parseDay('2025-03-01');
const READ_AT_MS = Date.parse('2025-03-02T00:00:00Z');
const MICROS = new Timestamp(TimeUnit.MICROSECOND, 'UTC');

/** A batch of `key` and a timestamp column `time` (the staged change time, or the lineage read time). */
function batch(time: string, rows: readonly { id: number; ms: number }[]): RecordBatch {
  const schema = new Schema([new Field('rental_id', new Int64(), false), new Field(time, MICROS, false)]);
  const ids = makeData({ type: new Int64(), length: rows.length, nullCount: 0, data: BigInt64Array.from(rows, (r) => BigInt(r.id)) });
  const times = makeData({ type: MICROS, length: rows.length, nullCount: 0, data: BigInt64Array.from(rows, (r) => BigInt(r.ms) * 1000n) });
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: rows.length, children: [ids, times] }));
}

const staged = (rows: readonly { id: number; updatedAtMs: number }[]) =>
  batch(
    'updated_at',
    rows.map((r) => ({ id: r.id, ms: r.updatedAtMs })),
  );

function idsOf(batches: readonly RecordBatch[]): number[] {
  return batches.flatMap((b) => Array.from(b.getChild('rental_id')!.toArray() as BigInt64Array, Number));
}

describe('newRows (the append filter) over a published partition', () => {
  let root: string;
  let store: FsStore;
  const reads: string[] = [];

  /** Publishes one file per id list (read at READ_AT_MS) under a manifest naming them. */
  async function publish(files: readonly (readonly number[])[]): Promise<void> {
    const manifestFiles = [];
    for (const [i, ids] of files.entries()) {
      const key = `rentals/year=2025/month=03/day=01/part-${i}.parquet`;
      const lake = batch(
        'etl_extracted_at',
        ids.map((id) => ({ id, ms: READ_AT_MS })),
      );
      const body = parquetBytes(lake.schema, [lake], { rowGroupRows: 1024 });
      await store.putObject(key, body);
      manifestFiles.push({ key, rows: ids.length, bytes: body.byteLength, runId: 'r' });
    }
    const manifest = {
      version: 1,
      table: 'rentals',
      date: DAY.iso,
      runId: 'r',
      schemaFingerprint: 'x',
      rows: 0,
      files: manifestFiles,
      quarantine: [],
      runs: [],
    };
    await store.putObject(manifestKey(DAY), JSON.stringify(manifest));
  }

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'append-filter-'));
    const fs = new FsStore(parseLakeUri(root));
    reads.length = 0;
    // Every ranged read of a data file beyond its footer is a read of its rows.
    store = Object.assign(Object.create(fs) as FsStore, {
      readRange: async (key: string, start: number, end: number) => {
        reads.push(key);
        return fs.readRange(key, start, end);
      },
    });
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('keeps the rows whose key is not published and counts the others, changed ones apart', async () => {
    // Prepare
    await publish([
      [1, 3],
      [5, 6],
    ]);
    const raw = staged([
      { id: 1, updatedAtMs: READ_AT_MS - 1 },
      { id: 2, updatedAtMs: READ_AT_MS - 1 },
      { id: 3, updatedAtMs: READ_AT_MS + 1 },
      { id: 4, updatedAtMs: READ_AT_MS + 1 },
      { id: 5, updatedAtMs: READ_AT_MS },
      { id: 6, updatedAtMs: READ_AT_MS - 1 },
    ]);

    // Act
    const result = await newRows(raw, RENTALS, await PublishedRows.of(store, DAY, RENTALS));

    // Assess
    expect(idsOf(result.batches)).toEqual([2, 4]);
    expect(result.alreadyPublished).toBe(4);
    expect(result.changedSincePublish).toBe(1);
  });

  it('reads only the footers when every new key lies above the published ones', async () => {
    // Prepare
    await publish([
      [1, 2],
      [3, 4],
    ]);
    const published = await PublishedRows.of(store, DAY, RENTALS);
    reads.length = 0;
    const raw = staged([
      { id: 7, updatedAtMs: READ_AT_MS },
      { id: 8, updatedAtMs: READ_AT_MS },
    ]);

    // Act
    const result = await newRows(raw, RENTALS, published);

    // Assess
    expect(result.batches).toEqual([raw]);
    expect(result).toMatchObject({ alreadyPublished: 0, changedSincePublish: 0 });
    expect(published.maxKey).toBe(4n);
    expect(reads).toEqual([]);
  });

  it('reads the one file whose key range a new key falls in', async () => {
    // Prepare
    await publish([
      [1, 2],
      [10, 20],
    ]);
    const published = await PublishedRows.of(store, DAY, RENTALS);
    reads.length = 0;

    // Act
    const result = await newRows(staged([{ id: 15, updatedAtMs: READ_AT_MS }]), RENTALS, published);

    // Assess
    expect(result.alreadyPublished).toBe(0);
    expect(new Set(reads)).toEqual(new Set(['rentals/year=2025/month=03/day=01/part-1.parquet']));
  });
});

describe('SortedKeys', () => {
  it('holds more than 2^24 keys (a JS Map’s limit) and finds each by bisection', () => {
    // Prepare: 2^24 + 1,000 keys in descending order, one of them twice.
    const n = 2 ** 24 + 1_000;
    const keys = new BigInt64Array(n);
    for (let i = 0; i < n; i++) keys[i] = BigInt(2 * (n - i));
    keys[n - 1] = keys[n - 2];
    const readAt = new Float64Array(n).fill(READ_AT_MS);

    // Act
    const sorted = new SortedKeys(keys, readAt);

    // Assess
    expect(sorted.size).toBe(n);
    expect(sorted.duplicates).toBe(1);
    expect(sorted.readAtOf(BigInt(2 * n))).toBe(READ_AT_MS);
    expect(sorted.readAtOf(BigInt(2 * (n - 2 ** 24)))).toBe(READ_AT_MS);
    expect(sorted.readAtOf(BigInt(2 * n - 1))).toBeUndefined();
    expect(sorted.readAtOf(0n)).toBeUndefined();
  }, 60_000);

  it('keeps each key’s read time when a file holds the rows of several runs (a compacted one)', () => {
    // Act
    const sorted = new SortedKeys(BigInt64Array.from([5n, 1n, 3n, 2n]), Float64Array.from([20, 10, 20, 10]));

    // Assess
    expect([1n, 2n, 3n, 5n, 4n].map((k) => sorted.readAtOf(k))).toEqual([10, 10, 20, 20, undefined]);
    expect(sorted.duplicates).toBe(0);
  });
});
