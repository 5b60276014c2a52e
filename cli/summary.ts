/**
 * How each day of a run ended, and the summary table the CLI prints at the end.
 */
import type { DayOutcome } from '../src/pipeline/local-execution.js';
import { describeUndeclared, type UndeclaredColumn } from '../src/source/source-columns.js';

/** How one day ended, for the summary table and the exit code. */
export type { DayOutcome };

/** A size in bytes as B, KB or MB. */
export function formatBytes(n: number | undefined): string {
  if (n === undefined) return '-';
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 ** 2).toFixed(1)} MB`;
}

/** The line under a summary or status that names the source columns the lake does not carry (schema drift). */
export function driftLine(columns: readonly UndeclaredColumn[]): string {
  return `schema drift: source columns not in the table declaration, not carried into the lake: ${columns.map(describeUndeclared).join(', ')}`;
}

/** Why the day ran (new, rerun, stale, missing, requested) or was left alone (current, unpublished), as the plan said. */
function whyOf(o: DayOutcome): string {
  return o.reason ? ` [${o.reason.kind}${o.reason.detail ? `: ${o.reason.detail}` : ''}]` : '';
}

/** The summary table: one line per day and a total line. */
export function summaryTable(outcomes: readonly DayOutcome[]): string {
  const header = ['date', 'source rows', 'written rows', 'quarantined', 'files', 'bytes', 'seconds', 'verdict'];
  const num = (n: number | undefined) => (n === undefined ? '-' : n.toLocaleString('en-US'));
  const rows = outcomes.map((o) => [
    o.date,
    num(o.sourceRows),
    num(o.writtenRows),
    num(o.quarantined),
    num(o.files),
    formatBytes(o.bytes),
    o.seconds === undefined ? '-' : o.seconds.toFixed(2),
    o.verdict + (o.error ? `: ${o.error}` : o.note ? ` (${o.note})` : '') + whyOf(o),
  ]);
  const sum = (pick: (o: DayOutcome) => number | undefined) => outcomes.reduce((s, o) => s + (pick(o) ?? 0), 0);
  const passed = outcomes.filter((o) => o.verdict !== 'failed').length;
  rows.push([
    'total',
    num(sum((o) => o.sourceRows)),
    num(sum((o) => o.writtenRows)),
    num(sum((o) => o.quarantined)),
    num(sum((o) => o.files)),
    formatBytes(sum((o) => o.bytes)),
    sum((o) => o.seconds).toFixed(2),
    // Nothing ran: no day to call ok.
    outcomes.length === 0 ? 'no day ran' : `${passed}/${outcomes.length} ok`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (i === header.length - 1 ? 0 : r[i].length))));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.slice(0, -1).map(line),
    line(widths.map((w) => '-'.repeat(w))),
    line(rows.at(-1)!),
  ].join('\n');
}
