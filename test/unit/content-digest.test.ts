/**
 * The content digest compaction checks before its commit (`ContentDigest`): it depends on the rows
 * and their order, not on how they are cut into batches, row groups or files; any changed value,
 * a NULL for an empty string, another decimal scale or timestamp unit gives another digest.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Decimal, Field, Int64, makeData, RecordBatch, Schema, Struct, TimeUnit, Timestamp, Utf8, vectorFromArray } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLakeUri } from '../../src/core/config.js';
import { openRowGroups } from '../../src/formats/parquet-row-groups.js';
import { parquetBytes } from '../../src/formats/parquet.js';
import { FsStore } from '../../src/lake/fs-store.js';
import { ContentDigest } from '../../src/pipeline/compact/content-digest.js';

interface Row {
  readonly id: number;
  readonly station: string | null;
  /** Unscaled (cents at scale 2). */
  readonly cost: number | null;
  /** Microseconds since the epoch. */
  readonly endUs: number | null;
}

const ROWS: readonly Row[] = Array.from({ length: 1000 }, (_, i) => ({
  id: 1000 + i,
  station: i % 7 === 0 ? null : i % 11 === 0 ? '' : `station ${i % 40}`,
  cost: i % 13 === 0 ? null : 150 + i,
  endUs: i % 17 === 0 ? null : 1_748_822_400_000_000 + i * 1_000_001,
}));

const COST = new Decimal(2, 12, 128);
const MICROS = new Timestamp(TimeUnit.MICROSECOND, 'UTC');

/** The validity bitmap and NULL count of `values`. */
function nulls(values: readonly unknown[]): { nullCount: number; nullBitmap: Uint8Array | undefined } {
  const bitmap = new Uint8Array(Math.ceil(values.length / 8));
  values.forEach((v, i) => {
    if (v !== null) bitmap[i >> 3] |= 1 << (i & 7);
  });
  const nullCount = values.filter((v) => v === null).length;
  return { nullCount, nullBitmap: nullCount > 0 ? bitmap : undefined };
}

/** A Decimal128 column of unscaled values (four little-endian 32-bit words each). */
function decimalData(type: Decimal, values: readonly (number | null)[]) {
  const words = new Uint32Array(values.length * 4);
  values.forEach((v, i) => {
    if (v === null) return;
    const wide = BigInt.asUintN(128, BigInt(v));
    for (let w = 0; w < 4; w++) words[i * 4 + w] = Number((wide >> BigInt(32 * w)) & 0xffffffffn);
  });
  return makeData({ type, length: values.length, ...nulls(values), data: words });
}

/** A 64-bit column (an integer or a timestamp) of `values`. */
function int64Data<T extends Int64 | Timestamp>(type: T, values: readonly (number | null)[]) {
  return makeData({ type, length: values.length, ...nulls(values), data: BigInt64Array.from(values, (v) => BigInt(v ?? 0)) } as never);
}

/** The rows as one batch of four columns (`types` replaces a column's type, for the type tests). */
function batchOf(rows: readonly Row[], types: { cost?: Decimal; end?: Timestamp } = {}): RecordBatch {
  const costType = types.cost ?? COST;
  const endType = types.end ?? MICROS;
  const fields = [
    new Field('rental_id', new Int64(), false),
    new Field('end_station', new Utf8(), true),
    new Field('rent_cost', costType, true),
    new Field('rent_end', endType, true),
  ];
  const children = [
    int64Data(
      new Int64(),
      rows.map((r) => r.id),
    ),
    vectorFromArray(
      rows.map((r) => r.station),
      new Utf8(),
    ).data[0],
    decimalData(
      costType,
      rows.map((r) => r.cost),
    ),
    int64Data(
      endType,
      rows.map((r) => r.endUs),
    ),
  ];
  const schema = new Schema(fields);
  return new RecordBatch(schema, makeData({ type: new Struct(fields), length: rows.length, children }));
}

/** The digest of `batches`, added in order. */
function digestOf(...batches: RecordBatch[]): string {
  const digest = new ContentDigest();
  for (const batch of batches) digest.add(batch);
  return digest.digest();
}

/** `rows` with row `at` changed by `change`. */
const changed = (at: number, change: Partial<Row>): Row[] => ROWS.map((r, i) => (i === at ? { ...r, ...change } : r));

describe('ContentDigest', () => {
  const whole = digestOf(batchOf(ROWS));

  it('is the same however the rows are cut into batches, slices included', () => {
    // Prepare
    const all = batchOf(ROWS);

    // Act
    const inThree = digestOf(batchOf(ROWS.slice(0, 1)), batchOf(ROWS.slice(1, 333)), batchOf(ROWS.slice(333)));
    const sliced = digestOf(all.slice(0, 5), all.slice(5, 700), all.slice(700));
    const withEmpty = digestOf(batchOf([]), all, batchOf([]));

    // Assess
    expect(inThree).toBe(whole);
    expect(sliced).toBe(whole);
    expect(withEmpty).toBe(whole);
  });

  it('depends on the order of the rows (compaction keeps it)', () => {
    expect(digestOf(batchOf([...ROWS].reverse()))).not.toBe(whole);
    expect(digestOf(batchOf(ROWS.slice(500)), batchOf(ROWS.slice(0, 500)))).not.toBe(whole);
  });

  it('changes with any value, a missing row or an extra one', () => {
    const others = [
      digestOf(batchOf(changed(400, { id: 99 }))),
      digestOf(batchOf(changed(400, { station: 'station 1 ' }))),
      digestOf(batchOf(changed(400, { cost: ROWS[400].cost! + 1 }))),
      digestOf(batchOf(changed(400, { endUs: ROWS[400].endUs! + 1 }))),
      digestOf(batchOf(ROWS.slice(0, -1))),
      digestOf(batchOf([...ROWS, ROWS[0]])),
    ];
    for (const other of others) expect(other).not.toBe(whole);
    expect(new Set(others).size).toBe(others.length);
  });

  it('tells a NULL from an empty string, from a zero and from the epoch', () => {
    // Prepare: row 22 has an empty station, row 13 a NULL cost, row 17 a NULL end
    expect([ROWS[22].station, ROWS[13].cost, ROWS[17].endUs]).toEqual(['', null, null]);

    // Act, Assess
    expect(digestOf(batchOf(changed(22, { station: null })))).not.toBe(whole);
    expect(digestOf(batchOf(changed(7, { station: '' })))).not.toBe(whole);
    expect(digestOf(batchOf(changed(13, { cost: 0 })))).not.toBe(whole);
    expect(digestOf(batchOf(changed(17, { endUs: 0 })))).not.toBe(whole);
  });

  it('tells strings apart however their bytes are split between rows', () => {
    const a = [
      { ...ROWS[1], station: 'ab' },
      { ...ROWS[2], station: 'c' },
    ];
    const b = [
      { ...ROWS[1], station: 'a' },
      { ...ROWS[2], station: 'bc' },
    ];
    expect(digestOf(batchOf(a))).not.toBe(digestOf(batchOf(b)));
  });

  it('tells a decimal scale and a timestamp unit or zone apart when the stored integers are equal', () => {
    // 1.50 at scale 2 and 15.0 at scale 1 store the same 150
    expect(digestOf(batchOf(ROWS, { cost: new Decimal(1, 12, 128) }))).not.toBe(whole);
    expect(digestOf(batchOf(ROWS, { cost: new Decimal(2, 18, 128) }))).not.toBe(whole);
    expect(digestOf(batchOf(ROWS, { end: new Timestamp(TimeUnit.NANOSECOND, 'UTC') }))).not.toBe(whole);
    expect(digestOf(batchOf(ROWS, { end: new Timestamp(TimeUnit.MICROSECOND) }))).not.toBe(whole);
  });

  describe('of rows read back from Parquet', () => {
    let root: string;
    let store: FsStore;
    beforeAll(async () => {
      root = await mkdtemp(join(tmpdir(), 'content-digest-'));
      store = new FsStore(parseLakeUri(root));
    });
    afterAll(() => rm(root, { recursive: true, force: true }));

    /** Writes `parts` of ROWS as one file each (row groups of `rowGroupRows`), then digests them read back in order. */
    async function roundTrip(name: string, parts: readonly (readonly Row[])[], rowGroupRows: number): Promise<ContentDigest> {
      const digest = new ContentDigest();
      for (const [i, rows] of parts.entries()) {
        const batch = batchOf(rows);
        const body = parquetBytes(batch.schema, [batch], { rowGroupRows });
        const key = `${name}/part-${i}.parquet`;
        await store.putObject(key, body);
        const file = await openRowGroups(store, key, body.byteLength);
        for await (const read of file.batches()) digest.add(read);
      }
      return digest;
    }

    it('is the same for one file and for several files of other row groups, and equals the rows written', async () => {
      // Act
      const one = await roundTrip('one', [ROWS], 1024);
      const several = await roundTrip('several', [ROWS.slice(0, 100), ROWS.slice(100, 650), ROWS.slice(650)], 64);

      // Assess
      const digest = one.digest();
      expect(one.rows).toBe(ROWS.length);
      expect(several.rows).toBe(ROWS.length);
      expect(several.digest()).toBe(digest);
      expect(digest).toBe(whole);
    });
  });
});
