/**
 * The SQL the pipeline sends to the source, built from the table declarations (`core/tables.ts`)
 * with every table and column name quoted as an identifier. A day of a partitioned table is its
 * rows whose partition column lies in the day's half-open window `[start, end)`.
 */
import { escapeIdentifier, escapeLiteral, type QueryConfig } from 'pg';
import type { FactTable, SnapshotTable, SourceTable } from '../core/tables.js';

/** A half-open window of instants. */
export interface Window {
  readonly start: Date;
  readonly end: Date;
}

const quoted = (names: readonly string[]): string => names.map(escapeIdentifier).join(', ');

/** `table`'s rows in `[$1, $2)`. */
function inWindow(table: FactTable): string {
  const partition = escapeIdentifier(table.partition);
  return `${partition} >= $1 AND ${partition} < $2`;
}

/**
 * `table`'s rows in `window`, the bounds written into the SQL as literals: COPY takes no
 * parameters, and the count of a range must select exactly the rows its COPY sends.
 */
export function windowCondition(table: FactTable, window: Window): string {
  const partition = escapeIdentifier(table.partition);
  const start = escapeLiteral(window.start.toISOString());
  const end = escapeLiteral(window.end.toISOString());
  return `${partition} >= ${start}::timestamptz AND ${partition} < ${end}::timestamptz`;
}

/**
 * `COPY (SELECT <columns> FROM <table> [WHERE <condition>] ORDER BY <order>) TO STDOUT`: the
 * table's columns in declaration order, which is the order the decoder reads them in.
 */
export function copySql(table: SourceTable, order: readonly string[], condition?: string, format: 'binary' | 'csv' = 'binary'): string {
  const where = condition === undefined ? '' : ` WHERE ${condition}`;
  const select = `SELECT ${quoted(table.columns.map((c) => c.name))} FROM ${escapeIdentifier(table.name)}${where} ORDER BY ${quoted(order)}`;
  return `COPY (${select}) TO STDOUT (FORMAT ${format})`;
}

/** A day's (or range's) rows of `table` as extract copies them, in its declared order. */
export function copyRangeSql(table: FactTable, window: Window, format: 'binary' | 'csv' = 'binary'): string {
  return copySql(table, table.order, windowCondition(table, window), format);
}

/** All of a snapshot table, in key order. */
export function copySnapshotSql(table: SnapshotTable): string {
  return copySql(table, [table.key]);
}

/**
 * The change signal's digest of a set of rows (docs/protocol.md, "The change signal"): the sum of a
 * 64-bit hash of each row's key and row version (`xmin`, new on every INSERT and UPDATE), as
 * numeric (no overflow) and as text. A sum is order-independent, and unlike an XOR a row read twice
 * does not cancel out. Empty: `0`.
 */
function digestOf(table: FactTable): string {
  return `coalesce(sum(hashtextextended(${escapeIdentifier(table.key)}::text || ':' || xmin::text, 0)), 0)::text`;
}

/**
 * The rows of `window` in the snapshot they are counted in: `n`, their change signal's `digest`
 * and the time of the snapshot, `snapshot_at`.
 */
export function countInSnapshotSql(table: FactTable, window: Window): string {
  return `SELECT count(*) AS n, ${digestOf(table)} AS digest, now() AS snapshot_at FROM ${escapeIdentifier(table.name)} WHERE ${windowCondition(table, window)}`;
}

/** The rows of `window`: `n`. */
export function countRowsQuery(table: FactTable, window: Window): QueryConfig {
  return { text: `SELECT count(*) AS n FROM ${escapeIdentifier(table.name)} WHERE ${inWindow(table)}`, values: [window.start, window.end] };
}

/**
 * The rows of `window`, counted up to `limit + 1` at most: `n` (a count of `limit + 1` means more than
 * `limit`). An index-only scan that stops early, so telling a day within a limit from a bigger one
 * never reads the bigger day whole.
 */
export function countRowsUpToQuery(table: FactTable, window: Window, limit: number): QueryConfig {
  return {
    text: `SELECT count(*) AS n FROM (SELECT 1 FROM ${escapeIdentifier(table.name)} WHERE ${inWindow(table)} LIMIT $3) AS day`,
    values: [window.start, window.end, limit + 1],
  };
}

/** The rows of `window` by hour from its start (hour 0 first): `hour`, `n`, hours without rows left out. */
export function rowsByHourQuery(table: FactTable, window: Window): QueryConfig {
  const partition = escapeIdentifier(table.partition);
  return {
    text: `SELECT floor(extract(epoch FROM ${partition} - $1::timestamptz) / 3600)::int AS hour, count(*) AS n FROM ${escapeIdentifier(table.name)} WHERE ${inWindow(table)} GROUP BY 1`,
    values: [window.start, window.end],
  };
}

/** Whether a unique index on the key alone exists (then Postgres rules out repeated keys): `unique`. */
export function keyIsUniqueQuery(table: FactTable): QueryConfig {
  return {
    text: `SELECT EXISTS (
       SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
       WHERE i.indrelid = $1::regclass AND i.indisunique AND i.indnatts = 1 AND a.attname = $2
     ) AS unique`,
    values: [escapeIdentifier(table.name), table.key],
  };
}

/** Rows of `window` whose key another row of it has too: `n`. */
export function duplicateKeysQuery(table: FactTable, window: Window): QueryConfig {
  return {
    text: `SELECT count(*) - count(DISTINCT ${escapeIdentifier(table.key)}) AS n FROM ${escapeIdentifier(table.name)} WHERE ${inWindow(table)}`,
    values: [window.start, window.end],
  };
}

/**
 * The rows of `window` by local day in `timeZone` (the day a row's partition column falls on, as
 * `dayWindow` cuts it): `day` (YYYY-MM-DD), `n`, the change signal's `digest` (as extract takes it)
 * and the latest change `last_change` (for manifests written before the signal). Days without rows
 * are left out. The one query behind every "is this published day current?"
 * (`source/day-state.ts`), for one day or many.
 */
export function sourceDayStatesQuery(table: FactTable, window: Window, timeZone: string): QueryConfig {
  const partition = escapeIdentifier(table.partition);
  return {
    // Grouped by date, formatted per group: the text of a date is not made once per row.
    text: `SELECT to_char(day, 'YYYY-MM-DD') AS day, n, digest, last_change FROM (
       SELECT (${partition} AT TIME ZONE $3)::date AS day, count(*) AS n, ${digestOf(table)} AS digest, max(${escapeIdentifier(table.changedAt)}) AS last_change
       FROM ${escapeIdentifier(table.name)} WHERE ${inWindow(table)} GROUP BY 1) AS days`,
    values: [window.start, window.end, timeZone],
  };
}

/** The columns and types of `tables` in the current schema: `table_name`, `column_name`, `data_type`. */
export function sourceColumnsQuery(tables: readonly SourceTable[]): QueryConfig {
  return {
    text: `SELECT table_name, column_name, data_type FROM information_schema.columns
     WHERE table_schema = current_schema() AND table_name = ANY($1)`,
    values: [tables.map((t) => t.name)],
  };
}
