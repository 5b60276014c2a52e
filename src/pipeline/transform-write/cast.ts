/**
 * The cast of a staged batch to its table's lake schema: columns without a cast pass through, a
 * decimal cast reads text (`src/formats/decimal.ts`), the lineage columns are added. A value that
 * cannot be cast (a decimal that does not read as one, an infinite timestamp) becomes NULL and its
 * row goes to quarantine with the reason; a row with a NULL or an infinite timestamp in a column
 * the lake requires is left out, and quarantined too.
 */
import { type Data, type DataType, type Decimal, makeData, RecordBatch, Struct, type Timestamp, type Utf8 } from 'apache-arrow';
import { StagingError } from '../../core/errors.js';
import { lakeSchema } from '../../core/schema.js';
import type { DecimalCast, DecimalFault, FactTable } from '../../core/tables.js';
import { validity } from '../../formats/arrow-rows.js';
import { parseDecimal, writeDecimal128 } from '../../formats/decimal.js';
import { stagedInfinity } from '../../source/copy-binary.js';
import type { LineageColumns } from './lineage.js';

/** A NULL in a column the lake requires (the key, the partition column, ...): the row is left out. */
export const REQUIRED_VALUE_NULL = 'required_value_null';

/** A timestamp column's suffix for `infinity` or `-infinity`, which the lake's timestamps cannot hold. */
export const INFINITE = 'infinite';

/**
 * Why a raw value could not be cast (`<column>_<fault>`, `rent_cost_not_numeric` say; a timestamp's
 * `rent_end_infinite`), or why a row was left out; stored with the raw row in quarantine.
 */
export type RejectReason = `${string}_${DecimalFault}` | `${string}_${typeof INFINITE}` | typeof REQUIRED_VALUE_NULL;

/** A row of a staged batch the cast rejected (a value it could not cast) or left out. */
export interface CastRejection {
  readonly row: number;
  readonly reason: RejectReason;
  /** The column at fault. */
  readonly column: string;
}

/** The single data chunk of staged column `name`; a batch without it is no staged batch of `table`. */
function stagedColumn(table: FactTable, raw: RecordBatch, name: string): Data {
  const child = raw.getChild(name);
  if (child?.data.length !== 1) throw new StagingError(`staged ${table.name} batch lacks column ${name}`);
  return child.data[0];
}

/**
 * Tells the rows of staged timestamps `values` that hold Postgres's `infinity` or `-infinity`
 * (`STAGED_INFINITY`, `STAGED_MINUS_INFINITY`), read as two 32-bit words: reading a BigInt64Array
 * makes a BigInt on the heap each time (113 MB of garbage over a 1,000,000-row day).
 */
function infinityTest(values: BigInt64Array): (row: number) => boolean {
  const words = new Int32Array(values.buffer, values.byteOffset, values.length * 2);
  return (row) => stagedInfinity(words[row * 2 + 1], words[row * 2]) !== undefined;
}

/**
 * Rows of `raw` the lake cannot hold: a NULL in a column the lake declares NOT NULL, or an infinite
 * timestamp there (`<column>_infinite`). One entry per row, the first column at fault.
 */
function rowsMissingRequiredValues(table: FactTable, raw: RecordBatch): CastRejection[] {
  const out: CastRejection[] = [];
  let seen: Uint8Array | undefined;
  for (const column of table.columns) {
    if (column.nullable) continue;
    const data = stagedColumn(table, raw, column.name);
    const infinite = column.kind === 'timestamptz' ? infinityTest(data.values as BigInt64Array) : undefined;
    if (data.nullCount === 0 && !infinite) continue;
    const valid = validity(data);
    for (let row = 0; row < raw.numRows; row++) {
      const reason = !valid(row) ? REQUIRED_VALUE_NULL : infinite?.(row) ? (`${column.name}_${INFINITE}` as const) : undefined;
      if (reason === undefined || seen?.[row] === 1) continue;
      seen ??= new Uint8Array(raw.numRows);
      seen[row] = 1;
      out.push({ row, reason, column: column.name });
    }
  }
  return out.sort((a, b) => a.row - b.row);
}

/**
 * A nullable timestamp column with its infinite values made NULL; their rows (unless `isExcluded`
 * leaves them out anyway) are added to `rejected` as `<column>_infinite`. The column as it is when it has none.
 */
function castTimestampColumn(column: string, data: Data, isExcluded: Uint8Array, rejected: CastRejection[]): Data {
  const values = data.values as BigInt64Array;
  const infinite = infinityTest(values);
  const valid = validity(data);
  let bitmap: Uint8Array | undefined;
  let nullCount = data.nullCount;
  for (let row = 0; row < data.length; row++) {
    if (!valid(row) || !infinite(row)) continue;
    if (!bitmap) {
      // Copy the validity on the first infinite value: most batches have none and are reused as they are.
      bitmap = new Uint8Array((data.length + 7) >> 3);
      for (let r = 0; r < data.length; r++) if (valid(r)) bitmap[r >> 3] |= 1 << (r & 7);
    }
    bitmap[row >> 3] &= ~(1 << (row & 7));
    nullCount++;
    if (isExcluded.length === 0 || isExcluded[row] === 0) rejected.push({ row, reason: `${column}_${INFINITE}`, column });
  }
  if (!bitmap) return data;
  return makeData({ type: data.type as Timestamp, length: data.length, nullCount, nullBitmap: bitmap, data: values.subarray(0, data.length) });
}

/**
 * Casts a staged text column to its decimal: a value that does not read as one becomes NULL, and
 * its row (unless `isExcluded` leaves it out anyway) is added to `rejected` with the reason
 * `<column>_<fault>`.
 */
function castDecimalColumn(column: string, cast: DecimalCast, data: Data<Utf8>, type: DataType, isExcluded: Uint8Array, rejected: CastRejection[]): Data {
  const length = data.length;
  const scale = cast.scale;
  const integerDigits = cast.precision - scale;
  const reasons: Record<DecimalFault, RejectReason> = {
    blank: `${column}_blank`,
    not_numeric: `${column}_not_numeric`,
    out_of_range: `${column}_out_of_range`,
    too_precise: `${column}_too_precise`,
  };
  const offsets = data.valueOffsets;
  const values = data.values;
  const words = new Uint32Array(length * 4);
  const bitmap = new Uint8Array((length + 7) >> 3);
  let nullCount = 0;
  const valid = validity(data);
  for (let row = 0; row < length; row++) {
    if (!valid(row)) {
      nullCount++;
      continue;
    }
    const parsed = parseDecimal(values, offsets[row], offsets[row + 1], scale, integerDigits);
    if (typeof parsed === 'string') {
      if (isExcluded.length === 0 || isExcluded[row] === 0) rejected.push({ row, reason: reasons[parsed], column });
      nullCount++;
      continue;
    }
    bitmap[row >> 3] |= 1 << (row & 7);
    writeDecimal128(words, row * 4, parsed);
  }
  return makeData({ type: type as Decimal, length, nullCount, nullBitmap: nullCount > 0 ? bitmap : undefined, data: words });
}

/**
 * Casts one staged batch of `table` to its lake schema. Columns without a cast are reused as they
 * are; a value that cannot be cast becomes NULL and its row is reported for quarantine (`rejected`);
 * a row with a NULL in a required column is reported to be left out (`excluded`). `lineage` holds
 * the run's lineage columns (one object per run, owned by the caller).
 */
export function castToLake(
  table: FactTable,
  raw: RecordBatch,
  lineage: LineageColumns,
): { batch: RecordBatch; rejected: CastRejection[]; excluded: CastRejection[] } {
  const schema = lakeSchema(table);
  const length = raw.numRows;
  const excluded = rowsMissingRequiredValues(table, raw);
  const isExcluded = new Uint8Array(excluded.length > 0 ? length : 0);
  for (const e of excluded) isExcluded[e.row] = 1;
  const rejected: CastRejection[] = [];
  const sourceChildren = table.columns.map((column, i): Data => {
    const data = stagedColumn(table, raw, column.name);
    if (column.cast) return castDecimalColumn(column.name, column.cast, data as Data<Utf8>, schema.fields[i].type, isExcluded, rejected);
    return column.kind === 'timestamptz' && column.nullable ? castTimestampColumn(column.name, data, isExcluded, rejected) : data;
  });
  const lineageChildren = table.lineage.map((column, i): Data => {
    switch (column.value) {
      case 'run_id':
        return lineage.runIdColumn(length);
      case 'extracted_at':
        return lineage.extractedAtColumn(schema.fields[table.columns.length + i].type, length);
      default:
        throw new StagingError(`lineage column ${column.name}: no value ${String(column.value)}`);
    }
  });
  const children = [...sourceChildren, ...lineageChildren];
  const batch = new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length, children }));
  return { batch, rejected, excluded };
}
