/**
 * Reading a Parquet object of the lake one row group at a time, as apache-arrow batches: parquet-wasm
 * over ranged reads of the store (a Blob-shaped view of the object), so only the footer and the row
 * group asked for travel and memory stays about one row group, whatever the file's size. Dictionary
 * columns come back as the plain strings the lake schema declares, so a batch read can be written
 * again as it is (compaction) or its columns read as typed arrays (the published keys of an append).
 */
import { type Data, makeData, RecordBatch, Schema, Field, Struct, tableFromIPC, Utf8, DataType, type Dictionary } from 'apache-arrow';
import * as wasm from 'parquet-wasm';
import type { ObjectStore } from '../lake/store.js';

/** Rows per batch the reader hands out (a row group comes as several). */
const READ_BATCH_ROWS = 65_536;

/** The object as parquet-wasm reads a Blob: `size`, and `slice(start, end).arrayBuffer()` as ranged reads. */
function objectBlob(store: ObjectStore, key: string, size: number): Blob {
  const view = (start: number, end: number) => ({
    size: end - start,
    arrayBuffer: async () => {
      const bytes = await store.readRange(key, start, end);
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    },
  });
  return { size, slice: (start = 0, end = size) => view(start, Math.min(end, size)) } as unknown as Blob;
}

/** A dictionary-encoded string column as plain UTF-8 (the dictionary's bytes copied per row). */
function plainStrings(data: Data<Dictionary<Utf8>>): Data<Utf8> {
  const dictionary = data.dictionary!.data[0] as Data<Utf8>;
  const indices = data.values as Int32Array | Uint32Array | Int16Array | Int8Array;
  const dictOffsets = dictionary.valueOffsets;
  const dictBytes = dictionary.values;
  const length = data.length;
  const offsets = new Int32Array(length + 1);
  const nullBitmap = data.nullCount > 0 ? data.nullBitmap : undefined;
  const isValid = (row: number) => !nullBitmap || ((nullBitmap[(data.offset + row) >> 3] >> ((data.offset + row) & 7)) & 1) === 1;
  let total = 0;
  for (let row = 0; row < length; row++) {
    if (isValid(row)) {
      const i = indices[data.offset + row];
      total += dictOffsets[i + 1] - dictOffsets[i];
    }
    offsets[row + 1] = total;
  }
  const values = new Uint8Array(total);
  for (let row = 0; row < length; row++) {
    if (offsets[row + 1] === offsets[row]) continue;
    const i = indices[data.offset + row];
    values.set(dictBytes.subarray(dictOffsets[i], dictOffsets[i + 1]), offsets[row]);
  }
  const bitmap = nullBitmap && data.offset === 0 ? nullBitmap : undefined;
  if (nullBitmap && !bitmap) {
    // A sliced batch: the bitmap is rebuilt from row 0.
    const rebuilt = new Uint8Array((length + 7) >> 3);
    for (let row = 0; row < length; row++) if (isValid(row)) rebuilt[row >> 3] |= 1 << (row & 7);
    return makeData({ type: new Utf8(), length, nullCount: data.nullCount, nullBitmap: rebuilt, valueOffsets: offsets, data: values });
  }
  return makeData({ type: new Utf8(), length, nullCount: data.nullCount, nullBitmap: bitmap, valueOffsets: offsets, data: values });
}

/** `batch` with its dictionary string columns made plain. */
function withPlainStrings(batch: RecordBatch): RecordBatch {
  const fields = batch.schema.fields;
  if (!fields.some((f) => DataType.isDictionary(f.type))) return batch;
  const children = fields.map((f, i) => {
    const data = batch.data.children[i];
    return DataType.isDictionary(f.type) ? plainStrings(data as Data<Dictionary<Utf8>>) : data;
  });
  const plain = fields.map((f, i) => new Field(f.name, children[i].type, f.nullable, f.metadata));
  const schema = new Schema(plain, batch.schema.metadata);
  return new RecordBatch(schema, makeData({ type: new Struct(plain), length: batch.numRows, children }));
}

/** The row groups of a Parquet object and their rows. */
export interface ParquetRowGroups {
  readonly rowGroups: number;
  readonly rows: number;
  /** The batches of every row group in order, one row group read at a time. */
  batches(columns?: readonly string[]): AsyncGenerator<RecordBatch>;
}

/** Opens the Parquet object `key` (`size` bytes) for reading row group by row group (footer read now). */
export async function openRowGroups(store: ObjectStore, key: string, size: number): Promise<ParquetRowGroups> {
  const file = await wasm.ParquetFile.fromFile(objectBlob(store, key, size));
  const metadata = file.metadata();
  const fileMetadata = metadata.fileMetadata();
  const rowGroups = metadata.numRowGroups();
  const rows = Number(fileMetadata.numRows());
  fileMetadata.free();
  metadata.free();
  return {
    rowGroups,
    rows,
    async *batches(columns) {
      try {
        for (let group = 0; group < rowGroups; group++) {
          const table = await file.read({ rowGroups: [group], batchSize: READ_BATCH_ROWS, ...(columns ? { columns: [...columns] } : {}) });
          const ipc = table.intoIPCStream();
          for (const batch of tableFromIPC(ipc).batches) yield withPlainStrings(batch);
        }
      } finally {
        file.free();
      }
    },
  };
}
