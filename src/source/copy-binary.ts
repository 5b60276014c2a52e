/**
 * Decodes Postgres `COPY ... TO STDOUT (FORMAT binary)` straight into Arrow record batches.
 *
 * Values go from the wire bytes into column buffers (int64 and timestamps as 32-bit halves, text as
 * UTF-8 bytes plus offsets) without a JavaScript object per row: the reason the extract stage runs
 * near the speed of COPY itself.
 */
import { makeData, RecordBatch, Struct, type Data, type Schema } from 'apache-arrow';
import { StagingError } from '../core/errors.js';
import { stagingSchema } from '../core/schema.js';
import type { ColumnKind, SourceTable } from '../core/tables.js';
import type { CopyChunk } from './copy-out.js';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** 2000-01-01T00:00:00Z in microseconds since the Unix epoch, split into 32-bit halves. */
const PG_EPOCH_US_HI = 0x00035d01;
const PG_EPOCH_US_LO = 0x3b37e000;
/** Days from 1970-01-01 to 2000-01-01. */
const PG_EPOCH_DAYS = 10_957;
const PG_INFINITY_HI = 0x7fffffff;
const PG_MINUS_INFINITY_HI = -0x80000000;

/**
 * How a staged timestamp holds Postgres's `infinity` and `-infinity`, which no lake timestamp can:
 * the largest and smallest 64-bit values, which no finite Postgres timestamp reaches in microseconds
 * since 1970. The cast quarantines a row holding one (`<column>_infinite`) with the raw value.
 */
export const STAGED_INFINITY = 0x7fff_ffff_ffff_ffffn;
export const STAGED_MINUS_INFINITY = -0x8000_0000_0000_0000n;

/**
 * Which infinity a staged timestamp holds, told from its two 32-bit words (`hi` signed, `lo` as
 * an Int32Array reads it): reading a BigInt64Array makes a BigInt on the heap each time.
 */
export function stagedInfinity(hi: number, lo: number): 'infinity' | '-infinity' | undefined {
  if (hi === PG_INFINITY_HI && lo === -1) return 'infinity';
  if (hi === PG_MINUS_INFINITY_HI && lo === 0) return '-infinity';
  return undefined;
}

/** Fills one Arrow column of a batch in progress. */
class ColumnBuffer {
  private validity: Uint8Array;
  private nulls = 0;
  private values: Uint8Array;
  /** Fixed-width values seen as 32-bit words (little-endian halves for 64-bit kinds). */
  private words: Int32Array;
  private offsets: Int32Array | undefined;
  private dataLength = 0;

  constructor(
    readonly kind: ColumnKind,
    readonly name: string,
    capacity: number,
  ) {
    this.validity = new Uint8Array((capacity + 7) >> 3);
    if (kind === 'text') {
      this.offsets = new Int32Array(capacity + 1);
      this.values = new Uint8Array(capacity * 24);
    } else {
      this.values = new Uint8Array(this.valueBytes(capacity));
    }
    this.words = new Int32Array(this.values.buffer, 0, this.values.byteLength >> 2);
  }

  /** Bytes of fixed-width values for `capacity` rows. */
  private valueBytes(capacity: number): number {
    const kind = this.kind;
    if (kind === 'bool') return (capacity + 7) >> 3;
    return capacity * (kind === 'int64' || kind === 'timestamptz' ? 8 : 4);
  }

  /** Makes room for `capacity` rows, keeping the rows appended so far. */
  grow(capacity: number): void {
    const validity = new Uint8Array((capacity + 7) >> 3);
    validity.set(this.validity);
    this.validity = validity;
    if (this.offsets) {
      const offsets = new Int32Array(capacity + 1);
      offsets.set(this.offsets);
      this.offsets = offsets;
      return;
    }
    const values = new Uint8Array(this.valueBytes(capacity));
    values.set(this.values);
    this.values = values;
    this.words = new Int32Array(values.buffer, 0, values.byteLength >> 2);
  }

  /** Appends the value at `buf[pos..pos+len)`, or NULL when `len` is -1. */
  append(row: number, buf: Buffer, view: DataView, pos: number, len: number): void {
    if (len < 0) {
      this.nulls++;
      if (this.offsets) this.offsets[row + 1] = this.dataLength;
      return;
    }
    this.validity[row >> 3] |= 1 << (row & 7);
    switch (this.kind) {
      case 'int64': {
        this.expectWidth(len, 8);
        const out = this.words;
        out[row * 2] = view.getInt32(pos + 4);
        out[row * 2 + 1] = view.getInt32(pos);
        return;
      }
      case 'timestamptz': {
        this.expectWidth(len, 8);
        const out = this.words;
        const hi = view.getInt32(pos);
        const lo = view.getUint32(pos + 4);
        if ((hi === PG_INFINITY_HI && lo === 0xffffffff) || (hi === PG_MINUS_INFINITY_HI && lo === 0)) {
          // Staged as it came (STAGED_INFINITY, STAGED_MINUS_INFINITY: the same words); the cast quarantines the row.
          out[row * 2] = lo | 0;
          out[row * 2 + 1] = hi;
          return;
        }
        const sumLo = lo + PG_EPOCH_US_LO;
        out[row * 2] = sumLo | 0;
        out[row * 2 + 1] = (hi + PG_EPOCH_US_HI + (sumLo > 0xffffffff ? 1 : 0)) | 0;
        return;
      }
      case 'int32':
      case 'date': {
        this.expectWidth(len, 4);
        this.words[row] = view.getInt32(pos) + (this.kind === 'date' ? PG_EPOCH_DAYS : 0);
        return;
      }
      case 'bool':
        this.expectWidth(len, 1);
        if (buf[pos] !== 0) this.values[row >> 3] |= 1 << (row & 7);
        return;
      case 'text': {
        const end = this.dataLength + len;
        if (end > this.values.length) {
          const grown = new Uint8Array(Math.max(end, this.values.length * 2));
          grown.set(this.values.subarray(0, this.dataLength));
          this.values = grown;
        }
        if (len < 32) for (let i = 0; i < len; i++) this.values[this.dataLength + i] = buf[pos + i];
        else buf.copy(this.values, this.dataLength, pos, pos + len);
        this.dataLength = end;
        this.offsets![row + 1] = end;
        return;
      }
    }
  }

  private expectWidth(len: number, width: number): void {
    if (len !== width) throw new StagingError(`${this.name}: expected a ${width}-byte ${this.kind}, got ${len} bytes`);
  }

  /** The finished column of `length` rows. */
  toData(type: Schema['fields'][number]['type'], length: number): Data {
    const nullCount = this.nulls;
    const nullBitmap = nullCount > 0 ? this.validity.subarray(0, (length + 7) >> 3) : undefined;
    switch (this.kind) {
      case 'int64':
      case 'timestamptz':
        return makeData({ type, length, nullCount, nullBitmap, data: new BigInt64Array(this.values.buffer, 0, length) });
      case 'int32':
      case 'date':
        return makeData({ type, length, nullCount, nullBitmap, data: new Int32Array(this.values.buffer, 0, length) });
      case 'bool':
        return makeData({ type, length, nullCount, nullBitmap, data: this.values.subarray(0, (length + 7) >> 3) });
      case 'text':
        return makeData({
          type,
          length,
          nullCount,
          nullBitmap,
          valueOffsets: this.offsets!.subarray(0, length + 1),
          data: this.values.subarray(0, this.dataLength),
        });
    }
  }
}

/** Bytes of the next chunk joined to an incomplete tuple at first (grown until the tuple is whole). */
const STRADDLE_BYTES = 2_048;
const EMPTY = Buffer.alloc(0);

/** Rows the column buffers of a stream's first batch start with. */
const INITIAL_BATCH_CAPACITY = 1_024;

/**
 * Turns a COPY BINARY stream of `table`'s columns (in schema order) into record batches of at most
 * `batchRows` rows. The stream comes as plain bytes, or as the socket's chunks with their CopyData
 * payloads marked (`copy-out.ts`), which are decoded where they lie: the payloads, one after the
 * other, are the COPY BINARY format, whatever their boundaries.
 */
export async function* decodeCopyBinary(
  chunks: AsyncIterable<Buffer | Uint8Array | CopyChunk>,
  table: SourceTable,
  batchRows: number,
): AsyncGenerator<RecordBatch> {
  const schema = stagingSchema(table);
  const kinds = table.columns.map((c) => c.kind);
  const fieldCount = kinds.length;
  // Buffers start small and double up to batchRows: a small table or day does not pay for
  // zero-filling buffers of a full batch, a large one reaches full batches within its first.
  let capacity = Math.min(batchRows, INITIAL_BATCH_CAPACITY);
  let columns = newColumns();
  let rows = 0;
  /** The start of a tuple (or of the header) cut by the end of a payload, copied. */
  let pending: Buffer = EMPTY;
  let headerDone = false;
  let trailerSeen = false;

  function newColumns(): ColumnBuffer[] {
    return table.columns.map((c) => new ColumnBuffer(c.kind, c.name, capacity));
  }

  function finishBatch(): RecordBatch {
    const children = columns.map((c, i) => c.toData(schema.fields[i].type, rows));
    const batch = new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: rows, children }));
    columns = newColumns();
    rows = 0;
    return batch;
  }

  function grow(): void {
    capacity = Math.min(batchRows, capacity * 2);
    for (const column of columns) column.grow(capacity);
  }

  /**
   * Decodes the header (once) and the whole tuples of `buf[start, end)` until the batch is full;
   * returns where it stopped: at `end`, at an incomplete tuple, or after the tuple that filled the batch.
   */
  function decodeFrom(buf: Buffer, view: DataView, start: number, end: number): number {
    let pos = start;
    if (!headerDone) {
      if (end - pos < 19) return pos;
      if (!buf.subarray(pos, pos + 11).equals(SIGNATURE)) throw new StagingError('COPY BINARY stream: bad signature');
      const headerEnd = pos + 19 + view.getInt32(pos + 15);
      if (end < headerEnd) return pos;
      pos = headerEnd;
      headerDone = true;
    }
    while (!trailerSeen && rows < batchRows && pos + 2 <= end) {
      const count = view.getInt16(pos);
      if (count === -1) {
        trailerSeen = true;
        pos += 2;
        break;
      }
      if (count !== fieldCount) {
        throw new StagingError(`COPY BINARY stream for ${table.name}: expected ${fieldCount} fields, got ${count}`);
      }
      // Find the end of the tuple before decoding it, so a tuple split across chunks waits whole.
      let tupleEnd = pos + 2;
      let complete = true;
      for (let f = 0; f < fieldCount; f++) {
        if (tupleEnd + 4 > end) {
          complete = false;
          break;
        }
        const len = view.getInt32(tupleEnd);
        tupleEnd += 4 + Math.max(len, 0);
      }
      if (!complete || tupleEnd > end) break;
      if (rows === capacity) grow();
      let p = pos + 2;
      for (let f = 0; f < fieldCount; f++) {
        const len = view.getInt32(p);
        p += 4;
        columns[f].append(rows, buf, view, p, len);
        if (len > 0) p += len;
      }
      rows++;
      pos = tupleEnd;
    }
    return pos;
  }

  for await (const chunk of chunks) {
    const framed = 'payloads' in chunk;
    const bytes = framed ? chunk.bytes : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const payloads = framed ? chunk.payloads : [0, bytes.length];
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < payloads.length && !trailerSeen; i += 2) {
      let pos = payloads[i];
      const end = payloads[i + 1];
      if (pending.length > 0) {
        // What straddles a boundary is completed in a small joined buffer (from Node's pool), and
        // the rest of the payload is decoded where it lies: no copy of every chunk.
        let take = Math.min(end - pos, STRADDLE_BYTES);
        for (;;) {
          const joined = Buffer.concat([pending, bytes.subarray(pos, pos + take)]);
          const joinedView = new DataView(joined.buffer, joined.byteOffset, joined.byteLength);
          let at = 0;
          for (;;) {
            at = decodeFrom(joined, joinedView, at, joined.length);
            if (rows < batchRows) break;
            yield finishBatch();
          }
          if (at >= pending.length) {
            pos += at - pending.length;
            pending = EMPTY;
            break;
          }
          if (take === end - pos || trailerSeen) {
            pending = Buffer.from(joined.subarray(at));
            pos = end;
            break;
          }
          take = Math.min(end - pos, take * 4);
        }
      }
      if (pos >= end || trailerSeen) continue;
      for (;;) {
        pos = decodeFrom(bytes, view, pos, end);
        if (rows < batchRows) break;
        yield finishBatch();
      }
      if (pos < end && !trailerSeen) pending = Buffer.from(bytes.subarray(pos, end));
    }
  }
  if (!headerDone || !trailerSeen) throw new StagingError(`COPY BINARY stream for ${table.name} ended early`);
  if (rows > 0) yield finishBatch();
}
