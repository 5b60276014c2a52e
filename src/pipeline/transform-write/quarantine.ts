/**
 * Quarantine: the raw source rows the cast rejected or left out, one JSON line each with its
 * reason and column, the run and the date, streamed into one object per range
 * (`_quarantine/rentals/year=…/<runId>[-h<HH>].jsonl`) opened on the first such row.
 */
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import type { RecordBatch, Vector } from 'apache-arrow';
import type { FactTable } from '../../core/tables.js';
import { validity } from '../../formats/arrow-rows.js';
import type { ObjectStore } from '../../lake/store.js';
import { stagedInfinity } from '../../source/copy-binary.js';
import type { CastRejection } from './cast.js';

/** ISO 8601 with microseconds for a timestamp stored as microseconds since the epoch. */
export function isoMicros(micros: bigint | number): string {
  if (typeof micros === 'number') {
    // Exact in doubles within 285 years of 1970: no BigInt arithmetic.
    const ms = Math.floor(micros / 1000);
    return `${new Date(ms).toISOString().slice(0, 23)}${String(micros - ms * 1000).padStart(3, '0')}Z`;
  }
  const ms = micros / 1000n;
  const rest = Number(((micros % 1000n) + 1000n) % 1000n);
  const base = new Date(Number(ms - (micros < 0n && rest !== 0 ? 1n : 0n))).toISOString();
  return `${base.slice(0, 23)}${String(rest).padStart(3, '0')}Z`;
}

/**
 * Reads staged timestamps as the source wrote them: ISO 8601, or Postgres's `infinity` /
 * `-infinity`; a value is read as two 32-bit words, a BigInt only beyond 285 years of 1970.
 */
function rawTimestamps(values: BigInt64Array): (row: number) => string {
  const words = new Int32Array(values.buffer, values.byteOffset, values.length * 2);
  return (row) => {
    const lo = words[row * 2];
    const hi = words[row * 2 + 1];
    const infinite = stagedInfinity(hi, lo);
    if (infinite) return infinite;
    const micros = hi * 0x1_0000_0000 + (lo >>> 0);
    return isoMicros(Number.isSafeInteger(micros) ? micros : values[row]);
  };
}

/**
 * Reads the raw source rows of one staged batch as JSON-safe values (ids as strings, timestamps as
 * ISO); the columns are looked up once per batch, not once per row.
 */
function rawRowReader(table: FactTable, raw: RecordBatch): (row: number) => Record<string, string | null> {
  const readers = table.columns.map((column): [string, (row: number) => string | null] => {
    const vector = raw.getChild(column.name) as Vector;
    const data = vector.data[0];
    const valid = validity(data);
    switch (column.kind) {
      case 'timestamptz': {
        const read = rawTimestamps(data.values as BigInt64Array);
        return [column.name, (row) => (valid(row) ? read(row) : null)];
      }
      case 'int64': {
        const values = data.values as BigInt64Array;
        return [column.name, (row) => (valid(row) ? values[row].toString() : null)];
      }
      case 'text': {
        const offsets = data.valueOffsets as Int32Array;
        const bytes = Buffer.from(data.values.buffer, data.values.byteOffset, data.values.byteLength);
        return [column.name, (row) => (valid(row) ? bytes.toString('utf8', offsets[row], offsets[row + 1]) : null)];
      }
      default:
        return [column.name, (row) => (valid(row) ? String(vector.get(row)) : null)];
    }
  });
  return (row) => {
    const out: Record<string, string | null> = {};
    for (const [name, read] of readers) out[name] = read(row);
    return out;
  };
}

/** The quarantine lines of `rejections`, rows of the staged batch `raw`, in their order. */
export function quarantineLines(table: FactTable, raw: RecordBatch, rejections: readonly CastRejection[], runId: string, date: string): string {
  const rowOf = rawRowReader(table, raw);
  let lines = '';
  for (const r of rejections) lines += `${JSON.stringify({ reason: r.reason, column: r.column, run_id: runId, date, row: rowOf(r.row) })}\n`;
  return lines;
}

/** Streams quarantine lines into one JSON-lines object, opened on the first rejected row. */
export class QuarantineWriter {
  private stream: PassThrough | undefined;
  private upload: Promise<{ bytes: number }> | undefined;

  constructor(
    private readonly store: ObjectStore,
    readonly key: string,
  ) {}

  /** Queues JSON lines; resolves at once unless the upload is behind (then when it catches up). */
  async write(lines: string): Promise<void> {
    if (!this.stream) {
      this.stream = new PassThrough();
      // The upload reports failures; the stream's own error event would otherwise be unhandled.
      this.stream.on('error', () => undefined);
      this.upload = this.store.upload(this.key, this.stream, 'application/x-ndjson');
      // Surface an upload failure at close(), not as an unhandled rejection.
      this.upload.catch(() => undefined);
    }
    if (!this.stream.write(lines)) await once(this.stream, 'drain');
  }

  async close(): Promise<string | undefined> {
    if (!this.stream) return undefined;
    this.stream.end();
    await this.upload;
    return this.key;
  }

  abort(): void {
    this.stream?.destroy();
  }
}
