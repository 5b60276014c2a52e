/**
 * Parquet in and out of the lake. Writing: apache-arrow batches handed to parquet-wasm (ZSTD),
 * streamed row group by row group so memory does not grow with the file. Reading footers:
 * hyparquet over ranged reads, so validation never downloads data pages.
 */
import { Readable } from 'node:stream';
import { DataType, RecordBatch as ArrowBatch, Table as ArrowTable, tableToIPC, type Schema } from 'apache-arrow';
import { parquetMetadataAsync, type FileMetaData } from 'hyparquet';
import * as wasm from 'parquet-wasm';
import type { ObjectStore } from './lake/store.js';

export const PARQUET_CONTENT_TYPE = 'application/vnd.apache.parquet';
const CREATED_BY = 'pg-lake-etl (parquet-wasm 0.8)';

export interface ParquetWriteOptions {
  readonly rowGroupRows: number;
  /** Stored in the file footer's key-value metadata (run id, schema fingerprint). */
  readonly metadata?: Record<string, string>;
}

function writerProperties(options: ParquetWriteOptions): wasm.WriterProperties {
  return new wasm.WriterPropertiesBuilder()
    .setCompression(wasm.Compression.ZSTD)
    .setMaxRowGroupSize(options.rowGroupRows)
    .setCreatedBy(CREATED_BY)
    .setKeyValueMetadata(new Map(Object.entries(options.metadata ?? {})))
    .build();
}

/** Moves one apache-arrow batch into wasm memory (via the Arrow IPC stream format). */
function toWasmBatch(batch: ArrowBatch): wasm.RecordBatch {
  const table = wasm.Table.fromIPCStream(tableToIPC(new ArrowTable([batch]), 'stream'));
  const [wasmBatch] = table.recordBatches();
  return wasmBatch;
}

/**
 * Serialises `batches` as one Parquet file, as a byte stream produced while the batches arrive.
 * The caller counts the rows it hands in: parquet-wasm does not report errors after the first
 * batch, so the validator checks the footer against that count.
 */
export async function parquetStream(batches: AsyncIterable<ArrowBatch>, options: ParquetWriteOptions): Promise<Readable> {
  const iterator = batches[Symbol.asyncIterator]();
  const input = new ReadableStream<wasm.RecordBatch>({
    async pull(controller) {
      const next = await iterator.next();
      if (next.done) controller.close();
      else controller.enqueue(toWasmBatch(next.value));
    },
    async cancel() {
      await iterator.return?.();
    },
  });
  const output = await wasm.transformParquetStream(input, writerProperties(options));
  return Readable.fromWeb(output as import('node:stream/web').ReadableStream<Uint8Array>);
}

/** Writes a whole in-memory table as one Parquet file (small tables: snapshots, tests). */
export function parquetBytes(schema: Schema, batches: ArrowBatch[], options: ParquetWriteOptions): Uint8Array {
  const table = wasm.Table.fromIPCStream(tableToIPC(new ArrowTable(schema, batches), 'stream'));
  return wasm.writeParquet(table, writerProperties(options));
}

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
    else if (DataType.isDecimal(type)) physical = `${type.precision <= 9 ? 'INT32' : type.precision <= 18 ? 'INT64' : 'FIXED_LEN_BYTE_ARRAY'}/DECIMAL(${type.precision},${type.scale})`;
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
