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
import { STAGED_INFINITY, STAGED_MINUS_INFINITY } from '../../source/copy-binary.js';
import type { CastRejection } from './cast.js';

/** ISO 8601 with microseconds for a timestamp stored as microseconds since the epoch. */
export function isoMicros(micros: bigint): string {
  const ms = micros / 1000n;
  const rest = Number(((micros % 1000n) + 1000n) % 1000n);
  const base = new Date(Number(ms - (micros < 0n && rest !== 0 ? 1n : 0n))).toISOString();
  return `${base.slice(0, 23)}${String(rest).padStart(3, '0')}Z`;
}

/** A staged timestamp as the source wrote it: ISO 8601, or Postgres's `infinity` / `-infinity`. */
function rawTimestamp(micros: bigint): string {
  return micros === STAGED_INFINITY ? 'infinity' : micros === STAGED_MINUS_INFINITY ? '-infinity' : isoMicros(micros);
}

/**
 * Reads the raw source rows of one staged batch as JSON-safe values (ids as strings, timestamps as
 * ISO); the columns are looked up once per batch, not once per row.
 */
function rawRowReader(table: FactTable, raw: RecordBatch): (row: number) => Record<string, string | null> {
  const readers = table.columns.map((column): [string, (row: number) => string | null] => {
    const vector = raw.getChild(column.name) as Vector;
    const valid = validity(vector.data[0]);
    if (column.kind === 'timestamptz') {
      const values = vector.data[0].values as BigInt64Array;
      return [column.name, (row) => (valid(row) ? rawTimestamp(values[row]) : null)];
    }
    return [column.name, (row) => (valid(row) ? String(vector.get(row)) : null)];
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
