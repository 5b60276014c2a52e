/**
 * The staging format: an Arrow IPC stream, zstd-compressed on S3 lakes, read back by the key's
 * encoding.
 */
import { Field, Int64, makeVector, RecordBatch, Schema, Table, Utf8, vectorFromArray } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { arrowIpcStream, encodeStaged, stagedRecordBatches, stagingEncodingFor } from '../../src/formats/arrow-ipc.js';
import { parseLakeUri } from '../../src/core/config.js';

const schema = new Schema([new Field('id', new Int64(), false), new Field('name', new Utf8(), true)]);

function batches(n: number): RecordBatch[] {
  const ids = BigInt64Array.from({ length: n }, (_, i) => BigInt(i));
  const names = Array.from({ length: n }, (_, i) => (i % 5 === 0 ? null : `name ${i % 7}`));
  const table = new Table({ id: makeVector(ids), name: vectorFromArray(names, new Utf8()) });
  return table.batches.map((b) => new RecordBatch(schema, b.data));
}

async function* each<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

async function bytesOf(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

describe('staged Arrow IPC', () => {
  it('stages compressed on S3 and raw in a directory', () => {
    expect(stagingEncodingFor(parseLakeUri('s3://bucket/lake'))).toBe('arrows.zst');
    expect(stagingEncodingFor(parseLakeUri('/tmp/lake'))).toBe('arrows');
  });

  it.each(['arrows', 'arrows.zst'] as const)('reads back every row it wrote as .%s', async (encoding) => {
    // Arrange
    const written = batches(20_000);

    // Act
    const stored = await bytesOf(encodeStaged(arrowIpcStream(schema, each(written)), encoding));
    const read: RecordBatch[] = [];
    for await (const batch of stagedRecordBatches(each([stored]), `_staging/run/rentals.${encoding}`)) read.push(batch);

    // Assess
    const ids = read.flatMap((b) => Array.from(b.getChild('id')!.toArray() as BigInt64Array));
    const names = read.flatMap((b) => [...b.getChild('name')!]);
    expect(ids).toEqual(written.flatMap((b) => Array.from(b.getChild('id')!.toArray() as BigInt64Array)));
    expect(names).toEqual(written.flatMap((b) => [...b.getChild('name')!]));
    if (encoding === 'arrows.zst') expect(stored.subarray(0, 4)).toEqual(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]));
  });

  it('compresses the staged stream several times over', async () => {
    // Act
    const raw = await bytesOf(encodeStaged(arrowIpcStream(schema, each(batches(50_000))), 'arrows'));
    const zst = await bytesOf(encodeStaged(arrowIpcStream(schema, each(batches(50_000))), 'arrows.zst'));

    // Assess
    expect(zst.length * 3).toBeLessThan(raw.length);
  });
});
