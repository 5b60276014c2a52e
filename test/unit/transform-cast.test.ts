import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Field,
  Int64,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  tableToIPC,
  type TimestampMicrosecond,
  Utf8,
  vectorFromArray,
  type Data,
} from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { parseLakeUri } from '../../src/core/config.js';
import { parseDay } from '../../src/core/day.js';
import { StagingError } from '../../src/core/errors.js';
import { lakeSchema, schemaFingerprint, stagingSchema } from '../../src/core/schema.js';
import { RENTALS } from '../../src/core/tables.js';
import { FsStore } from '../../src/lake/fs-store.js';
import { newRunId, stagingKey } from '../../src/lake/layout.js';
import { parseDecimal } from '../../src/formats/decimal.js';
import { castToLake } from '../../src/pipeline/transform-write/cast.js';
import { MetricsCollector } from '../../src/pipeline/transform-write/metrics.js';
import { LineageColumns } from '../../src/pipeline/transform-write/lineage.js';
import { isoMicros, quarantineLines } from '../../src/pipeline/transform-write/quarantine.js';
import { STAGED_INFINITY, STAGED_MINUS_INFINITY } from '../../src/source/copy-binary.js';
import { transformDay } from '../../src/pipeline/transform-write/transform.js';

/** One staged rental as the source holds it; timestamps are microseconds since 1970. */
interface RawRental {
  readonly rental_id: bigint;
  readonly user_id: bigint;
  readonly bike_id: bigint;
  readonly rent_start: bigint;
  readonly rent_end: bigint | null;
  readonly start_station: string | null;
  readonly end_station: string | null;
  readonly rent_cost: string | null;
  readonly updated_at: bigint;
}

const RUN_ID = 'run-20250301T000001Z-4f2a';
const EXTRACTED_AT_MICROS = 1_740_787_201_123_456n;
const T0 = 1_740_787_200_000_000n; // 2025-03-01T00:00:00Z

const RENTALS_LAKE_SCHEMA = lakeSchema(RENTALS);

/** `text` read as a decimal(precision, scale), rent_cost's by default. */
function parseText(text: string, precision = 12, scale = 2): ReturnType<typeof parseDecimal> {
  const bytes = new TextEncoder().encode(text);
  return parseDecimal(bytes, 0, bytes.length, scale, precision - scale);
}

/** Validity bitmap with a bit set for every non-null value. */
function validityOf(values: readonly unknown[]): Uint8Array {
  const bitmap = new Uint8Array((values.length + 7) >> 3);
  values.forEach((v, i) => {
    if (v !== null) bitmap[i >> 3] |= 1 << (i & 7);
  });
  return bitmap;
}

/** A column of 64-bit integers (ids or timestamps), each column with its own buffer. */
function int64Column(type: Int64 | TimestampMicrosecond, values: readonly (bigint | null)[]): Data {
  const nullCount = values.filter((v) => v === null).length;
  const props = {
    length: values.length,
    nullCount,
    nullBitmap: nullCount > 0 ? validityOf(values) : undefined,
    data: BigInt64Array.from(values, (v) => v ?? 0n),
  };
  return type instanceof Int64 ? makeData({ type, ...props }) : makeData({ type, ...props });
}

/** A staged batch of `rentals` with the schema `stagingSchema(RENTALS)`. */
function stagedBatch(rows: readonly RawRental[], schema: Schema = stagingSchema(RENTALS)): RecordBatch {
  const children = schema.fields.map((field): Data => {
    const values = rows.map((r) => r[field.name as keyof RawRental]);
    if (field.type instanceof Utf8) return vectorFromArray(values as (string | null)[], new Utf8()).data[0];
    return int64Column(field.type as Int64 | TimestampMicrosecond, values as (bigint | null)[]);
  });
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: rows.length, children }));
}

function rental(i: number, rentCost: string | null, overrides: Partial<RawRental> = {}): RawRental {
  return {
    rental_id: 5_000_000_000n + BigInt(i),
    user_id: BigInt(100 + i),
    bike_id: BigInt(200 + i),
    rent_start: T0 + BigInt(i) * 60_000_000n,
    rent_end: T0 + BigInt(i) * 60_000_000n + 900_000_000n,
    start_station: `Station ${i}`,
    end_station: `Station ${i + 1}`,
    rent_cost: rentCost,
    updated_at: T0 + 86_400_000_000n + BigInt(i),
    ...overrides,
  };
}

/** The four little-endian 32-bit words of `cents` as a two's-complement 128-bit integer. */
function decimalWords(cents: number): number[] {
  const unsigned = BigInt.asUintN(128, BigInt(cents));
  return [0, 1, 2, 3].map((w) => Number((unsigned >> BigInt(32 * w)) & 0xffff_ffffn));
}

function wordsAt(batch: RecordBatch, row: number): number[] {
  const words = batch.getChild('rent_cost')!.data[0].values as Uint32Array;
  return Array.from(words.subarray(row * 4, row * 4 + 4));
}

describe('parseDecimal', () => {
  it.each([
    ['12.50', 1250],
    ['3', 300],
    ['3.5', 350],
    [' 4.20 ', 420],
    ['\t4.20\t', 420],
    ['-2.50', -250],
    ['+1.00', 100],
    ['0.05', 5],
    ['.5', 50],
    ['7.', 700],
    ['1.230', 123],
    ['1.2000000', 120],
    ['0000000001.00', 100],
    ['9999999999.99', 999_999_999_999],
    ['-9999999999.99', -999_999_999_999],
    ['00000000000000000000.01', 1],
  ])('reads %j as %i cents', (text, cents) => {
    // Act
    const parsed = parseText(text);

    // Assess
    expect(parsed).toBe(cents);
  });

  it.each([
    ['12,50', 'not_numeric'],
    ['error', 'not_numeric'],
    ['N/A', 'not_numeric'],
    ['NaN', 'not_numeric'],
    ['free', 'not_numeric'],
    ['1e3', 'not_numeric'],
    ['-', 'not_numeric'],
    ['.', 'not_numeric'],
    ['--1', 'not_numeric'],
    ['1.2.3', 'not_numeric'],
    ['1 000', 'not_numeric'],
    ['€5', 'not_numeric'],
    ['', 'blank'],
    ['   ', 'blank'],
    ['\t \t', 'blank'],
    ['1.234', 'too_precise'],
    ['0.001', 'too_precise'],
    ['12345678901.00', 'out_of_range'],
    ['-12345678901', 'out_of_range'],
  ])('rejects %j as %s', (text, fault) => {
    // Act
    const parsed = parseText(text);

    // Assess
    expect(parsed).toBe(fault);
  });

  it('reads only the bytes between start and end', () => {
    // Prepare
    const bytes = new TextEncoder().encode('9912.5077');

    // Act
    const parsed = parseDecimal(bytes, 2, 7, 2, 10);

    // Assess
    expect(parsed).toBe(1250);
  });

  it.each([
    ['12.5', 5, 3, 12_500],
    ['-0.001', 5, 3, -1],
    ['99.999', 5, 3, 99_999],
    ['12.3456', 5, 3, 'too_precise'],
    ['123.4', 5, 3, 'out_of_range'],
    ['9999', 4, 0, 9_999],
    ['7.0', 4, 0, 7],
    ['7.5', 4, 0, 'too_precise'],
    ['10000', 4, 0, 'out_of_range'],
    ['999999999999999', 15, 0, 999_999_999_999_999],
    ['0.123456789012345', 15, 15, 123_456_789_012_345],
  ])('reads %j as a decimal(%i,%i): %s', (text, precision, scale, expected) => {
    // Act
    const parsed = parseText(text, precision, scale);

    // Assess
    expect(parsed).toBe(expected);
  });
});

describe('castToLake of rentals', () => {
  const costs: (string | null)[] = [
    '12.50', // 0: 1250
    '-2.50', // 1: -250
    null, // 2: NULL stays NULL
    'N/A', // 3: rejected
    '', // 4: rejected
    '1.234', // 5: rejected
    '9999999999.99', // 6: needs the second word
    '-42949672.96', // 7: -2^32 cents, low word zero
    ' 3 ', // 8: 300
    '12345678901.00', // 9: rejected
    '-9999999999.99', // 10: largest negative
  ];
  const rows = costs.map((cost, i) => rental(i, cost, i === 4 ? { rent_end: null, start_station: null, end_station: '🚲 Kottbusser Tor' } : {}));

  it('returns a batch whose schema and column types are the lake schema', () => {
    // Prepare
    const raw = stagedBatch(rows);

    // Act
    const { batch } = castToLake(RENTALS, raw, new LineageColumns(RUN_ID, EXTRACTED_AT_MICROS));

    // Assess
    const shape = (s: Schema) => s.fields.map((f: Field) => `${f.name}:${String(f.type)}:${f.nullable}`);
    expect(shape(batch.schema)).toEqual(shape(RENTALS_LAKE_SCHEMA));
    expect(schemaFingerprint(batch.schema)).toBe(schemaFingerprint(RENTALS_LAKE_SCHEMA));
    for (const field of RENTALS_LAKE_SCHEMA.fields) expect(String(batch.getChild(field.name)!.type)).toBe(String(field.type));
    expect(batch.numRows).toBe(rows.length);
  });

  it("writes each cost as a two's-complement 128-bit decimal of cents", () => {
    // Prepare
    const raw = stagedBatch(rows);

    // Act
    const { batch } = castToLake(RENTALS, raw, new LineageColumns(RUN_ID, EXTRACTED_AT_MICROS));

    // Assess
    expect(wordsAt(batch, 0)).toEqual([1250, 0, 0, 0]);
    expect(wordsAt(batch, 1)).toEqual([0xffff_ffff - 249, 0xffff_ffff, 0xffff_ffff, 0xffff_ffff]);
    expect(wordsAt(batch, 1)).toEqual(decimalWords(-250));
    expect(wordsAt(batch, 6)).toEqual(decimalWords(999_999_999_999));
    expect(wordsAt(batch, 7)).toEqual([0, 0xffff_ffff, 0xffff_ffff, 0xffff_ffff]);
    expect(wordsAt(batch, 8)).toEqual(decimalWords(300));
    expect(wordsAt(batch, 10)).toEqual(decimalWords(-999_999_999_999));
  });

  it('reports each uncastable cost with its reason and stores NULL for it', () => {
    // Prepare
    const raw = stagedBatch(rows);

    // Act
    const { batch, rejected } = castToLake(RENTALS, raw, new LineageColumns(RUN_ID, EXTRACTED_AT_MICROS));

    // Assess
    expect(rejected).toEqual([
      { row: 3, reason: 'rent_cost_not_numeric', column: 'rent_cost' },
      { row: 4, reason: 'rent_cost_blank', column: 'rent_cost' },
      { row: 5, reason: 'rent_cost_too_precise', column: 'rent_cost' },
      { row: 9, reason: 'rent_cost_out_of_range', column: 'rent_cost' },
    ]);
    const cost = batch.getChild('rent_cost')!;
    expect(costs.map((_, i) => cost.isValid(i))).toEqual([true, true, false, false, false, false, true, true, true, false, true]);
    expect(cost.nullCount).toBe(5);
  });

  it('keeps a NULL source cost NULL without rejecting it', () => {
    // Prepare
    const raw = stagedBatch([rental(0, null), rental(1, '1.00')]);

    // Act
    const { batch, rejected } = castToLake(RENTALS, raw, new LineageColumns(RUN_ID, EXTRACTED_AT_MICROS));

    // Assess
    expect(rejected).toEqual([]);
    expect(batch.getChild('rent_cost')!.isValid(0)).toBe(false);
    expect(batch.getChild('rent_cost')!.isValid(1)).toBe(true);
    expect(batch.getChild('rent_cost')!.nullCount).toBe(1);
  });

  it('writes no validity bitmap when every cost is valid', () => {
    // Prepare
    const raw = stagedBatch([rental(0, '1.00'), rental(1, '2.00')]);

    // Act
    const { batch } = castToLake(RENTALS, raw, new LineageColumns(RUN_ID, EXTRACTED_AT_MICROS));

    // Assess
    const cost = batch.getChild('rent_cost')!;
    expect(cost.nullCount).toBe(0);
    expect([cost.isValid(0), cost.isValid(1)]).toEqual([true, true]);
    expect([wordsAt(batch, 0), wordsAt(batch, 1)]).toEqual([decimalWords(100), decimalWords(200)]);
  });

  it('fills the lineage columns with the run id and the extraction time', () => {
    // Prepare
    const raw = stagedBatch(rows);

    // Act
    const { batch } = castToLake(RENTALS, raw, new LineageColumns(RUN_ID, EXTRACTED_AT_MICROS));

    // Assess
    const runIds = batch.getChild('etl_run_id')!;
    const extractedAt = batch.getChild('etl_extracted_at')!;
    expect(runIds.nullCount).toBe(0);
    expect(extractedAt.nullCount).toBe(0);
    expect(Array.from({ length: rows.length }, (_, i) => runIds.get(i))).toEqual(rows.map(() => RUN_ID));
    expect(Array.from(extractedAt.data[0].values as BigInt64Array)).toEqual(rows.map(() => EXTRACTED_AT_MICROS));
  });

  it('passes the other columns through unchanged, NULLs included', () => {
    // Prepare
    const raw = stagedBatch(rows);

    // Act
    const { batch } = castToLake(RENTALS, raw, new LineageColumns(RUN_ID, EXTRACTED_AT_MICROS));

    // Assess
    for (const name of ['rental_id', 'user_id', 'bike_id', 'rent_start', 'rent_end', 'updated_at'] as const) {
      const column = batch.getChild(name)!;
      const values = column.data[0].values as BigInt64Array;
      expect(
        rows.map((_, i) => (column.isValid(i) ? values[i] : null)),
        name,
      ).toEqual(rows.map((r) => r[name]));
    }
    for (const name of ['start_station', 'end_station'] as const) {
      const column = batch.getChild(name)!;
      expect(
        rows.map((_, i) => column.get(i)),
        name,
      ).toEqual(rows.map((r) => r[name]));
    }
  });

  it('casts an empty batch to an empty lake batch', () => {
    // Prepare
    const raw = stagedBatch([]);

    // Act
    const { batch, rejected } = castToLake(RENTALS, raw, new LineageColumns(RUN_ID, EXTRACTED_AT_MICROS));

    // Assess
    expect(batch.numRows).toBe(0);
    expect(batch.schema.fields.map((f) => f.name)).toEqual(RENTALS_LAKE_SCHEMA.fields.map((f) => f.name));
    expect(rejected).toEqual([]);
  });

  it('fails with a StagingError when a staged column is missing', () => {
    // Prepare
    const staging = stagingSchema(RENTALS);
    const withoutBikeId = new Schema(staging.fields.filter((f) => f.name !== 'bike_id'));
    const raw = stagedBatch([rental(0, '1.00')], withoutBikeId);

    // Act
    const act = () => castToLake(RENTALS, raw, new LineageColumns(RUN_ID, EXTRACTED_AT_MICROS));

    // Assess
    expect(act).toThrow(StagingError);
    expect(act).toThrow(/bike_id/);
  });
});

describe('castToLake of infinite timestamps', () => {
  const rows = [
    rental(0, '1.00'),
    rental(1, '1.00', { rent_end: STAGED_INFINITY }),
    rental(2, '1.00', { rent_end: STAGED_MINUS_INFINITY }),
    rental(3, '1.00', { rent_start: STAGED_MINUS_INFINITY }),
    rental(4, 'N/A', { rent_end: STAGED_INFINITY }),
  ];

  it('quarantines an infinite rent_end with its reason and stores NULL for it', () => {
    // Act
    const { batch, rejected } = castToLake(RENTALS, stagedBatch(rows), new LineageColumns(RUN_ID, EXTRACTED_AT_MICROS));

    // Assess
    expect(rejected).toEqual(
      expect.arrayContaining([
        { row: 1, reason: 'rent_end_infinite', column: 'rent_end' },
        { row: 2, reason: 'rent_end_infinite', column: 'rent_end' },
        { row: 4, reason: 'rent_end_infinite', column: 'rent_end' },
        { row: 4, reason: 'rent_cost_not_numeric', column: 'rent_cost' },
      ]),
    );
    const end = batch.getChild('rent_end')!;
    expect(rows.map((_, i) => end.isValid(i))).toEqual([true, false, false, true, false]);
    expect(end.nullCount).toBe(3);
    expect(end.get(0)).toBe(Number(rows[0].rent_end) / 1000);
  });

  it('leaves out a row whose required rent_start is infinite, with its reason', () => {
    // Act
    const { rejected, excluded } = castToLake(RENTALS, stagedBatch(rows), new LineageColumns(RUN_ID, EXTRACTED_AT_MICROS));

    // Assess
    expect(excluded).toEqual([{ row: 3, reason: 'rent_start_infinite', column: 'rent_start' }]);
    expect(rejected.map((r) => r.row)).not.toContain(3);
  });

  it('writes the raw value, infinity or -infinity, in the quarantine line', () => {
    // Prepare
    const raw = stagedBatch(rows);
    const { rejected, excluded } = castToLake(RENTALS, raw, new LineageColumns(RUN_ID, EXTRACTED_AT_MICROS));

    // Act
    const lines = quarantineLines(RENTALS, raw, [...rejected, ...excluded], RUN_ID, '2025-03-01')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { reason: string; row: Record<string, string | null> });

    // Assess
    const byReason = (reason: string, row: number) => lines.find((l) => l.reason === reason && l.row.rental_id === String(rows[row].rental_id))!.row;
    expect(byReason('rent_end_infinite', 1).rent_end).toBe('infinity');
    expect(byReason('rent_end_infinite', 2).rent_end).toBe('-infinity');
    expect(byReason('rent_start_infinite', 3).rent_start).toBe('-infinity');
  });
});

describe('the quality measures of cast rows', () => {
  it('counts an end before its start whatever the gap, across the 32-bit halves of the microseconds', () => {
    // Prepare: starts and ends (µs) on both sides of 1970 and of a 2^32 boundary
    const boundary = 405_315n * 2n ** 32n;
    const pairs: [bigint, bigint, boolean][] = [
      [T0, T0, false],
      [T0, T0 - 1n, true],
      [T0, T0 - 3n * 3_600_000_000n, true],
      [boundary + 10n, boundary - 10n, true],
      [boundary - 10n, boundary + 10n, false],
      [boundary + 2n ** 31n + 10n, boundary + 5n, true],
      [boundary + 5n, boundary + 2n ** 31n + 10n, false],
      [-5n, -6n, true],
      [-(2n ** 32n) - 1n, 2n ** 32n, false],
      [2n ** 32n, -(2n ** 32n) - 1n, true],
    ];
    const counted = (start: bigint, end: bigint) => {
      const { batch } = castToLake(
        RENTALS,
        stagedBatch([rental(0, '1.00', { rent_start: start, rent_end: end })]),
        new LineageColumns(RUN_ID, EXTRACTED_AT_MICROS),
      );
      const metrics = new MetricsCollector(RENTALS);
      metrics.addRows(batch);
      return metrics.finish().negativeDurations === 1;
    };

    // Act
    const negatives = pairs.map(([start, end]) => counted(start, end));

    // Assess
    expect(negatives).toEqual(pairs.map(([, , negative]) => negative));
  });

  it('writes the raw row in the quarantine line: ids, text and timestamps to the microsecond', () => {
    // Prepare
    const row = rental(0, 'N/A', {
      rent_start: -1_500n,
      rent_end: T0 + 123_456n,
      updated_at: 2n ** 32n + 7n,
      end_station: null,
      start_station: 'Gare du Nord – quai 3',
    });
    const raw = stagedBatch([row]);
    const { rejected } = castToLake(RENTALS, raw, new LineageColumns(RUN_ID, EXTRACTED_AT_MICROS));

    // Act
    const [line] = quarantineLines(RENTALS, raw, rejected, RUN_ID, '2025-03-01').trimEnd().split('\n');

    // Assess
    expect(JSON.parse(line)).toEqual({
      reason: 'rent_cost_not_numeric',
      column: 'rent_cost',
      run_id: RUN_ID,
      date: '2025-03-01',
      row: {
        rental_id: '5000000000',
        user_id: '100',
        bike_id: '200',
        rent_start: '1969-12-31T23:59:59.998500Z',
        rent_end: '2025-03-01T00:00:00.123456Z',
        start_station: 'Gare du Nord – quai 3',
        end_station: null,
        rent_cost: 'N/A',
        updated_at: '1970-01-01T01:11:34.967303Z',
      },
    });
  });
});

describe('transformDay of rentals', () => {
  it('measures the negative costs and durations of the rows it writes', async () => {
    // Prepare
    const lakeDir = await mkdtemp(join(tmpdir(), 'transform-cast-'));
    const store = new FsStore(parseLakeUri(lakeDir));
    const runId = newRunId();
    const costs = ['12.50', '-2.50', null, 'N/A', '-0.01', '-7'];
    const rows = costs.map((cost, i) => rental(i, cost, i === 5 ? { rent_end: T0 } : {}));
    const key = stagingKey(runId, 'rentals');
    const body = tableToIPC(new Table([stagedBatch(rows)]), 'stream');
    await store.putObject(key, body);

    try {
      // Act
      const written = await transformDay({
        store,
        day: parseDay('2025-03-01'),
        extract: {
          runId,
          hours: { from: 0, to: 24 },
          snapshotAt: '2025-03-02T00:00:00.000Z',
          staging: { rentals: { key, rows: rows.length, bytes: body.byteLength } },
        },
        timeZone: 'UTC',
        rowsPerFile: 1_000,
        rowGroupRows: 1_000,
      });

      // Assess
      expect(written.metrics).toMatchObject({ rows: 6, negativeCosts: 3, negativeDurations: 1, quarantined: 1, rejectReasons: { rent_cost_not_numeric: 1 } });
      expect(written.metrics.nullCounts).toMatchObject({ rent_cost: 2, rent_end: 0 });
    } finally {
      await rm(lakeDir, { recursive: true, force: true });
    }
  });
});

describe('isoMicros', () => {
  it.each([
    [1_740_787_201_123_456n, '2025-03-01T00:00:01.123456Z'],
    [1_740_787_201_000_001n, '2025-03-01T00:00:01.000001Z'],
    [0n, '1970-01-01T00:00:00.000000Z'],
    [-1n, '1969-12-31T23:59:59.999999Z'],
    [-1_000n, '1969-12-31T23:59:59.999000Z'],
    [-1_500n, '1969-12-31T23:59:59.998500Z'],
    [BigInt(Date.UTC(1969, 6, 20, 20, 17, 40, 123)) * 1000n + 456n, '1969-07-20T20:17:40.123456Z'],
  ])('writes %s µs as %s, given as a BigInt or as a number', (micros, iso) => {
    // Act
    const written = [isoMicros(micros), isoMicros(Number(micros))];

    // Assess
    expect(written).toEqual([iso, iso]);
  });
});
