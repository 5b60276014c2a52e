/**
 * Parquet encoding on another thread: the same parquet-wasm writer as `parquet.ts`, run in a
 * `worker_threads` Worker, so a local run casts the next batch while the last one is compressed
 * and encoded (on the main thread the two take turns). Batches cross as Arrow IPC streams (their
 * buffers transferred, not copied), the file's bytes come back the same way. The file is the same,
 * byte for byte, as `parquetStream` writes.
 *
 * Only a local run uses it (`etl run`, `etl backfill`), and only with more than one core: a Lambda
 * below 1,769 MB has less than one vCPU, where a second thread would only add its start-up. The
 * worker runs a script given as text (no file of its own to bundle) that loads parquet-wasm from
 * where this module resolves it; where that fails (a bundle without `node_modules` beside it),
 * `ParquetWorkers.open` says so and the caller encodes on its own thread.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { type RecordBatch, Table as ArrowTable, tableToIPC } from 'apache-arrow';
import { CREATED_BY, type ParquetWriteOptions } from './parquet.js';

/** Batches handed to a worker and not yet taken by its writer: enough to keep it busy, few enough to bound memory. */
const BATCHES_AHEAD = 2;

/**
 * The worker's script (CommonJS, run by `new Worker(..., { eval: true })`). One file at a time:
 * `start` with the writer's settings, `batch` with one Arrow IPC stream, `end`; it answers `taken`
 * when its writer takes a batch, `bytes` as the file is produced, then `done` or `failed`. The
 * writer settings are `parquet.ts`'s `writerProperties`, spelled in JavaScript: the test that
 * compares the two encoders' files byte for byte keeps them together.
 */
const WORKER_SCRIPT = `
const { parentPort, workerData } = require('node:worker_threads');
const wasm = require(workerData.parquetWasm);
let file;
function properties(o) {
  let b = new wasm.WriterPropertiesBuilder()
    .setCompression(wasm.Compression.ZSTD)
    .setMaxRowGroupSize(o.rowGroupRows)
    .setCreatedBy(o.createdBy)
    .setKeyValueMetadata(new Map(Object.entries(o.metadata)));
  for (const column of o.plainColumns) b = b.setColumnDictionaryEnabled(column, false);
  return b.build();
}
async function write(o) {
  const queue = [];
  let wake;
  file = { push(m) { queue.push(m); if (wake) { wake(); wake = undefined; } } };
  const input = new ReadableStream({
    async pull(controller) {
      while (queue.length === 0) await new Promise((r) => (wake = r));
      const m = queue.shift();
      if (m.type === 'end') return controller.close();
      const table = wasm.Table.fromIPCStream(m.ipc);
      try { for (const batch of table.recordBatches()) controller.enqueue(batch); } finally { table.free(); }
      parentPort.postMessage({ type: 'taken' });
    },
  });
  const output = await wasm.transformParquetStream(input, properties(o));
  for await (const chunk of output) parentPort.postMessage({ type: 'bytes', chunk }, [chunk.buffer]);
}
parentPort.on('message', (m) => {
  if (m.type !== 'start') return file.push(m);
  write(m.options).then(
    () => parentPort.postMessage({ type: 'done' }),
    (error) => parentPort.postMessage({ type: 'failed', message: String(error && error.message ? error.message : error) }),
  );
});
`;

type FromWorker = { type: 'taken' } | { type: 'bytes'; chunk: Uint8Array } | { type: 'done' } | { type: 'failed'; message: string };

/** Where parquet-wasm's Node build is, from this module; undefined when it cannot be found (a bundle). */
function parquetWasmPath(): string | undefined {
  try {
    // `__filename` in a CommonJS bundle, `import.meta.url` in ESM (tsx, dist/cli).
    const here = typeof __filename === 'string' ? __filename : import.meta.url;
    return createRequire(here).resolve('parquet-wasm');
  } catch {
    return undefined;
  }
}

/** One Parquet file encoded by `worker`, as the byte stream `parquetStream` would give. */
function encodeOn(worker: Worker, batches: AsyncIterable<RecordBatch>, options: ParquetWriteOptions, finished: (failed: boolean) => void): Readable {
  const output = new Readable({ read() {} });
  let ahead = 0;
  let taken: (() => void) | undefined;
  let settled = false;
  const settle = (error?: Error) => {
    if (settled) return;
    settled = true;
    worker.off('message', onMessage);
    worker.off('error', onError);
    finished(error !== undefined);
    if (error) output.destroy(error);
    else output.push(null);
  };
  const onMessage = (message: FromWorker) => {
    if (message.type === 'taken') {
      ahead -= 1;
      taken?.();
      taken = undefined;
    } else if (message.type === 'bytes') output.push(message.chunk);
    else if (message.type === 'done') settle();
    else settle(new Error(`Parquet writer: ${message.message}`));
  };
  const onError = (error: Error) => settle(error);
  // The reader gave up (a failed upload): the worker's file is abandoned, and the worker with it.
  output.on('close', () => settle(new Error('Parquet writer: the file was abandoned')));
  worker.on('message', onMessage);
  worker.on('error', onError);
  const { rowGroupRows, metadata = {}, plainColumns = [] } = options;
  worker.postMessage({ type: 'start', options: { rowGroupRows, metadata, plainColumns: [...plainColumns], createdBy: CREATED_BY } });
  void (async () => {
    for await (const batch of batches) {
      if (settled) return;
      while (ahead >= BATCHES_AHEAD && !settled) await new Promise<void>((resolve) => (taken = resolve));
      const ipc = tableToIPC(new ArrowTable([batch]), 'stream');
      ahead += 1;
      worker.postMessage({ type: 'batch', ipc }, [ipc.buffer as ArrayBuffer]);
    }
    worker.postMessage({ type: 'end' });
  })().catch((error: Error) => {
    // The batches failed (the cast, the source): the file is abandoned, the worker with it.
    settle(error);
  });
  return output;
}

/**
 * The Parquet workers of one execution: one per file being written at once, kept for the next file
 * and ended by `close`. A worker that failed is not reused.
 */
export class ParquetWorkers {
  readonly #idle: Worker[] = [];
  readonly #all = new Set<Worker>();

  private constructor(private readonly parquetWasm: string) {}

  /** Workers for this process, or undefined where they would not pay (one core) or cannot load parquet-wasm. */
  static open(): ParquetWorkers | undefined {
    if (availableParallelism() < 2) return undefined;
    const path = parquetWasmPath();
    return path === undefined ? undefined : new ParquetWorkers(path);
  }

  /** Encodes `batches` as one Parquet file on a worker: the same bytes as `parquetStream(batches, options)`. */
  readonly encode = async (batches: AsyncIterable<RecordBatch>, options: ParquetWriteOptions): Promise<Readable> => {
    const worker = this.#idle.pop() ?? this.#start();
    // Kept alive while it encodes: the file's bytes may be all the process waits for.
    worker.ref();
    return encodeOn(worker, batches, options, (failed) => {
      worker.unref();
      if (failed) void worker.terminate();
      else if (this.#all.has(worker)) this.#idle.push(worker);
    });
  };

  #start(): Worker {
    const worker = new Worker(WORKER_SCRIPT, { eval: true, workerData: { parquetWasm: this.parquetWasm } });
    // An idle worker must not keep the process alive.
    worker.unref();
    worker.on('exit', () => {
      this.#all.delete(worker);
      const idle = this.#idle.indexOf(worker);
      if (idle >= 0) this.#idle.splice(idle, 1);
    });
    this.#all.add(worker);
    return worker;
  }

  /** Ends every worker. */
  async close(): Promise<void> {
    const workers = [...this.#all];
    this.#all.clear();
    this.#idle.length = 0;
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
