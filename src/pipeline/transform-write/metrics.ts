/**
 * The quality measures of a range, counted batch by batch as its table declares them: rows, NULLs
 * per column, negative durations and costs, rows quarantined and left out (with their reasons),
 * and for an append the rows already published. The validate stage checks them.
 */
import { DataType, type Data, type RecordBatch } from 'apache-arrow';
import { lakeSchema } from '../../core/schema.js';
import type { FactTable } from '../../core/tables.js';
import { validity } from '../../formats/arrow-rows.js';
import type { RangeMetrics } from '../contracts.js';
import type { CastRejection } from './cast.js';

/** Rows whose `end` is before their `start`, both set. */
function countEndsBeforeStarts(start: Data, end: Data): number {
  // Compared as two 32-bit words (high signed, low unsigned; little-endian): reading a
  // BigInt64Array makes a BigInt on the heap each time.
  const starts = wordsOf(start.values as BigInt64Array);
  const ends = wordsOf(end.values as BigInt64Array);
  const startValid = validity(start);
  const endValid = validity(end);
  let n = 0;
  for (let i = 0; i < end.length; i++) {
    if (!endValid(i) || !startValid(i)) continue;
    const endHi = ends[2 * i + 1];
    const startHi = starts[2 * i + 1];
    if (endHi < startHi || (endHi === startHi && ends[2 * i] >>> 0 < starts[2 * i] >>> 0)) n++;
  }
  return n;
}

/** 64-bit values as their 32-bit words. */
const wordsOf = (values: BigInt64Array): Int32Array => new Int32Array(values.buffer, values.byteOffset, values.length * 2);

/** Values below zero of an integer or decimal column. */
function countNegatives(data: Data): number {
  const valid = validity(data);
  let n = 0;
  if (DataType.isDecimal(data.type)) {
    // Two's complement, least significant word first: the sign is the top bit of a value's last word.
    const words = data.values as Uint32Array;
    const stride = data.type.bitWidth / 32;
    for (let i = 0, top = stride - 1; i < data.length; i++, top += stride) if (valid(i) && words[top] >= 0x8000_0000) n++;
    return n;
  }
  const values = data.values as BigInt64Array | Int32Array;
  for (let i = 0; i < data.length; i++) if (valid(i) && values[i] < 0) n++;
  return n;
}

/**
 * Rows of an interval still open: `end` NULL and `start` at or after `since` (microseconds); their
 * NULLs are counted per column in `nullCounts`.
 */
function countOpen(batch: RecordBatch, start: string, end: string, since: bigint, nullable: readonly string[], nullCounts: Record<string, number>): number {
  const endData = batch.getChild(end)!.data[0];
  if (endData.nullCount === 0) return 0;
  const starts = batch.getChild(start)!.data[0].values as BigInt64Array;
  const endValid = validity(endData);
  const columns = nullable.map((name) => ({ name, valid: validity(batch.getChild(name)!.data[0]) }));
  let n = 0;
  for (let row = 0; row < batch.numRows; row++) {
    if (endValid(row) || starts[row] < since) continue;
    n++;
    for (const column of columns) if (!column.valid(row)) nullCounts[column.name] += 1;
  }
  return n;
}

/** Collects the day's quality measures batch by batch, as `table` declares them. */
export class MetricsCollector {
  private rows = 0;
  private readonly nullCounts: Record<string, number>;
  private negativeDurations = 0;
  private negativeCosts = 0;
  private quarantined = 0;
  private excluded = 0;
  private readonly rejectReasons: Record<string, number> = {};
  private alreadyPublished = 0;
  private changedSincePublish = 0;
  /** Keys found more than once in the published partition an append builds on. */
  publishedDuplicateIds = 0;
  private open = 0;
  private readonly openNullCounts: Record<string, number>;

  /**
   * @param openSince On a day still in progress, the earliest start (microseconds since the epoch)
   *   of a rental counted as open rather than as an anomaly when its end is NULL; undefined: none is.
   */
  constructor(
    private readonly table: FactTable,
    private readonly openSince?: bigint,
  ) {
    const fields = lakeSchema(table).fields;
    this.nullCounts = Object.fromEntries(fields.map((f) => [f.name, 0]));
    this.openNullCounts = Object.fromEntries(fields.filter((f) => f.nullable).map((f) => [f.name, 0]));
  }

  /** Counts the rejections of one staged batch. */
  addRejections(rejected: readonly CastRejection[], excluded: readonly CastRejection[]): void {
    this.quarantined += rejected.length + excluded.length;
    this.excluded += excluded.length;
    for (const r of [...rejected, ...excluded]) this.rejectReasons[r.reason] = (this.rejectReasons[r.reason] ?? 0) + 1;
  }

  /** Measures rows written to the lake. */
  addRows(batch: RecordBatch): void {
    for (const field of batch.schema.fields) this.nullCounts[field.name] += batch.getChild(field.name)!.nullCount;
    const { negativeInterval, negativeValue } = this.table.measures;
    if (negativeInterval) {
      this.negativeDurations += countEndsBeforeStarts(batch.getChild(negativeInterval.start)!.data[0], batch.getChild(negativeInterval.end)!.data[0]);
    }
    if (negativeValue) this.negativeCosts += countNegatives(batch.getChild(negativeValue.column)!.data[0]);
    if (negativeInterval && this.openSince !== undefined) {
      this.open += countOpen(batch, negativeInterval.start, negativeInterval.end, this.openSince, Object.keys(this.openNullCounts), this.openNullCounts);
    }
    this.rows += batch.numRows;
  }

  /** Rows left out of an append: already published (`changed`: of those, updated in the source since). */
  addAlreadyPublished(rows: number, changed: number): void {
    this.alreadyPublished += rows;
    this.changedSincePublish += changed;
  }

  /** The measures of every batch counted so far. */
  finish(): RangeMetrics {
    return {
      alreadyPublished: this.alreadyPublished,
      changedSincePublish: this.changedSincePublish,
      publishedDuplicateIds: this.publishedDuplicateIds,
      rows: this.rows,
      nullCounts: this.nullCounts,
      negativeDurations: this.negativeDurations,
      negativeCosts: this.negativeCosts,
      quarantined: this.quarantined,
      excluded: this.excluded,
      rejectReasons: this.rejectReasons,
      ...(this.openSince !== undefined ? { open: this.open, openNullCounts: this.openNullCounts } : {}),
    };
  }
}
