/**
 * Parquet encoding on a worker thread (local runs): the same bytes as on the main thread, and a
 * failure on either side ends the stream with the error instead of hanging.
 */
import { Field, Float64, Int64, makeVector, RecordBatch, Schema, Table, TimestampMicrosecond, Utf8, vectorFromArray } from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { parquetStream, type ParquetWriteOptions } from '../../src/formats/parquet.js';
import { ParquetThreads } from '../../src/formats/parquet-thread.js';

const schema = new Schema([
  new Field('id', new Int64(), false),
  new Field('name', new Utf8(), true),
  new Field('cost', new Float64(), true),
  new Field('at', new TimestampMicrosecond('UTC'), true),
]);

/** `count` batches of `rows` rows, every column varying. */
function batches(count: number, rows: number): RecordBatch[] {
  return Array.from({ length: count }, (_, b) => {
    const ids = BigInt64Array.from({ length: rows }, (_, i) => BigInt(b * rows + i));
    const table = new Table({
      id: makeVector(ids),
      name: vectorFromArray(
        Array.from({ length: rows }, (_, i) => (i % 9 === 0 ? null : `name ${(b * rows + i) % 37}`)),
        new Utf8(),
      ),
      cost: vectorFromArray(
        Array.from({ length: rows }, (_, i) => (i % 11 === 0 ? null : (i * 7.25) % 100)),
        new Float64(),
      ),
      at: makeVector(BigInt64Array.from({ length: rows }, (_, i) => 1_700_000_000_000_000n + BigInt(i) * 1_000_000n)),
    });
    return new RecordBatch(schema, table.batches[0].data);
  });
}

async function* each<T>(items: readonly T[], failAfter = Number.POSITIVE_INFINITY): AsyncGenerator<T> {
  for (const [i, item] of items.entries()) {
    if (i >= failAfter) throw new Error('the source broke off');
    yield item;
  }
}

async function bytesOf(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

const options: ParquetWriteOptions = { rowGroupRows: 3_000, metadata: { run_id: 'r-1', schema: 'abc' }, plainColumns: ['at'] };

describe('Parquet on a worker thread', () => {
  const threads = new ParquetThreads();
  const encodeOnThread = threads.encode;
  afterAll(() => threads.close());

  it('writes the same bytes as the main thread, row groups, metadata and plain columns included, file after file on the thread it keeps', async () => {
    // Prepare
    const input = batches(7, 1_000).map((b) => new RecordBatch(schema, b.data));
    const other: ParquetWriteOptions = { rowGroupRows: 2_000, metadata: { run_id: 'r-2' }, plainColumns: [] };
    threads.prewarm();

    // Act
    const here = await bytesOf(await parquetStream(each(input), options));
    const there = await bytesOf(await encodeOnThread(each(input), options));
    const hereOther = await bytesOf(await parquetStream(each(input), other));
    const thereOther = await bytesOf(await encodeOnThread(each(input), other));

    // Assess
    expect(there.length).toBeGreaterThan(1_000);
    expect(there.subarray(0, 4).toString()).toBe('PAR1');
    expect(there.equals(here)).toBe(true);
    expect(thereOther.equals(hereOther)).toBe(true);
    expect(thereOther.equals(there)).toBe(false);
  });

  it('ends the stream with the error when the batches break off, and stops the thread', async () => {
    // Act
    const stream = await encodeOnThread(each(batches(5, 1_000), 3), options);
    const outcome = await bytesOf(stream).then(
      () => 'whole',
      (error: Error) => error.message,
    );

    // Assess
    expect(outcome).toBe('the source broke off');
  });

  it('stops reading the batches when the reader gives up', async () => {
    // Prepare
    let pulled = 0;
    let closed = false;
    async function* counted(): AsyncGenerator<RecordBatch> {
      try {
        for (const batch of batches(200, 1_000)) {
          pulled++;
          yield batch;
        }
      } finally {
        closed = true;
      }
    }

    // Act
    const stream = await encodeOnThread(counted(), { ...options, rowGroupRows: 1_000 });
    for await (const _chunk of stream) break;
    await new Promise((resolve) => setTimeout(resolve, 100));

    // Assess
    expect(closed).toBe(true);
    expect(pulled).toBeLessThan(200);
  });
});
