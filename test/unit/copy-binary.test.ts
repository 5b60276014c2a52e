import type { RecordBatch } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { decodeCopyBinary, STAGED_INFINITY, STAGED_MINUS_INFINITY } from '../../src/source/copy-binary.js';
import { StagingError } from '../../src/core/errors.js';
import { BIKES, RENTALS, USERS, type SourceTable } from '../../src/core/schema.js';

/** 2000-01-01T00:00:00Z, the Postgres epoch, in microseconds and days since 1970. */
const PG_EPOCH_US = 946_684_800_000_000n;
const PG_EPOCH_DAYS = 10_957;

// ---- A hand-made COPY BINARY stream -------------------------------------------------------------

const SIGNATURE = Buffer.from([0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00]);

function int16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
}

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

const int8 = (n: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(n);
  return b;
};
const int4 = (n: number): Buffer => int32(n);
/** A timestamptz given in microseconds since 1970, as Postgres sends it (since 2000). */
const timestamptz = (microsSince1970: bigint): Buffer => int8(microsSince1970 - PG_EPOCH_US);
/** A date given in days since 1970, as Postgres sends it (since 2000). */
const date = (daysSince1970: number): Buffer => int32(daysSince1970 - PG_EPOCH_DAYS);
const text = (s: string): Buffer => Buffer.from(s, 'utf8');
const bool = (b: boolean): Buffer => Buffer.from([b ? 1 : 0]);

const header = (): Buffer => Buffer.concat([SIGNATURE, int32(0), int32(0)]);
const trailer = (): Buffer => int16(-1);

/** One tuple: the field count, then each field's length (-1 for NULL) and bytes. */
function tuple(fields: readonly (Buffer | null)[]): Buffer {
  return Buffer.concat([int16(fields.length), ...fields.flatMap((f) => (f === null ? [int32(-1)] : [int32(f.length), f]))]);
}

function stream(tuples: readonly (readonly (Buffer | null)[])[]): Buffer {
  return Buffer.concat([header(), ...tuples.map(tuple), trailer()]);
}

// ---- Running the decoder -------------------------------------------------------------------------

async function* chunksOf(...chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) yield chunk;
}

async function decode(chunks: AsyncIterable<Uint8Array>, table: SourceTable, batchRows = 1024): Promise<RecordBatch[]> {
  const batches: RecordBatch[] = [];
  for await (const batch of decodeCopyBinary(chunks, table, batchRows)) batches.push(batch);
  return batches;
}

async function decodeError(chunks: AsyncIterable<Uint8Array>, table: SourceTable): Promise<unknown> {
  try {
    await decode(chunks, table);
  } catch (error) {
    return error;
  }
  throw new Error('expected the decoder to throw');
}

type Value = bigint | number | boolean | string | null;

/** Every value of every batch, by column, with 64-bit kinds read from their buffers. */
function columnsOf(batches: readonly RecordBatch[], table: SourceTable): Record<string, Value[]> {
  const out: Record<string, Value[]> = Object.fromEntries(table.columns.map((c) => [c.name, []]));
  for (const batch of batches) {
    for (const column of table.columns) {
      const vector = batch.getChild(column.name)!;
      const data = vector.data[0];
      for (let i = 0; i < batch.numRows; i++) {
        if (!vector.isValid(i)) out[column.name].push(null);
        else if (column.kind === 'int64' || column.kind === 'timestamptz') out[column.name].push((data.values as BigInt64Array)[i]);
        else if (column.kind === 'int32' || column.kind === 'date') out[column.name].push((data.values as Int32Array)[i]);
        else out[column.name].push(vector.get(i) as boolean | string);
      }
    }
  }
  return out;
}

/** Batch sizes plus every value: what must not change however the stream is chunked. */
function snapshot(batches: readonly RecordBatch[], table: SourceTable): { sizes: number[]; columns: Record<string, Value[]> } {
  return { sizes: batches.map((b) => b.numRows), columns: columnsOf(batches, table) };
}

// ---- Fixtures ------------------------------------------------------------------------------------

const LONG_TEXT = 'Straße der Pariser Kommune / Karl-Marx-Allee '.repeat(20);

interface Rental {
  rental_id: bigint;
  user_id: bigint;
  bike_id: bigint;
  rent_start: bigint;
  rent_end: bigint | null;
  start_station: string | null;
  end_station: string | null;
  rent_cost: string | null;
  updated_at: bigint;
}

const RENTAL_ROWS: Rental[] = [
  {
    rental_id: 1n,
    user_id: 5_000_000_000n, // above 2^32
    bike_id: 9_223_372_036_854_775_807n, // int8 max
    rent_start: 1_740_787_201_123_456n, // 2025-03-01T00:00:01.123456Z
    rent_end: 1_740_788_101_000_000n,
    start_station: 'Alexanderplatz',
    end_station: '🚲 Kottbusser Tor — Ünïcödé',
    rent_cost: '12.50',
    updated_at: 1_740_788_101_000_001n,
  },
  {
    rental_id: -1n,
    user_id: -5_000_000_000n,
    bike_id: -9_223_372_036_854_775_808n, // int8 min
    rent_start: PG_EPOCH_US - 1n, // 1999-12-31T23:59:59.999999Z
    rent_end: PG_EPOCH_US, // 2000-01-01T00:00:00Z exactly
    start_station: '',
    end_station: null,
    rent_cost: null,
    updated_at: -1n, // 1969-12-31T23:59:59.999999Z
  },
  {
    rental_id: 4_294_967_296n, // exactly 2^32
    user_id: 4_294_967_295n, // 2^32 - 1
    bike_id: 2_147_483_648n, // 2^31
    rent_start: -14_182_939_876_544n, // 1969-07-20T20:17:40.123456Z
    rent_end: null,
    start_station: null,
    end_station: LONG_TEXT,
    rent_cost: 'N/A',
    updated_at: 4_102_444_800_000_000n, // 2100-01-01
  },
  {
    rental_id: 4n,
    user_id: 0n,
    bike_id: 7n,
    rent_start: PG_EPOCH_US + 4_294_967_295n, // lower word all ones after the epoch shift
    rent_end: PG_EPOCH_US + 4_294_967_296n,
    start_station: 'x'.repeat(31),
    end_station: 'y'.repeat(32),
    rent_cost: '',
    updated_at: 0n,
  },
  {
    rental_id: 5n,
    user_id: 5n,
    bike_id: 5n,
    rent_start: 1_000_000n,
    rent_end: 2_000_000n,
    start_station: 'a',
    end_station: 'b',
    rent_cost: '-2.50',
    updated_at: 3_000_000n,
  },
];

function rentalTuple(r: Rental): (Buffer | null)[] {
  const opt = <T>(v: T | null, enc: (v: T) => Buffer) => (v === null ? null : enc(v));
  return [
    int8(r.rental_id),
    int8(r.user_id),
    int8(r.bike_id),
    timestamptz(r.rent_start),
    opt(r.rent_end, timestamptz),
    opt(r.start_station, text),
    opt(r.end_station, text),
    opt(r.rent_cost, text),
    timestamptz(r.updated_at),
  ];
}

const RENTALS_STREAM = stream(RENTAL_ROWS.map(rentalTuple));

function expectedRentalColumns(): Record<string, Value[]> {
  return Object.fromEntries(RENTALS.columns.map((c) => [c.name, RENTAL_ROWS.map((r) => r[c.name as keyof Rental])]));
}

// ---- Tests ---------------------------------------------------------------------------------------

describe('decodeCopyBinary', () => {
  it('decodes rentals: 64-bit ids, timestamps on both sides of 1970 and 2000, NULLs and UTF-8 text', async () => {
    // Act
    const batches = await decode(chunksOf(RENTALS_STREAM), RENTALS);

    // Assess
    expect(batches).toHaveLength(1);
    expect(columnsOf(batches, RENTALS)).toEqual(expectedRentalColumns());
  });

  it('tells an empty string from NULL', async () => {
    // Act
    const [batch] = await decode(chunksOf(RENTALS_STREAM), RENTALS);

    // Assess
    const startStation = batch.getChild('start_station')!;
    expect(startStation.isValid(1)).toBe(true);
    expect(startStation.get(1)).toBe('');
    expect(startStation.isValid(2)).toBe(false);
    expect(startStation.get(2)).toBeNull();
    expect(batch.getChild('rent_cost')!.get(3)).toBe('');
    expect(batch.getChild('rent_cost')!.get(1)).toBeNull();
  });

  it('counts the NULLs of each column', async () => {
    // Act
    const [batch] = await decode(chunksOf(RENTALS_STREAM), RENTALS);

    // Assess
    const nullCounts = Object.fromEntries(RENTALS.columns.map((c) => [c.name, batch.getChild(c.name)!.nullCount]));
    expect(nullCounts).toEqual({
      rental_id: 0,
      user_id: 0,
      bike_id: 0,
      rent_start: 0,
      rent_end: 1,
      start_station: 1,
      end_station: 1,
      rent_cost: 1,
      updated_at: 0,
    });
  });

  it('gives the batches the staging schema of the table', async () => {
    // Act
    const [batch] = await decode(chunksOf(RENTALS_STREAM), RENTALS);

    // Assess
    expect(batch.schema.fields.map((f) => `${f.name}:${String(f.type)}`)).toEqual([
      'rental_id:Int64',
      'user_id:Int64',
      'bike_id:Int64',
      'rent_start:Timestamp<MICROSECOND, UTC>',
      'rent_end:Timestamp<MICROSECOND, UTC>',
      'start_station:Utf8',
      'end_station:Utf8',
      'rent_cost:Utf8',
      'updated_at:Timestamp<MICROSECOND, UTC>',
    ]);
  });

  it('decodes users: int4 ages and dates before and after 2000', async () => {
    // Prepare
    const users = [
      [1n, 'Ada', 'Lovelace', 'ada@example.org', 36, 'London', 20_000],
      [2n, 'Émile', 'Zoë', 'emile@example.org', null, null, 0],
      [3n, '李', '小龙', 'li@example.org', -1, 'Hong Kong', 10_956],
      [4n, 'Max', 'Mustermann', 'max@example.org', 2_147_483_647, 'Berlin', PG_EPOCH_DAYS],
    ] as const;
    const body = stream(
      users.map(([id, first, last, email, age, city, signup]) => [
        int8(id),
        text(first),
        text(last),
        text(email),
        age === null ? null : int4(age),
        city === null ? null : text(city),
        date(signup),
      ]),
    );

    // Act
    const batches = await decode(chunksOf(body), USERS);

    // Assess
    expect(columnsOf(batches, USERS)).toEqual({
      user_id: [1n, 2n, 3n, 4n],
      first_name: ['Ada', 'Émile', '李', 'Max'],
      last_name: ['Lovelace', 'Zoë', '小龙', 'Mustermann'],
      email: ['ada@example.org', 'emile@example.org', 'li@example.org', 'max@example.org'],
      age: [36, null, -1, 2_147_483_647],
      city: ['London', null, 'Hong Kong', 'Berlin'],
      signup_date: [20_000, 0, 10_956, PG_EPOCH_DAYS],
    });
  });

  it('decodes bikes: booleans', async () => {
    // Prepare
    const bikes = [
      [1n, 'Urban 3', 'city', 'Alexanderplatz', true],
      [2n, 'Cargo XL', 'cargo', null, false],
      [3n, 'Volt', 'e-bike', 'Ostkreuz', true],
    ] as const;
    const body = stream(
      bikes.map(([id, model, type, home, inService]) => [int8(id), text(model), text(type), home === null ? null : text(home), bool(inService)]),
    );

    // Act
    const batches = await decode(chunksOf(body), BIKES);

    // Assess
    expect(columnsOf(batches, BIKES)).toEqual({
      bike_id: [1n, 2n, 3n],
      model: ['Urban 3', 'Cargo XL', 'Volt'],
      bike_type: ['city', 'cargo', 'e-bike'],
      home_station: ['Alexanderplatz', null, 'Ostkreuz'],
      in_service: [true, false, true],
    });
  });

  it('packs booleans bit by bit across bytes and batches', async () => {
    // Prepare
    const inService = [true, false, false, true, true, true, false, true, false, true, true, false];
    const body = stream(inService.map((b, i) => [int8(BigInt(i)), text('m'), text('city'), null, bool(b)]));

    // Act
    const batches = await decode(chunksOf(body), BIKES, 5);

    // Assess
    expect(batches.map((b) => b.numRows)).toEqual([5, 5, 2]);
    expect(columnsOf(batches, BIKES).in_service).toEqual(inService);
  });

  it('keeps every value while its buffers grow from a small start to a full batch, and across batches', async () => {
    // Prepare: more rows than the buffers start with (1,024), every fourth home_station NULL
    const n = 5_000;
    const rows = Array.from({ length: n }, (_, i) => [
      int8(BigInt(i)),
      text(`model ${i}`),
      text('city'),
      i % 4 === 0 ? null : text(`station ${i}`),
      bool(i % 3 === 0),
    ]);

    // Act
    const batches = await decode(chunksOf(stream(rows)), BIKES, 3_000);

    // Assess
    expect(batches.map((b) => b.numRows)).toEqual([3_000, 2_000]);
    const columns = columnsOf(batches, BIKES);
    expect(columns.bike_id).toEqual(Array.from({ length: n }, (_, i) => BigInt(i)));
    expect(columns.model).toEqual(Array.from({ length: n }, (_, i) => `model ${i}`));
    expect(columns.home_station).toEqual(Array.from({ length: n }, (_, i) => (i % 4 === 0 ? null : `station ${i}`)));
    expect(columns.in_service).toEqual(Array.from({ length: n }, (_, i) => i % 3 === 0));
  });

  it('cuts batches of at most batchRows rows', async () => {
    // Act
    const batches = await decode(chunksOf(RENTALS_STREAM), RENTALS, 2);

    // Assess
    expect(batches.map((b) => b.numRows)).toEqual([2, 2, 1]);
    expect(columnsOf(batches, RENTALS)).toEqual(expectedRentalColumns());
  });

  it('yields no batch for a stream with no rows', async () => {
    // Act
    const batches = await decode(chunksOf(stream([])), RENTALS);

    // Assess
    expect(batches).toEqual([]);
  });

  it('gives the same batches when the stream arrives one byte at a time', async () => {
    // Prepare
    const whole = snapshot(await decode(chunksOf(RENTALS_STREAM), RENTALS, 2), RENTALS);
    const bytes = Array.from(RENTALS_STREAM, (b) => Uint8Array.of(b));

    // Act
    const batches = await decode(chunksOf(...bytes), RENTALS, 2);

    // Assess
    expect(snapshot(batches, RENTALS)).toEqual(whole);
  });

  it('gives the same batches wherever the stream is split in two', async () => {
    // Prepare
    const whole = snapshot(await decode(chunksOf(RENTALS_STREAM), RENTALS, 2), RENTALS);
    const splits = Array.from({ length: RENTALS_STREAM.length - 1 }, (_, i) => i + 1);

    // Act
    const results = await Promise.all(
      splits.map(async (at) => snapshot(await decode(chunksOf(RENTALS_STREAM.subarray(0, at), RENTALS_STREAM.subarray(at)), RENTALS, 2), RENTALS)),
    );

    // Assess
    const differing = splits.filter((_, i) => JSON.stringify(results[i], replacer) !== JSON.stringify(whole, replacer));
    expect(differing).toEqual([]);
    expect(whole.sizes).toEqual([2, 2, 1]);
  });

  it('skips a header extension area wherever the stream is split', async () => {
    // Prepare: the format lets a writer add header extensions that readers must skip.
    const extension = Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x01]);
    const withExtension = Buffer.concat([SIGNATURE, int32(0), int32(extension.length), extension, RENTALS_STREAM.subarray(19)]);
    const expected = JSON.stringify(snapshot(await decode(chunksOf(RENTALS_STREAM), RENTALS), RENTALS), replacer);
    const splits = Array.from({ length: 40 }, (_, i) => i + 1);

    // Act
    const results = await Promise.all(
      splits.map(async (at) => {
        try {
          const batches = await decode(chunksOf(withExtension.subarray(0, at), withExtension.subarray(at)), RENTALS);
          return JSON.stringify(snapshot(batches, RENTALS), replacer);
        } catch (error) {
          return String(error);
        }
      }),
    );

    // Assess
    expect(splits.filter((_, i) => results[i] !== expected)).toEqual([]);
  });

  it('does not depend on the chunk buffers staying unchanged after they were read', async () => {
    // Prepare: a reader that reuses one buffer for every chunk, as socket readers may.
    const expected = snapshot(await decode(chunksOf(RENTALS_STREAM), RENTALS), RENTALS);
    async function* reusedBuffer(): AsyncGenerator<Uint8Array> {
      const buffer = new Uint8Array(7);
      for (let at = 0; at < RENTALS_STREAM.length; at += buffer.length) {
        const piece = RENTALS_STREAM.subarray(at, at + buffer.length);
        buffer.set(piece);
        yield buffer.subarray(0, piece.length);
        buffer.fill(0xee);
      }
    }

    // Act
    const batches = await decode(reusedBuffer(), RENTALS);

    // Assess
    expect(snapshot(batches, RENTALS)).toEqual(expected);
  });

  it('fails with a StagingError on a tuple with the wrong field count', async () => {
    // Prepare
    const body = Buffer.concat([header(), tuple(rentalTuple(RENTAL_ROWS[0]).slice(0, 8)), trailer()]);

    // Act
    const error = await decodeError(chunksOf(body), RENTALS);

    // Assess
    expect(error).toBeInstanceOf(StagingError);
    expect((error as Error).message).toContain('expected 9 fields, got 8');
  });

  it.each([
    ['ends after a whole tuple', RENTALS_STREAM.subarray(0, RENTALS_STREAM.length - 2)],
    ['ends inside a tuple', RENTALS_STREAM.subarray(0, RENTALS_STREAM.length - 10)],
    ['ends inside the header', RENTALS_STREAM.subarray(0, 12)],
    ['is empty', Buffer.alloc(0)],
  ])('fails with a StagingError on a stream that %s without its trailer', async (_, body) => {
    // Act
    const error = await decodeError(chunksOf(body), RENTALS);

    // Assess
    expect(error).toBeInstanceOf(StagingError);
    expect((error as Error).message).toContain('ended early');
  });

  it('fails with a StagingError on a bad signature', async () => {
    // Prepare
    const body = Buffer.from(RENTALS_STREAM);
    body[7] = 0x00;

    // Act
    const error = await decodeError(chunksOf(body), RENTALS);

    // Assess
    expect(error).toBeInstanceOf(StagingError);
    expect((error as Error).message).toContain('signature');
  });

  it('fails with a StagingError on a text COPY stream', async () => {
    // Prepare
    const body = Buffer.from('1\t2\t3\t2025-03-01 00:00:00+00\t\\N\ta\tb\t1.00\t2025-03-01 00:00:00+00\n\\.\n');

    // Act
    const error = await decodeError(chunksOf(body), RENTALS);

    // Assess
    expect(error).toBeInstanceOf(StagingError);
  });

  it.each([
    ['infinity', Buffer.from([0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), STAGED_INFINITY],
    ['-infinity', Buffer.from([0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]), STAGED_MINUS_INFINITY],
  ])('stages a timestamp of %s as its marker, for the cast to quarantine', async (_, infinite, marker) => {
    // Prepare
    const fields = rentalTuple(RENTAL_ROWS[0]);
    fields[4] = infinite;
    const body = stream([fields]);

    // Act
    const [batch] = await decode(chunksOf(body), RENTALS);

    // Assess
    expect(batch.numRows).toBe(1);
    expect(batch.getChild('rent_end')!.isValid(0)).toBe(true);
    expect((batch.getChild('rent_end')!.data[0].values as BigInt64Array)[0]).toBe(marker);
  });

  it('fails with a StagingError on an int8 field of the wrong width', async () => {
    // Prepare
    const fields = rentalTuple(RENTAL_ROWS[0]);
    fields[0] = int32(1);
    const body = stream([fields]);

    // Act
    const error = await decodeError(chunksOf(body), RENTALS);

    // Assess
    expect(error).toBeInstanceOf(StagingError);
    expect((error as Error).message).toContain('rental_id');
  });
});

/** JSON for snapshots holding bigints. */
function replacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? `${value}n` : value;
}
