/**
 * Reading a few columns of a Parquet object in the lake: hyparquet over ranged reads, so only the
 * footer and the chunks of the columns asked for travel, with the ZSTD pages the writer makes
 * decompressed by Node's own zlib. Decimals come back as numbers, 64-bit integers as bigints.
 */
import { zstdDecompressSync } from 'node:zlib';
import { parquetMetadataAsync, parquetReadObjects, type AsyncBuffer, type ParquetParsers } from 'hyparquet';
import type { ObjectStore } from '../lake/store.js';

const compressors = {
  ZSTD: (input: Uint8Array, outputLength: number): Uint8Array => zstdDecompressSync(input, { maxOutputLength: Math.max(outputLength, 1) }),
};

/** The object `key` of `size` bytes as hyparquet reads it: a range at a time. */
function objectBuffer(store: ObjectStore, key: string, size: number): AsyncBuffer {
  return {
    byteLength: size,
    slice: async (start, end) => {
      const bytes = await store.readRange(key, start, end ?? size);
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    },
  };
}

/** The rows of `columns` of the Parquet object `key` (`size` bytes long), one object per row. */
export async function readParquetColumns(store: ObjectStore, key: string, size: number, columns: readonly string[]): Promise<Record<string, unknown>[]> {
  return parquetReadObjects({ file: objectBuffer(store, key, size), columns: [...columns], compressors });
}

/**
 * The rows of `columns` of the Parquet object `key`, one row group at a time (memory bounded by a
 * row group, whatever the file's size), with `parsers` over hyparquet's defaults (timestamps as
 * raw microseconds, say).
 */
export async function* readParquetRowGroups(
  store: ObjectStore,
  key: string,
  size: number,
  columns: readonly string[],
  parsers: Partial<ParquetParsers> = {},
): AsyncGenerator<Record<string, unknown>[]> {
  const file = objectBuffer(store, key, size);
  const metadata = await parquetMetadataAsync(file);
  let rowStart = 0;
  for (const group of metadata.row_groups) {
    const rowEnd = rowStart + Number(group.num_rows);
    yield await parquetReadObjects({ file, metadata, columns: [...columns], compressors, parsers, rowStart, rowEnd });
    rowStart = rowEnd;
  }
}
