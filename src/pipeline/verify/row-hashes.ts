/**
 * One 64-bit hash per row of a partitioned table's source columns, as the lake stores them, from
 * either side of `etl verify`: an Arrow batch cast for the lake (the source, through the pipeline's
 * own cast) or a row hyparquet read from a published Parquet file. Both sides write each value in
 * one canonical text (integers and timestamps in microseconds as decimal text, a decimal as its
 * unscaled integer, NULL as a byte no text holds) so equal values hash equal, whatever reader.
 * The lineage columns (run id, snapshot time) are left out: they differ by design.
 */
import { hash } from 'node:crypto';
import type { Data, RecordBatch, Vector } from 'apache-arrow';
import { StagingError } from '../../core/errors.js';
import type { FactTable, SourceColumn } from '../../core/tables.js';
import { validity } from '../../formats/arrow-rows.js';

/** A row's key and the hash of its values. */
export interface RowHash {
  readonly key: bigint;
  readonly hash: bigint;
}

const NULL = '\u0000';
const SEPARATOR = '\u001f';

/** hyparquet's parsers that keep what the canonical text needs: timestamps in microseconds, dates in days. */
export const CANONICAL_PARSERS = {
  timestampFromMicroseconds: (micros: bigint) => micros,
  timestampFromMilliseconds: (millis: bigint) => millis * 1000n,
  dateFromDays: (days: number) => days,
};

function rowHash(values: readonly string[]): bigint {
  return hash('sha1', values.join(SEPARATOR), 'buffer').readBigInt64BE(0);
}

/** The key of `table` as a bigint: `etl verify` merges on integer keys. */
export function checkIntegerKey(table: FactTable): void {
  const key = table.columns.find((c) => c.name === table.key)!;
  if (key.kind !== 'int64' && key.kind !== 'int32') throw new StagingError(`etl verify merges on an integer key; ${table.name}.${table.key} is ${key.kind}`);
}

/** A 128-bit two's-complement integer from four little-endian 32-bit words. */
function int128(words: Uint32Array, at: number): bigint {
  let value = 0n;
  for (let w = 3; w >= 0; w--) value = (value << 32n) | BigInt(words[at + w]);
  return BigInt.asIntN(128, value);
}

/** The canonical text of every row of one column of an Arrow batch cast for the lake. */
function arrowColumnTexts(column: SourceColumn, vector: Vector, rows: number): string[] {
  const texts: string[] = new Array(rows);
  let row = 0;
  for (const data of vector.data as Data[]) {
    const valid = validity(data);
    const values = data.values as ArrayLike<number | bigint>;
    for (let i = 0; i < data.length; i++, row++) {
      if (!valid(i)) texts[row] = NULL;
      else if (column.cast) texts[row] = int128(data.values as Uint32Array, (data.offset + i) * 4).toString();
      else if (column.kind === 'text') texts[row] = vector.get(row) as string;
      else if (column.kind === 'bool') texts[row] = vector.get(row) ? 't' : 'f';
      else if (column.kind === 'timestamptz' && !(values instanceof BigInt64Array)) texts[row] = String(BigInt(vector.get(row) as number) * 1000n);
      else texts[row] = String(values[data.offset + i]);
    }
  }
  return texts;
}

/** The key and hash of every row of `batch`, an Arrow batch of `table` cast for the lake (`castToLake`). */
export function arrowRowHashes(table: FactTable, batch: RecordBatch): RowHash[] {
  const columns = table.columns.map((column) => arrowColumnTexts(column, batch.getChild(column.name)!, batch.numRows));
  const keyColumn = table.columns.findIndex((c) => c.name === table.key);
  return Array.from({ length: batch.numRows }, (_, row) => ({
    key: BigInt(columns[keyColumn][row]),
    hash: rowHash(columns.map((texts) => texts[row])),
  }));
}

/** The canonical text of one value hyparquet read (with `CANONICAL_PARSERS`). */
function parquetText(column: SourceColumn, value: unknown): string {
  if (value === null || value === undefined) return NULL;
  if (column.cast) return BigInt(Math.round(Number(value) * 10 ** column.cast.scale)).toString();
  if (column.kind === 'bool') return value ? 't' : 'f';
  return String(value);
}

/** The key and hash of a row of `table` hyparquet read from a published file. */
export function parquetRowHash(table: FactTable, row: Record<string, unknown>): RowHash {
  return { key: BigInt(row[table.key] as bigint | number), hash: rowHash(table.columns.map((column) => parquetText(column, row[column.name]))) };
}
