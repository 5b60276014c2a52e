/**
 * Reading Parquet footers: hyparquet over ranged reads, so validation never downloads data pages,
 * and the Parquet columns the writer produces for an Arrow schema, to compare footers with.
 */
import { DataType, type Schema } from 'apache-arrow';
import { parquetMetadataAsync, type FileMetaData } from 'hyparquet';
import type { ObjectStore } from '../lake/store.js';

/** Reads the footer of a Parquet object with ranged reads (one 64 KB read for typical files). */
export async function readFooter(store: ObjectStore, key: string, size: number): Promise<FileMetaData> {
  return parquetMetadataAsync({
    byteLength: size,
    slice: async (start, end) => {
      const bytes = await store.readRange(key, start, end ?? size);
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    },
  });
}

/** A Parquet column as the footer declares it: `name INT64/TIMESTAMP(MICROS,UTC) REQUIRED`. */
export type ParquetColumnSignature = string;

/** The Parquet columns the writer produces for an Arrow schema (parquet-rs' Arrow mapping). */
export function expectedParquetColumns(schema: Schema): ParquetColumnSignature[] {
  return schema.fields.map((field) => {
    const type = field.type;
    let physical: string;
    if (DataType.isInt(type)) physical = type.bitWidth === 64 ? 'INT64' : 'INT32';
    else if (DataType.isBool(type)) physical = 'BOOLEAN';
    else if (DataType.isDate(type)) physical = 'INT32/DATE';
    else if (DataType.isTimestamp(type)) physical = `INT64/TIMESTAMP(MICROS,${type.timezone ? 'UTC' : 'LOCAL'})`;
    else if (DataType.isUtf8(type)) physical = 'BYTE_ARRAY/STRING';
    else if (DataType.isDecimal(type))
      physical = `${type.precision <= 9 ? 'INT32' : type.precision <= 18 ? 'INT64' : 'FIXED_LEN_BYTE_ARRAY'}/DECIMAL(${type.precision},${type.scale})`;
    else throw new Error(`no Parquet mapping for ${field.name}: ${String(type)}`);
    return `${field.name} ${physical} ${field.nullable ? 'OPTIONAL' : 'REQUIRED'}`;
  });
}

/** The columns a Parquet footer declares, in the form of `expectedParquetColumns`. */
export function footerColumns(metadata: FileMetaData): ParquetColumnSignature[] {
  return metadata.schema.slice(1).map((element) => {
    const logical = element.logical_type;
    let suffix = '';
    if (logical?.type === 'TIMESTAMP') suffix = `/TIMESTAMP(${logical.unit},${logical.isAdjustedToUTC ? 'UTC' : 'LOCAL'})`;
    else if (logical?.type === 'DECIMAL') suffix = `/DECIMAL(${logical.precision},${logical.scale})`;
    else if (logical?.type === 'STRING' || logical?.type === 'DATE') suffix = `/${logical.type}`;
    else if (logical) suffix = `/${logical.type}`;
    return `${element.name} ${element.type ?? 'GROUP'}${suffix} ${element.repetition_type ?? 'REQUIRED'}`;
  });
}

/** NULL count per column over all row groups, from the footer's statistics. */
export function footerNullCounts(metadata: FileMetaData): Record<string, number> {
  const out: Record<string, number> = {};
  for (const group of metadata.row_groups) {
    for (const column of group.columns) {
      const name = column.meta_data?.path_in_schema.join('.') ?? '';
      out[name] = (out[name] ?? 0) + Number(column.meta_data?.statistics?.null_count ?? 0);
    }
  }
  return out;
}

/**
 * The smallest and largest value of column `name` over a footer's row groups, from their
 * statistics (bigints for 64-bit integers); undefined when a row group states none.
 */
export function footerColumnRange(metadata: FileMetaData, name: string): { min: unknown; max: unknown } | undefined {
  let min: unknown;
  let max: unknown;
  for (const group of metadata.row_groups) {
    const column = group.columns.find((c) => c.meta_data?.path_in_schema.join('.') === name);
    const stats = column?.meta_data?.statistics;
    const lo = stats?.min_value ?? stats?.min;
    const hi = stats?.max_value ?? stats?.max;
    if (lo === undefined || hi === undefined || lo === null || hi === null) return undefined;
    if (min === undefined || (lo as bigint) < (min as bigint)) min = lo;
    if (max === undefined || (hi as bigint) > (max as bigint)) max = hi;
  }
  return min === undefined ? undefined : { min, max };
}
