/**
 * Rows as PostgreSQL's `COPY ... FROM STDIN` text format: tab-separated fields in a table's column
 * order, `\N` for NULL, backslash escapes, timestamps as ISO 8601 in UTC. The loader streams a
 * day as chunks of these lines.
 */
import type { ColumnKind, SourceTable } from '../../core/schema.js';

const COPY_SPECIAL = /[\\\t\n\r]/;
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** A text value as a field of `COPY ... FROM STDIN` text format; NULL becomes `\N`. */
export function escapeCopyText(value: string | null): string {
  if (value === null) return '\\N';
  return COPY_SPECIAL.test(value) ? value.replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c]) : value;
}

const DAY_MS = 86_400_000;
const TWO_DIGITS = Array.from({ length: 60 }, (_, n) => String(n).padStart(2, '0'));
const THREE_DIGITS = Array.from({ length: 1000 }, (_, n) => String(n).padStart(3, '0'));

/**
 * `date.toISOString()`, several times faster: rows of a day share their date part, so only the
 * time of day is formatted per value. Timestamps are most of a rental's COPY text. One formatter
 * per stream of lines: it remembers the date part it formatted last.
 */
export class IsoTimestamps {
  private dayNumber = Number.NaN;
  private dayPrefix = '';

  format(date: Date): string {
    const ms = date.getTime();
    const dayNumber = Math.floor(ms / DAY_MS);
    if (dayNumber !== this.dayNumber) {
      this.dayNumber = dayNumber;
      this.dayPrefix = new Date(dayNumber * DAY_MS).toISOString().slice(0, 11);
    }
    let rest = ms - dayNumber * DAY_MS;
    const millis = rest % 1000;
    rest = (rest - millis) / 1000;
    const seconds = rest % 60;
    rest = (rest - seconds) / 60;
    const minutes = rest % 60;
    const hours = (rest - minutes) / 60;
    return `${this.dayPrefix}${TWO_DIGITS[hours]}:${TWO_DIGITS[minutes]}:${TWO_DIGITS[seconds]}.${THREE_DIGITS[millis]}Z`;
  }
}

function copyField(kind: ColumnKind, value: unknown, timestamps: IsoTimestamps): string {
  if (value === null || value === undefined) return '\\N';
  switch (kind) {
    case 'timestamptz':
      return timestamps.format(value as Date);
    case 'bool':
      return value ? 't' : 'f';
    case 'text':
    case 'date':
      return escapeCopyText(value as string);
    case 'int64':
    case 'int32':
      return String(value);
  }
}

/** One row as a line of COPY text, its fields in the table's column order. */
export function copyTextLine(table: SourceTable, row: object, timestamps = new IsoTimestamps()): string {
  const record = row as Record<string, unknown>;
  let line = '';
  for (let i = 0; i < table.columns.length; i++) {
    const column = table.columns[i];
    line += (i === 0 ? '' : '\t') + copyField(column.kind, record[column.name], timestamps);
  }
  return `${line}\n`;
}

const ROWS_PER_CHUNK = 4096;

/** Rows as COPY text in chunks of a few thousand lines, so no day is ever one string; counts them in `counter`. */
export function* copyTextChunks(table: SourceTable, rows: Iterable<object>, counter: { rows: number }): Generator<string> {
  const timestamps = new IsoTimestamps();
  let chunk = '';
  let inChunk = 0;
  for (const row of rows) {
    chunk += copyTextLine(table, row, timestamps);
    counter.rows++;
    if (++inChunk === ROWS_PER_CHUNK) {
      yield chunk;
      chunk = '';
      inChunk = 0;
    }
  }
  if (inChunk > 0) yield chunk;
}
