/**
 * Parquet encoding on a worker thread, for a process that has other work to do meanwhile: a local
 * run, whose main thread decodes the `COPY` stream and casts the next batches while the previous
 * ones are encoded (parquet-wasm is single-threaded, and the largest share of a day's CPU). The
 * same writer settings and the same bytes as `parquetStream` (a test compares them); each batch
 * crosses as an Arrow IPC stream, transferred, not copied. The Lambdas encode on their own thread
 * (their CPU share is about one vCPU), so their bundles do not carry this module.
 */
import { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { type RecordBatch as ArrowBatch, Table as ArrowTable, tableToIPC } from 'apache-arrow';
import { CREATED_BY, type ParquetEncoder } from './parquet.js';

const WORKER_URL = new URL('./parquet-thread-worker.mjs', import.meta.url);

/** Batches sent to the worker and not yet taken into its wasm memory: the next is cast while one is encoded. */
const IN_FLIGHT = 2;

/** Like `parquetStream`, the encoding on a worker thread of its own, which ends with the stream. */
export const parquetStreamOnThread: ParquetEncoder = async (batches, options) => {
  const worker = new Worker(WORKER_URL, {
    workerData: { rowGroupRows: options.rowGroupRows, createdBy: CREATED_BY, metadata: options.metadata ?? {}, plainColumns: options.plainColumns ?? [] },
  });
  const iterator = batches[Symbol.asyncIterator]();
  let finished = false;
  const output = new Readable({
    read() {},
    destroy(error, callback) {
      // The reader gave up (an upload failed) or the encoding failed: stop both sides.
      finished = true;
      void worker.terminate();
      void Promise.resolve(iterator.return?.()).catch(() => undefined);
      callback(error);
    },
  });
  const fail = (error: unknown) => {
    if (!finished) output.destroy(error instanceof Error ? error : new Error(String(error)));
  };

  let inFlight = 0;
  let sending = false;
  let sentAll = false;
  async function send(): Promise<void> {
    if (sending || sentAll || finished) return;
    sending = true;
    try {
      while (inFlight < IN_FLIGHT && !finished) {
        const next = await iterator.next();
        if (next.done) {
          sentAll = true;
          worker.postMessage({ end: true });
          return;
        }
        let bytes = tableToIPC(new ArrowTable([next.value as ArrowBatch]), 'stream');
        if (bytes.byteOffset !== 0 || bytes.byteLength !== bytes.buffer.byteLength) bytes = bytes.slice();
        inFlight++;
        worker.postMessage({ batch: bytes }, [bytes.buffer as ArrayBuffer]);
      }
    } catch (error) {
      fail(error);
    } finally {
      sending = false;
    }
  }

  worker.on('message', (message: { consumed?: ArrayBuffer; chunk?: Uint8Array; done?: true; error?: string }) => {
    if (message.consumed) {
      inFlight--;
      void send();
    } else if (message.chunk) output.push(message.chunk);
    else if (message.done) {
      finished = true;
      output.push(null);
      void worker.terminate();
    } else if (message.error !== undefined) fail(new Error(`Parquet encoding failed: ${message.error}`));
  });
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`the Parquet encoding thread exited with code ${code} before the file was whole`)));
  void send();
  return output;
};
