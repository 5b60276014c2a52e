/**
 * The copy-out reader's framing (`src/source/copy-out.ts`) wherever the socket cuts the protocol
 * bytes: a fake connection delivers one server response split at every byte, and the rows decoded
 * and the bytes handed back to pg must be those of the response delivered whole.
 */
import { PassThrough } from 'node:stream';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { decodeCopyBinary } from '../../src/source/copy-binary.js';
import { type CopyChunk, CopyOutStream } from '../../src/source/copy-out.js';
import { NUMBERS } from '../support/copy-table.js';

/** A protocol message: its code, its length (counting itself) and its body. */
function message(code: string, body: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(5);
  header.write(code, 0, 'latin1');
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

function tuple(n: number, label: string | null): Buffer {
  const count = Buffer.alloc(2);
  count.writeInt16BE(2);
  const id = Buffer.alloc(12);
  id.writeInt32BE(8, 0);
  id.writeBigInt64BE(BigInt(n), 4);
  const length = Buffer.alloc(4);
  length.writeInt32BE(label === null ? -1 : Buffer.byteLength(label));
  return Buffer.concat([count, id, length, label === null ? Buffer.alloc(0) : Buffer.from(label)]);
}

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const header = Buffer.concat([SIGNATURE, Buffer.alloc(8)]);
const trailer = Buffer.from([0xff, 0xff]);
const ROWS: [number, string | null][] = [
  [1, 'one'],
  [2, null],
  [3, 'three, a longer label than the others'],
  [4, ''],
];

/** What the server sends for a COPY of ROWS: as Postgres does, the header rides with the first row, a notice comes in between. */
const AFTER_COPY = Buffer.concat([message('C', Buffer.from('COPY 4\0')), message('Z', Buffer.from('I'))]);
const RESPONSE = Buffer.concat([
  message('H', Buffer.from([1, 0, 2, 0, 1, 0, 1])),
  message('d', Buffer.concat([header, tuple(...ROWS[0])])),
  message('d', tuple(...ROWS[1])),
  message('N', Buffer.from('SNOTICE\0Mrow\0\0')),
  message('d', tuple(...ROWS[2])),
  message('d', tuple(...ROWS[3])),
  message('d', trailer),
  message('c'),
  AFTER_COPY,
]);

/** Delivers `pieces` to a CopyOutStream as a socket would; returns its chunks and what pg was handed back. */
async function deliver(pieces: Buffer[]): Promise<{ chunks: CopyChunk[]; handedBack: Buffer }> {
  const socket = new PassThrough();
  const handedBack: Buffer[] = [];
  socket.on('data', (data: Buffer) => handedBack.push(data));
  const copy = new CopyOutStream('COPY numbers TO STDOUT (FORMAT binary)');
  copy.submit({ stream: socket, query: () => undefined } as unknown as pg.Connection);
  const chunks: CopyChunk[] = [];
  const read = (async () => {
    for await (const chunk of copy) chunks.push(chunk as CopyChunk);
  })();
  for (const piece of pieces) socket.write(piece);
  await read;
  return { chunks, handedBack: Buffer.concat(handedBack) };
}

async function rowsOf(chunks: CopyChunk[]): Promise<[number, string | null][]> {
  async function* source() {
    yield* chunks;
  }
  const rows: [number, string | null][] = [];
  for await (const batch of decodeCopyBinary(source(), NUMBERS, 2)) {
    for (let r = 0; r < batch.numRows; r++) {
      const label = batch.getChild('label')!.get(r) as Uint8Array | string | null;
      rows.push([Number(batch.getChild('n')!.get(r)), label === null ? null : Buffer.from(label as Uint8Array).toString()]);
    }
  }
  return rows;
}

describe('CopyOutStream framing', () => {
  it('reads the rows of a response delivered whole and hands the rest to pg', async () => {
    // Act
    const { chunks, handedBack } = await deliver([RESPONSE]);

    // Assess
    expect(await rowsOf(chunks)).toEqual(ROWS);
    expect(handedBack).toEqual(AFTER_COPY);
  });

  it('reads the same wherever the socket cuts the response in two', async () => {
    for (let at = 1; at < RESPONSE.length; at++) {
      // Act
      const { chunks, handedBack } = await deliver([RESPONSE.subarray(0, at), RESPONSE.subarray(at)]);

      // Assess
      expect({ at, rows: await rowsOf(chunks) }).toEqual({ at, rows: ROWS });
      expect({ at, handedBack }).toEqual({ at, handedBack: AFTER_COPY });
    }
  });

  it('reads the same when the response comes one byte at a time', async () => {
    // Act
    const { chunks, handedBack } = await deliver([...RESPONSE].map((byte) => Buffer.from([byte])));

    // Assess
    expect(await rowsOf(chunks)).toEqual(ROWS);
    expect(handedBack).toEqual(AFTER_COPY);
  });

  it('hands pg a message that ends copy-out mode without CopyDone, from its first byte', async () => {
    // Prepare: the rows and the trailer, then CommandComplete at once
    const response = Buffer.concat([
      message('H', Buffer.from([1, 0, 2, 0, 1, 0, 1])),
      message('d', Buffer.concat([header, tuple(...ROWS[0])])),
      message('d', trailer),
      AFTER_COPY,
    ]);

    // Act
    const { chunks, handedBack } = await deliver([response]);

    // Assess
    expect(await rowsOf(chunks)).toEqual([ROWS[0]]);
    expect(handedBack).toEqual(AFTER_COPY);
  });

  it('hands an error response to pg whole, from its first byte', async () => {
    // Prepare
    const error = message('E', Buffer.from('SERROR\0Mboom\0\0'));
    const response = Buffer.concat([
      message('H', Buffer.from([1, 0, 2, 0, 1, 0, 1])),
      message('d', Buffer.concat([header, tuple(...ROWS[0])])),
      error,
      AFTER_COPY,
    ]);
    const socket = new PassThrough();
    const handedBack: Buffer[] = [];
    socket.on('data', (data: Buffer) => handedBack.push(data));
    const copy = new CopyOutStream('COPY numbers TO STDOUT (FORMAT binary)');
    copy.submit({ stream: socket, query: () => undefined } as unknown as pg.Connection);

    const read = (async () => {
      for await (const chunk of copy) expect(chunk).toBeDefined();
    })();

    // Act
    for (let at = 0; at < response.length; at += 3) socket.write(response.subarray(at, at + 3));
    await new Promise((resolve) => setImmediate(resolve));
    copy.destroy(new Error('pg reports the error'));
    await read.catch(() => undefined);

    // Assess
    expect(Buffer.concat(handedBack)).toEqual(Buffer.concat([error, AFTER_COPY]));
  });
});
