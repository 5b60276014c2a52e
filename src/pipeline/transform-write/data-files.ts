/**
 * File splitting: a stream of lake batches written as Parquet files of at most `rowsPerFile` rows
 * each, a batch that straddles two files sliced between them; an empty range still writes one
 * file holding the schema.
 */
import type { RecordBatch, Schema } from 'apache-arrow';
import type { ObjectStore } from '../../lake/store.js';
import { PARQUET_CONTENT_TYPE, type ParquetEncoder, parquetBytes, parquetStream, type ParquetWriteOptions } from '../../formats/parquet.js';
import type { WrittenFile } from '../contracts.js';

/** Hands out batches of at most `limit` rows, slicing a larger batch and keeping the rest. */
class BatchCursor {
  private leftover: RecordBatch | undefined;
  private done = false;

  constructor(private readonly source: AsyncIterator<RecordBatch>) {}

  async hasMore(): Promise<boolean> {
    if (this.leftover) return true;
    if (this.done) return false;
    const next = await this.source.next();
    if (next.done) {
      this.done = true;
      return false;
    }
    this.leftover = next.value;
    return true;
  }

  async take(limit: number): Promise<RecordBatch | undefined> {
    if (!(await this.hasMore())) return undefined;
    const batch = this.leftover!;
    if (batch.numRows <= limit) {
      this.leftover = undefined;
      return batch;
    }
    this.leftover = batch.slice(limit);
    return batch.slice(0, limit);
  }
}

/**
 * Writes one table's batches as Parquet files of at most `rowsPerFile` rows each, appending each
 * finished file to `files` (so a caller that fails half-way knows what to remove).
 */
export async function writeFiles(
  store: ObjectStore,
  batches: AsyncIterable<RecordBatch>,
  keyOf: (index: number) => string,
  options: ParquetWriteOptions & { rowsPerFile: number; emptySchema: Schema; encode?: ParquetEncoder },
  files: WrittenFile[] = [],
): Promise<WrittenFile[]> {
  const cursor = new BatchCursor(batches[Symbol.asyncIterator]());
  while (await cursor.hasMore()) {
    let rows = 0;
    async function* fileBatches(): AsyncGenerator<RecordBatch> {
      while (rows < options.rowsPerFile) {
        const batch = await cursor.take(options.rowsPerFile - rows);
        if (!batch) return;
        rows += batch.numRows;
        yield batch;
      }
    }
    const key = keyOf(files.length);
    const { bytes } = await store.upload(key, await (options.encode ?? parquetStream)(fileBatches(), options), PARQUET_CONTENT_TYPE);
    files.push({ key, rows, bytes });
  }
  if (files.length === 0) {
    // An empty day is still a partition: one file with the schema and no rows.
    const key = keyOf(0);
    const body = parquetBytes(options.emptySchema, [], options);
    await store.putObject(key, body, { contentType: PARQUET_CONTENT_TYPE });
    files.push({ key, rows: 0, bytes: body.byteLength });
  }
  return files;
}
