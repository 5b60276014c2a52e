/**
 * `etl status [--date D | --from D --to D] [--json]`: one line per day (every day the lake holds
 * without dates), from the manifests, reports and locks only; a day without a partition after the
 * lake's first day shows as missing, with why. With `DATABASE_URL` set, each day is also compared
 * with the source as it is now (stale or current, by the change signal). `--tables` prints the
 * Iceberg tables instead: each one's current metadata location (`--json`: by table name).
 */
import { parseArgs } from 'node:util';
import { daysBetween, parseDay } from '../../src/core/day.js';
import { icebergTableStates } from '../../src/lake/iceberg/table-reads.js';
import { firstPublishedDay } from '../../src/lake/manifest.js';
import { readLakeState, type DayRecords } from '../../src/monitor/lake-state.js';
import { percent } from '../../src/lake/report-record.js';
import { dayStatus, type DayStatus } from '../../src/monitor/status.js';
import { sourceDayStates } from '../../src/source/day-state.js';
import type { CommandContext } from '../io.js';
import { printJsonResult } from '../json.js';
import { openLake } from '../lake.js';
import { commandConfig, daysFlags } from '../options.js';
import { openSource } from '../source.js';
import { driftLine, formatBytes } from '../summary.js';
import { RENTALS } from '../../src/core/tables.js';
import { undeclaredSourceColumns, type UndeclaredColumn } from '../../src/source/source-columns.js';

/** `2026-11-17T04:05:06.789Z` as `2026-11-17 04:05:06Z`. */
function when(iso: string | undefined): string {
  return iso === undefined ? '-' : `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z`;
}

function runs(modes: readonly string[] | undefined): string {
  if (!modes) return '-';
  const appends = modes.filter((m) => m === 'append').length;
  const overwrites = modes.length - appends;
  if (overwrites === 0 || appends === 0) return `${modes.length} ${modes[0]}`;
  return `${overwrites} overwrite +${appends} append`;
}

function lock(status: DayStatus): string {
  const l = status.lock;
  if (!l) return '-';
  const holder = l.host !== undefined || l.pid !== undefined ? ` on ${l.host ?? '?'}${l.pid !== undefined ? ` pid ${l.pid}` : ''}` : '';
  return `${l.expired ? 'expired: ' : ''}${l.runId}${holder} until ${when(l.expiresAt)}`;
}

function verdict(status: DayStatus): string {
  const last = status.last;
  if (!last) return '-';
  const kind = last.kind === 'recheck' ? ' (re-check)' : '';
  if (last.reasons.length === 0) return `${last.verdict}${kind}`;
  const more = last.reasons.length > 1 ? ` (+${last.reasons.length - 1} more)` : '';
  const reason = last.reasons[0].length > 90 ? `${last.reasons[0].slice(0, 89)}…` : last.reasons[0];
  return `${last.verdict}${kind}: ${reason}${more}`;
}

function source(status: DayStatus): string {
  const s = status.source;
  if (!s) return '-';
  if (s.state === 'stale') return `stale (${s.detail})`;
  if (s.state === 'missing') return `missing (${s.count.toLocaleString('en-US')} rows)`;
  return s.state === 'unpublished' ? `${s.count.toLocaleString('en-US')} rows` : s.state;
}

/** The status lines as a table: fixed columns, then the last verdict, which may be long. */
export function statusTable(days: readonly DayStatus[], withSource: boolean): string {
  const num = (n: number | undefined) => (n === undefined ? '-' : n.toLocaleString('en-US'));
  const header = ['date', 'published', 'rows', 'files', 'bytes', 'runs', 'snapshot', ...(withSource ? ['source'] : []), 'quarantine', 'lock', 'last verdict'];
  const rows = days.map((d) => [
    d.date,
    d.published ? 'yes' : d.missing ? 'missing' : 'no',
    num(d.rows),
    num(d.files),
    d.bytes === undefined ? '-' : formatBytes(d.bytes),
    runs(d.runs),
    when(d.snapshotAt),
    ...(withSource ? [source(d)] : []),
    d.quarantineRate === undefined ? '-' : percent(d.quarantineRate),
    lock(d),
    d.last || !d.missing ? verdict(d) : d.missing,
  ]);
  const numeric = new Set(['rows', 'files', 'bytes', 'quarantine']);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : numeric.has(header[i]) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** The closing line: how many days are published, stale, locked, failed. */
function totals(days: readonly DayStatus[]): string {
  const count = (test: (d: DayStatus) => boolean) => days.filter(test).length;
  const parts = [
    `${days.length} days`,
    `${count((d) => d.published)} published`,
    ...(days.some((d) => d.source) ? [`${count((d) => d.source?.state === 'stale')} stale`] : []),
    ...(days.some((d) => d.missing) ? [`${count((d) => d.missing !== undefined)} missing`] : []),
    `${count((d) => d.lock !== undefined && !d.lock.expired)} locked`,
    `${count((d) => d.last?.verdict === 'failed')} failed last`,
  ];
  return parts.join(', ');
}

/** Each Iceberg table's state by its name, as `--json` gives it. */
function tablesByName(states: Awaited<ReturnType<typeof icebergTableStates>>): Record<string, unknown> {
  return Object.fromEntries(states.map((s) => [s.table, s]));
}

/** `etl status --tables [--json]`: each Iceberg table's current metadata location, version and snapshot. */
async function printIcebergTables(store: Awaited<ReturnType<typeof openLake>>, json: boolean, io: CommandContext['io']): Promise<number> {
  const states = await icebergTableStates(store);
  if (json) printJsonResult(io, { command: 'status', lake: store.location.uri, ok: true }, { tables: tablesByName(states) });
  else
    for (const s of states)
      io.out(
        `${s.table}: v${s.version} ${s.metadataLocation} (snapshot ${s.snapshotId}, ${s.operation} at ${when(s.committedAt)}, ${s.records.toLocaleString('en-US')} rows in ${s.dataFiles} files, ${s.snapshots} snapshots kept)`,
      );
  return 0;
}

/**
 * The days between the lake's first day (or the first listed, if later) and the last listed that
 * the lake holds nothing about (a schedule that failed before it wrote anything), added so they
 * show as missing.
 */
function withGaps(records: readonly DayRecords[], first: string | undefined): DayRecords[] {
  const [from, last] = [records[0]?.date, records.at(-1)?.date];
  if (first === undefined || from === undefined || last === undefined) return [...records];
  const start = first > from ? first : from;
  if (start >= last) return [...records];
  const known = new Set(records.map((r) => r.date));
  const gaps = daysBetween(parseDay(start), parseDay(last)).filter((d) => !known.has(d.iso));
  return [...records, ...gaps.map((d): DayRecords => ({ date: d.iso, reports: [] }))].sort((a, b) => a.date.localeCompare(b.date));
}

export async function run(argv: readonly string[], { env, io }: CommandContext): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: { date: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, json: { type: 'boolean' }, tables: { type: 'boolean' } },
  });
  const config = commandConfig(env);
  if (values.tables) return printIcebergTables(await openLake(config), values.json === true, io);
  const days = values.date === undefined && values.from === undefined && values.to === undefined ? undefined : daysFlags(values);
  const store = await openLake(config);
  const first = await firstPublishedDay(store);
  const records = withGaps(await readLakeState(store, days, 'latest'), first);
  let states: Awaited<ReturnType<typeof sourceDayStates>> | undefined;
  let undeclared: UndeclaredColumn[] = [];
  if (config.databaseUrl !== undefined) {
    const client = await openSource(config);
    try {
      states = await sourceDayStates(
        client,
        records.map((r) => r.date),
        config.timeZone,
      );
      undeclared = await undeclaredSourceColumns(client, [RENTALS]);
    } finally {
      await client.end();
    }
  }
  const now = new Date();
  const statuses = records.map((r) => dayStatus(r, states?.get(r.date), now, first));
  if (values.json) {
    const tables = tablesByName(await icebergTableStates(store));
    printJsonResult(io, { command: 'status', lake: config.lake.uri, ok: true }, { days: statuses, tables });
    return 0;
  }
  if (statuses.length === 0) {
    io.err(`no days in ${config.lake.uri}${days ? ` from ${days[0].iso} to ${days.at(-1)!.iso}` : ''}`);
    return 0;
  }
  io.out(statusTable(statuses, states !== undefined));
  io.out(totals(statuses));
  if (undeclared.length > 0) io.out(driftLine(undeclared));
  return 0;
}
