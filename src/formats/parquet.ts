/**
 * Writing Parquet: apache-arrow batches handed to parquet-wasm (ZSTD), streamed row group by row
 * group so memory does not grow with the file. Reading footers is `parquet-footer.ts`'s job (so the
 * validate function does not carry the 5 MB WebAssembly writer).
 */
import { Readable } from 'node:stream';
import { type RecordBatch as ArrowBatch, Table as ArrowTable, tableToIPC, type Schema } from 'apache-arrow';
import * as wasm from 'parquet-wasm';

export const PARQUET_CONTENT_TYPE = 'application/vnd.apache.parquet';
export const CREATED_BY = 'pg-lake-etl (parquet-wasm 0.8)';

export interface ParquetWriteOptions {
  readonly rowGroupRows: number;
  /** Stored in the file footer's key-value metadata (run id, schema fingerprint). */
  readonly metadata?: Record<string, string>;
  /**
   * Columns written without dictionary encoding: ids and timestamps are nearly unique, so the
   * writer's dictionary attempt costs time and falls back anyway.
   */
  readonly plainColumns?: readonly string[];
}

function writerProperties(options: ParquetWriteOptions): wasm.WriterProperties {
  let builder = new wasm.WriterPropertiesBuilder()
    .setCompression(wasm.Compression.ZSTD)
    .setMaxRowGroupSize(options.rowGroupRows)
    .setCreatedBy(CREATED_BY)
    .setKeyValueMetadata(new Map(Object.entries(options.metadata ?? {})));
  for (const column of options.plainColumns ?? []) builder = builder.setColumnDictionaryEnabled(column, false);
  return builder.build();
}

/**
 * Moves one apache-arrow batch into wasm memory (via the Arrow IPC stream format). The batch
 * shares its buffers with the wasm table it came from, so the table is freed at once: left to
 * the garbage collector's finalizers, the batches of a day pile up in wasm memory, which never
 * shrinks (42 -> 25 MB at 1M rows, 56 -> 29 MB at 4M).
 */
function toWasmBatch(batch: ArrowBatch): wasm.RecordBatch {
  const table = wasm.Table.fromIPCStream(tableToIPC(new ArrowTable([batch]), 'stream'));
  try {
    const [wasmBatch] = table.recordBatches();
    return wasmBatch;
  } finally {
    table.free();
  }
}

/** Makes one Parquet file's bytes of a stream of batches: `parquetStream` on this thread, or `ParquetThreads.encode` (local runs). */
export type ParquetEncoder = (batches: AsyncIterable<ArrowBatch>, options: ParquetWriteOptions) => Promise<Readable>;

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
