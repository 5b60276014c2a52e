/**
 * Parquet encoding on worker threads, for a process that has other work to do meanwhile: a local
 * run, whose main thread decodes the `COPY` stream and casts the next batches while the previous
 * ones are encoded (parquet-wasm is single-threaded, and the largest share of a day's CPU). The
 * same writer settings and the same bytes as `parquetStream` (a test compares them); each batch
 * crosses as an Arrow IPC stream, transferred, not copied. A thread writes one file at a time and
 * is kept for the next; one can be started ahead (`prewarm`), while the run does work that leaves
 * a core idle, so that loading the writer (45 ms here) is not paid when the rows arrive. The
 * Lambdas encode on their own thread (their CPU share is about one vCPU): their bundles do not
 * carry this module.
 */
import { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import type { RecordBatch as ArrowBatch } from 'apache-arrow';
import { batchIpcInto } from './arrow-ipc.js';
import { CREATED_BY, type ParquetEncoder } from './parquet.js';

const WORKER_URL = new URL('./parquet-thread-worker.mjs', import.meta.url);

/** Batches sent to a thread and not yet taken into its wasm memory: the next is cast while one is encoded. */
const IN_FLIGHT = 2;

type FromWorker = { consumed?: ArrayBuffer; chunk?: Uint8Array; done?: true; error?: string };

/** The encoding threads of one execution: idle ones are reused; `close` ends them all. */
export class ParquetThreads {
  readonly #idle: Worker[] = [];
  /**
   * The buffers batches cross in, back from the threads once read, for the next batches: a new one
   * for each batch (100 MB a million rentals) was memory for the main thread's collector to find
   * and free, 3 MB at a time.
   */
  readonly #buffers: ArrayBuffer[] = [];
  readonly #all = new Set<Worker>();

  /** Starts a thread now, if none is idle, for the first file to take. */
  prewarm(): void {
    if (this.#idle.length === 0) this.#idle.push(this.#spawn());
  }

  /** Ends every thread (a file being written fails). */
  async close(): Promise<void> {
    const all = [...this.#all];
    this.#all.clear();
    this.#idle.length = 0;
    await Promise.all(all.map((worker) => worker.terminate()));
  }

  #spawn(): Worker {
    const worker = new Worker(WORKER_URL);
    // An idle thread does not keep the process alive.
    worker.unref();
    this.#all.add(worker);
    const forget = () => {
      this.#all.delete(worker);
      const at = this.#idle.indexOf(worker);
      if (at >= 0) this.#idle.splice(at, 1);
    };
    worker.once('exit', forget);
    worker.once('error', forget);
    return worker;
  }

  /** Like `parquetStream`, the encoding on a thread of its own for the file. */
  readonly encode: ParquetEncoder = async (batches, options) => {
    const worker = this.#idle.pop() ?? this.#spawn();
    worker.ref();
    const buffers = this.#buffers;
    const iterator = batches[Symbol.asyncIterator]();
    let finished = false;
    const release = (reusable: boolean) => {
      finished = true;
      worker.off('message', onMessage);
      worker.off('error', fail);
      worker.off('exit', onExit);
      if (reusable && this.#all.has(worker)) {
        worker.unref();
        this.#idle.push(worker);
      } else void worker.terminate();
    };
    const output = new Readable({
      read() {},
      destroy(error, callback) {
        // The reader gave up (an upload failed) or the encoding failed: stop both sides, and the
        // thread with its half-written file.
        if (!finished) release(false);
        void Promise.resolve(iterator.return?.()).catch(() => undefined);
        callback(error);
      },
    });
    function fail(error: unknown): void {
      if (finished) return;
      // A stream nobody reads any more (its reader failed before it began; the execution ended and
      // closed the threads) ends quietly: an error event without a listener would take the process down.
      output.destroy(output.listenerCount('error') > 0 ? (error instanceof Error ? error : new Error(String(error))) : undefined);
    }
    const onExit = (code: number) => fail(new Error(`the Parquet encoding thread exited with code ${code} before the file was whole`));

    let inFlight = 0;
    let sending = false;
    let sentAll = false;
    async function send(): Promise<void> {
      if (sending || sentAll || finished) return;
      sending = true;
      try {
        while (inFlight < IN_FLIGHT && !finished) {
          const next = await iterator.next();
          if (finished) return;
          if (next.done) {
            sentAll = true;
            worker.postMessage({ end: true });
            return;
          }
          const { buffer, length } = batchIpcInto(next.value as ArrowBatch, buffers.pop());
          inFlight++;
          worker.postMessage({ batch: new Uint8Array(buffer, 0, length) }, [buffer]);
        }
      } catch (error) {
        fail(error);
      } finally {
        sending = false;
      }
    }
    function onMessage(message: FromWorker): void {
      if (message.consumed) {
        buffers.push(message.consumed);
        inFlight--;
        void send();
      } else if (message.chunk) output.push(message.chunk);
      else if (message.done) {
        release(true);
        output.push(null);
      } else if (message.error !== undefined) fail(new Error(`Parquet encoding failed: ${message.error}`));
    }

    worker.on('message', onMessage);
    worker.on('error', fail);
    worker.on('exit', onExit);
    worker.postMessage({
      start: { rowGroupRows: options.rowGroupRows, createdBy: CREATED_BY, metadata: options.metadata ?? {}, plainColumns: options.plainColumns ?? [] },
    });
    void send();
    return output;
  };
}
