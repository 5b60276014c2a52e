/**
 * `COPY ... TO STDOUT` read straight off the connection's socket, for the binary decoder
 * (`copy-binary.ts`): each chunk the socket delivers is passed on as it is, with the byte ranges of
 * the CopyData payloads in it marked, so no row costs a JavaScript object and no byte is copied.
 *
 * It takes the socket over from pg the way pg-copy-streams does (pg's own parser would build a
 * message object per row): pg's data listener is set aside while the COPY streams and given back,
 * with the bytes after CopyDone (or from an ErrorResponse on), for pg to finish the query. The
 * library also cuts each row's payload into a Buffer of its own and joins them per chunk: at a
 * million rentals that was 120 MB of the extract's 224 MB of garbage and a 121 MB copy
 * (docs/performance.md, "Levers").
 */
import { Readable } from 'node:stream';
import type pg from 'pg';

/** Message codes of the copy-out flow (https://www.postgresql.org/docs/current/protocol-message-formats.html). */
const COPY_DATA = 0x64; // 'd'
const COPY_DONE = 0x63; // 'c'
const COPY_OUT_RESPONSE = 0x48; // 'H'
const ERROR_RESPONSE = 0x45; // 'E'
/** Messages the server may send in the middle of a COPY; like pg-copy-streams, they are skipped. */
const INTERSPERSED = new Set([0x4e /* N: notice */, 0x53 /* S: parameter status */, 0x41 /* A: notification */]);
/** A message's code and length (which counts itself, not the code). */
const HEADER_BYTES = 5;
/** Chunks read ahead of the decoder before the socket is paused. */
const READ_AHEAD_CHUNKS = 4;
const EMPTY = Buffer.alloc(0);

/** One socket chunk of a COPY and where its CopyData payloads (or parts of one) lie in it. */
export interface CopyChunk {
  readonly bytes: Buffer;
  /** Start and end offsets in `bytes`, in pairs, one pair per payload or part of a payload. */
  readonly payloads: Int32Array;
}

type DataListener = (chunk: Buffer) => void;

/**
 * A `COPY ... TO STDOUT` query (pg's Submittable) and the stream of its `CopyChunk`s; fails with the
 * server's error (or the connection's). Destroying it early drops the rest of the COPY as it comes;
 * its connection should then be closed, as after any failed COPY.
 */
export class CopyOutStream extends Readable {
  /** Rows the server reports it sent (its CommandComplete), once the COPY is over. */
  rowCount: number | undefined;
  #connection: pg.Connection | undefined;
  #pgListener: DataListener | undefined;
  /** Code of the message being read and how many of its body bytes are still to come. */
  #code = 0;
  #left = 0;
  /** The start of a message header cut by the end of the last chunk (at most 4 bytes). */
  #pendingHeader: Buffer = EMPTY;
  #paused = false;
  #discarding = false;
  /** Offsets of the payloads of the chunk being scanned, grown as needed. */
  #scratch = new Int32Array(1_024);

  constructor(readonly text: string) {
    super({ objectMode: true, highWaterMark: READ_AHEAD_CHUNKS });
    // The error stays with the stream for its reader (`for await` throws it); with no listener, an
    // error that came before anyone read would end the process.
    this.on('error', () => undefined);
  }

  /** Called by pg when the query's turn comes: sends it and takes the socket's data from here on. */
  submit(connection: pg.Connection): void {
    this.#connection = connection;
    const stream = connection.stream;
    const listeners = stream.listeners('data') as DataListener[];
    if (listeners.length !== 1) throw new Error(`COPY: expected pg's one data listener on the connection, found ${listeners.length}`);
    this.#pgListener = listeners[0];
    stream.removeListener('data', this.#pgListener);
    stream.on('data', this.#onData);
    connection.query(this.text);
  }

  /** pg's ErrorResponse handling (or a connection error) ends here. */
  handleError(error: Error): void {
    this.destroy(error);
  }

  handleCommandComplete(message: { text?: string }): void {
    const match = /^COPY (\d+)/.exec(message.text ?? '');
    if (match) this.rowCount = Number(match[1]);
  }

  handleReadyForQuery(): void {}

  override _read(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#connection?.stream.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // Read on, dropping the rows, so the socket never stalls a connection its owner is closing.
    this.#discarding = true;
    if (this.#paused) this.#connection?.stream.resume();
    this.#paused = false;
    callback(error);
  }

  readonly #onData = (input: Buffer): void => {
    let chunk = input;
    if (this.#pendingHeader.length > 0) {
      chunk = Buffer.concat([this.#pendingHeader, input]);
      this.#pendingHeader = EMPTY;
    }
    let marks = 0;
    const mark = (start: number, end: number) => {
      if (marks + 2 > this.#scratch.length) {
        const grown = new Int32Array(this.#scratch.length * 2);
        grown.set(this.#scratch);
        this.#scratch = grown;
      }
      this.#scratch[marks++] = start;
      this.#scratch[marks++] = end;
    };
    const n = chunk.length;
    let pos = 0;
    while (pos < n) {
      if (this.#left > 0) {
        const end = Math.min(n, pos + this.#left);
        if (this.#code === COPY_DATA) mark(pos, end);
        this.#left -= end - pos;
        pos = end;
        continue;
      }
      if (n - pos < HEADER_BYTES) {
        this.#pendingHeader = Buffer.from(chunk.subarray(pos));
        break;
      }
      const code = chunk[pos];
      if (code === ERROR_RESPONSE) {
        // pg reads the error and fails the query (handleError) once it has the message.
        this.#pass(chunk, marks);
        this.#handBack(chunk.subarray(pos));
        return;
      }
      const bodyBytes = chunk.readInt32BE(pos + 1) - 4;
      if (code === COPY_DATA || code === COPY_OUT_RESPONSE || INTERSPERSED.has(code)) {
        this.#code = code;
        this.#left = bodyBytes;
        pos += HEADER_BYTES;
        continue;
      }
      // CopyDone (this reader's, no body) or any other message, which ends copy-out mode: pg's from its first byte.
      if (code === COPY_DONE) pos += HEADER_BYTES;
      this.#pass(chunk, marks);
      this.#handBack(chunk.subarray(pos));
      if (!this.#discarding) this.push(null);
      return;
    }
    if (!this.#pass(chunk, marks)) {
      this.#paused = true;
      this.#connection!.stream.pause();
    }
  };

  /** Hands the chunk's marked payloads to the reader; false when it is behind. */
  #pass(bytes: Buffer, marks: number): boolean {
    if (marks === 0 || this.#discarding) return true;
    return this.push({ bytes, payloads: this.#scratch.slice(0, marks) } satisfies CopyChunk);
  }

  /** Gives the socket back to pg, with the bytes it has not seen. */
  #handBack(rest: Buffer): void {
    const stream = this.#connection!.stream;
    stream.removeListener('data', this.#onData);
    stream.on('data', this.#pgListener!);
    if (this.#paused) stream.resume();
    this.#paused = false;
    if (rest.length > 0) this.#pgListener!(rest);
  }
}

/** Starts `sql` (a `COPY ... TO STDOUT`) on `client`; its chunks are read from the stream returned. */
export function copyOut(client: pg.Client, sql: string): CopyOutStream {
  return client.query(new CopyOutStream(sql));
}
