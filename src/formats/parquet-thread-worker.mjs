/**
 * The worker thread of `parquet-thread.ts`: encodes the Arrow IPC batches it is sent as one Parquet
 * stream with parquet-wasm and sends the bytes back as they come. Plain JavaScript importing only
 * packages, so that it runs as it is from `src/` (tests) and from `dist/cli/` (the build copies it).
 *
 * Messages in: `{ batch: Uint8Array }` (an IPC stream of one batch, transferred), `{ end: true }`.
 * Out: `{ consumed: ArrayBuffer }` once a batch is in wasm memory (its bytes go back to be freed by
 * the main thread's collector: this thread allocates too little JavaScript for its own to run, and
 * transferred buffers piled up here), `{ chunk: Uint8Array }`, `{ done: true }`, `{ error: string }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as wasm from 'parquet-wasm';

/** `workerData`: the writer's settings, as `parquet.ts`'s `writerProperties` applies them. */
const { rowGroupRows, createdBy, metadata, plainColumns } = workerData;

function writerProperties() {
  let builder = new wasm.WriterPropertiesBuilder()
    .setCompression(wasm.Compression.ZSTD)
    .setMaxRowGroupSize(rowGroupRows)
    .setCreatedBy(createdBy)
    .setKeyValueMetadata(new Map(Object.entries(metadata)));
  for (const column of plainColumns) builder = builder.setColumnDictionaryEnabled(column, false);
  return builder.build();
}

const queue = [];
let ended = false;
let wake;
parentPort.on('message', (message) => {
  if (message.end) ended = true;
  else queue.push(message.batch);
  wake?.();
  wake = undefined;
});

const input = new ReadableStream({
  async pull(controller) {
    while (queue.length === 0 && !ended) await new Promise((resolve) => (wake = resolve));
    const bytes = queue.shift();
    if (bytes === undefined) {
      controller.close();
      return;
    }
    // The batch shares its buffers with the table it came from, which is freed at once (as in parquet.ts).
    const table = wasm.Table.fromIPCStream(bytes);
    try {
      controller.enqueue(table.recordBatches()[0]);
    } finally {
      table.free();
    }
    parentPort.postMessage({ consumed: bytes.buffer }, [bytes.buffer]);
  },
});

try {
  const output = await wasm.transformParquetStream(input, writerProperties());
  for await (const chunk of output) {
    const whole = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength;
    parentPort.postMessage({ chunk }, whole ? [chunk.buffer] : []);
  }
  parentPort.postMessage({ done: true });
} catch (error) {
  parentPort.postMessage({ error: error instanceof Error ? error.message : String(error) });
}
