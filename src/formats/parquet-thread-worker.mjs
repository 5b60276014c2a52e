/**
 * A worker thread of `parquet-thread.ts`: encodes the Arrow IPC batches it is sent as Parquet files
 * with parquet-wasm, one file after the other, and sends the bytes back as they come. Plain
 * JavaScript importing only packages, so that it runs as it is from `src/` (tests) and from
 * `dist/cli/` (the build copies it).
 *
 * Messages in: `{ start: settings }` (a file begins: the writer's settings, as `parquet.ts`'s
 * `writerProperties` applies them), `{ batch: Uint8Array }` (an IPC stream of one batch,
 * transferred), `{ end: true }` (the file's last batch was sent). Out: `{ consumed: ArrayBuffer }`
 * once a batch is in wasm memory (its bytes go back to be freed by the main thread's collector:
 * this thread allocates too little JavaScript for its own to run, and transferred buffers piled up
 * here), `{ chunk: Uint8Array }`, `{ done: true }` (the file is whole), `{ error: string }`.
 */
import { parentPort } from 'node:worker_threads';
import * as wasm from 'parquet-wasm';

function writerProperties({ rowGroupRows, createdBy, metadata, plainColumns }) {
  let builder = new wasm.WriterPropertiesBuilder()
    .setCompression(wasm.Compression.ZSTD)
    .setMaxRowGroupSize(rowGroupRows)
    .setCreatedBy(createdBy)
    .setKeyValueMetadata(new Map(Object.entries(metadata)));
  for (const column of plainColumns) builder = builder.setColumnDictionaryEnabled(column, false);
  return builder.build();
}

/** The file being written: the batches received and not yet read, and whether its last one came. */
let file;

async function encode(settings) {
  const current = { queue: [], ended: false, wake: undefined };
  file = current;
  const input = new ReadableStream({
    async pull(controller) {
      while (current.queue.length === 0 && !current.ended) await new Promise((resolve) => (current.wake = resolve));
      const bytes = current.queue.shift();
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
    const output = await wasm.transformParquetStream(input, writerProperties(settings));
    for await (const chunk of output) {
      const whole = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength;
      parentPort.postMessage({ chunk }, whole ? [chunk.buffer] : []);
    }
    parentPort.postMessage({ done: true });
  } catch (error) {
    parentPort.postMessage({ error: error instanceof Error ? error.message : String(error) });
  }
}

parentPort.on('message', (message) => {
  if (message.start) {
    void encode(message.start);
    return;
  }
  if (message.end) file.ended = true;
  else file.queue.push(message.batch);
  file.wake?.();
  file.wake = undefined;
});
