/**
 * The staging format: Arrow IPC streams of the raw source rows, written by extract and read back by
 * transform-write. On S3 the stream is compressed with zstd (level 1), which the key says
 * (`.arrows.zst`): a million rentals stage as 24 MB instead of 97 MB, and the round trip through
 * an S3 endpoint took 1.9 s instead of 3.8 s; on a local directory compressing costs more than it
 * saves (1.3 s instead of 0.6 s), so a directory lake stages raw `.arrows`.
 */
import { Readable } from 'node:stream';
import { constants, createZstdCompress, createZstdDecompress } from 'node:zlib';
import { RecordBatchReader, RecordBatchStreamWriter, type RecordBatch, type Schema } from 'apache-arrow';
import type { LakeLocation } from '../core/config.js';

export type StagingEncoding = 'arrows' | 'arrows.zst';

/** How a lake stages: compressed where the bytes cross a network. */
export function stagingEncodingFor(location: LakeLocation): StagingEncoding {
  return location.kind === 's3' ? 'arrows.zst' : 'arrows';
}

export const STAGED_CONTENT_TYPE: Record<StagingEncoding, string> = {
  arrows: 'application/vnd.apache.arrow.stream',
  'arrows.zst': 'application/zstd',
};

/** An Arrow IPC stream writer that hands out its bytes as they are produced. */
class IpcChunkWriter extends RecordBatchStreamWriter {
  private chunks: Uint8Array[] = [];

  protected override _write(chunk: ArrayBufferView): this {
    if (this._started && chunk.byteLength > 0) {
      this.chunks.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      this._position += chunk.byteLength;
    }
    return this;
  }

  take(): Uint8Array[] {
    const out = this.chunks;
    this.chunks = [];
    return out;
  }
}

/** Encodes record batches as an Arrow IPC stream, yielding bytes batch by batch. */
export async function* arrowIpcStream(schema: Schema, batches: AsyncIterable<RecordBatch>): AsyncGenerator<Uint8Array> {
  const writer = new IpcChunkWriter();
  writer.reset(undefined, schema);
  yield* writer.take();
  for await (const batch of batches) {
    writer.write(batch);
    yield* writer.take();
  }
  writer.finish();
  yield* writer.take();
}

/**
 * One batch as a whole Arrow IPC stream (schema, batch, end), written into `into` when it is big
 * enough, else into a new buffer with room to spare; returns the buffer and the stream's length.
 * The same bytes as `tableToIPC`, without a new buffer per batch when the caller reuses them.
 */
export function batchIpcInto(batch: RecordBatch, into: ArrayBuffer | undefined): { buffer: ArrayBuffer; length: number } {
  const writer = new IpcChunkWriter();
  writer.reset(undefined, batch.schema);
  writer.write(batch);
  writer.finish();
  const chunks = writer.take();
  const length = chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0);
  const buffer = into && into.byteLength >= length ? into : new ArrayBuffer(Math.ceil(length * 1.25));
  const bytes = new Uint8Array(buffer);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return { buffer, length };
}

/** The bytes to store for an IPC stream in `encoding`. */
export function encodeStaged(ipc: AsyncIterable<Uint8Array>, encoding: StagingEncoding): Readable {
  // A byte stream that reads ahead at most one message: Readable.from's default (object mode,
  // 16 chunks) would hold up to 16 encoded batches, some 50 MB, while the upload catches up.
  const raw = Readable.from(ipc, { objectMode: false, highWaterMark: 1 });
  if (encoding === 'arrows') return raw;
  const zstd = createZstdCompress({ params: { [constants.ZSTD_c_compressionLevel]: 1 } });
  raw.on('error', (error) => zstd.destroy(error));
  return raw.pipe(zstd);
}

/** The record batches of a staged object, its encoding read from its key. */
export async function* stagedRecordBatches(bytes: AsyncIterable<Uint8Array>, key: string): AsyncGenerator<RecordBatch> {
  let source: AsyncIterable<Uint8Array> = bytes;
  if (key.endsWith('.zst')) {
    const zstd = createZstdDecompress();
    const input = Readable.from(bytes);
    input.on('error', (error) => zstd.destroy(error));
    source = input.pipe(zstd);
  }
  const reader = await RecordBatchReader.from(source);
  for await (const batch of reader) if (batch.numRows > 0) yield batch;
}
