/**
 * What the source holds for each day now: how many rows, their change signal's digest (the sum of
 * a hash of each row's key and row version: docs/protocol.md) and their latest change. One query
 * (`sourceDayStatesQuery`) answers it for one day or many, for whoever asks whether a published
 * day is current (`lake/currency.ts`): the schedule's lookback, `etl status`, `npm start`'s skip
 * and `etl validate`.
 */
import type pg from 'pg';
import { dayWindow, parseDay, type CalendarDay } from '../core/day.js';
import { RENTALS, type FactTable } from '../core/tables.js';
import { classifyDbError } from './connect.js';
import { sourceDayStatesQuery } from './queries.js';

/** The day's rows in the source now: how many, their digest, and their latest change (the table's `changedAt`). */
export interface SourceDayState {
  readonly count: number;
  /** The change signal's digest of the day's rows (a decimal integer; `0` for a day without rows). */
  readonly digest: string;
  /** ISO 8601; undefined for a day without rows. */
  readonly lastChange: string | undefined;
}

/**
 * Counts `table`'s rows of every day of `dates` (YYYY-MM-DD) at once, with their digest and latest change:
 * one grouped query over the window from the first day to the last. A day without rows is there
 * with a count of 0.
 */
export async function sourceDayStates(
  client: pg.Client,
  dates: readonly string[],
  timeZone: string,
  table: FactTable = RENTALS,
): Promise<Map<string, SourceDayState>> {
  const states = new Map<string, SourceDayState>(dates.map((date) => [date, { count: 0, digest: '0', lastChange: undefined }]));
  if (dates.length === 0) return states;
  const sorted = [...dates].sort();
  const [first, last] = [sorted[0], sorted.at(-1)!];
  const window = { start: dayWindow(parseDay(first), timeZone).start, end: dayWindow(parseDay(last), timeZone).end };
  try {
    const { rows } = await client.query<{ day: string; n: string; digest: string; last_change: Date | null }>(sourceDayStatesQuery(table, window, timeZone));
    for (const row of rows) {
      if (states.has(row.day)) states.set(row.day, { count: Number(row.n), digest: row.digest, lastChange: row.last_change?.toISOString() });
    }
  } catch (error) {
    throw classifyDbError(error, `count source rows of ${first === last ? first : `${first} to ${last}`}`);
  }
  return states;
}

/** Counts `table`'s rows of `day` in the source now and finds their latest change (`sourceDayStates` for one day). */
export async function sourceDayState(client: pg.Client, day: CalendarDay, timeZone: string, table: FactTable = RENTALS): Promise<SourceDayState> {
  return (await sourceDayStates(client, [day.iso], timeZone, table)).get(day.iso)!;
}
