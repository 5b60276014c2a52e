/**
 * Plan day: the first step of one day's run (the stage names the run and takes the day's lease).
 * It decides how the day is cut: a day with at most `maxRowsPerRange` rentals is one range (the whole
 * day, one extract and one transform-write invocation); a bigger one is cut at hour boundaries
 * into ranges of at most that many rentals, each extracted and written by invocations of its own,
 * in parallel, and published together as one partition by validate.
 */
import type pg from 'pg';
import { classifyDbError } from '../../source/connect.js';
import { dayWindow, windowHours, type CalendarDay } from '../../core/day.js';
import type { Logger } from '../../core/log.js';
import { RENTALS, type FactTable } from '../../core/tables.js';
import { countRowsUpToQuery, duplicateKeysQuery, keyIsUniqueQuery, rowsByHourQuery, type Window } from '../../source/queries.js';
import type { DayPlan, PlannedRange } from '../contracts.js';

/** How the day is cut, and what was counted while cutting it. */
export type DayCut = Pick<DayPlan, 'plannedRows' | 'sourceDuplicateIds' | 'ranges'>;

export interface DayPlanRequest {
  readonly client: pg.Client;
  readonly day: CalendarDay;
  readonly timeZone: string;
  /** Most rentals one range may hold; an hour with more is a range of its own all the same. */
  readonly maxRowsPerRange: number;
  readonly log?: Logger;
  /** The table whose day is planned: the declared `rentals` unless told. */
  readonly table?: FactTable;
}

/**
 * Cuts a day whose hour `h` holds `hourRows[h]` rentals into consecutive ranges of at most
 * `maxRows` rentals (greedily, so as few as possible). An hour is never cut: one holding more than
 * `maxRows` is a range on its own.
 */
export function cutIntoRanges(hourRows: readonly number[], maxRows: number): PlannedRange[] {
  const ranges: PlannedRange[] = [];
  let from = 0;
  let rows = 0;
  for (let hour = 0; hour < hourRows.length; hour++) {
    if (hour > from && rows + hourRows[hour] > maxRows) {
      ranges.push({ from, to: hour, rows });
      from = hour;
      rows = 0;
    }
    rows += hourRows[hour];
  }
  ranges.push({ from, to: hourRows.length, rows });
  return ranges;
}

/**
 * Rows of the day whose key another row has too. Where a unique index on the key exists (the
 * source contract's primary key) Postgres guarantees none and nothing is counted.
 */
async function countDuplicateIds(client: pg.Client, table: FactTable, window: Window): Promise<number> {
  const unique = await client.query<{ unique: boolean }>(keyIsUniqueQuery(table));
  if (unique.rows[0].unique) return 0;
  const { rows } = await client.query<{ n: string }>(duplicateKeysQuery(table, window));
  return Number(rows[0].n);
}

/**
 * Counts the day's rows and cuts the day into hour ranges (see the module comment): a count that
 * stops after `maxRowsPerRange + 1` rows (an index-only scan) tells a day of one range, which it
 * then counted whole; only a bigger day is counted by hour, in one pass over it (a
 * 100-million-row day must fit the stage's timeout: the first count read at most one range of it).
 */
export async function planDay(request: DayPlanRequest): Promise<DayCut> {
  const { client, day, timeZone, maxRowsPerRange } = request;
  const table = request.table ?? RENTALS;
  const window = dayWindow(day, timeZone);
  const hours = windowHours(window);
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const counted = Number((await client.query<{ n: string }>(countRowsUpToQuery(table, window, maxRowsPerRange))).rows[0].n);
    let plannedRows = counted;
    let ranges: PlannedRange[] = [{ from: 0, to: hours, rows: counted }];
    if (counted > maxRowsPerRange) {
      // More than one range: its rows by hour, whose sum is the day's count.
      const byHour = await client.query<{ hour: number; n: string }>(rowsByHourQuery(table, window));
      const hourRows = new Array<number>(hours).fill(0);
      for (const { hour, n } of byHour.rows) hourRows[hour] += Number(n);
      plannedRows = hourRows.reduce((sum, n) => sum + n, 0);
      ranges = cutIntoRanges(hourRows, maxRowsPerRange);
    }
    const sourceDuplicateIds = await countDuplicateIds(client, table, window);
    await client.query('COMMIT');
    const oversized = ranges.filter((r) => r.rows > maxRowsPerRange);
    if (oversized.length > 0) {
      request.log?.warn(`an hour holds more ${table.name} than one range may; it runs as one range all the same`, {
        hours: oversized.map((r) => r.from),
        rows: oversized.map((r) => r.rows),
        max_rows_per_range: maxRowsPerRange,
      });
    }
    request.log?.info('planned day', { rows: plannedRows, ranges: ranges.length });
    return { plannedRows, sourceDuplicateIds, ranges };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw classifyDbError(error, `plan ${day.iso}`);
  }
}
