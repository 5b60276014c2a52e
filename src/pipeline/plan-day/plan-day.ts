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
 * Rows of the day whose rental_id another row has too. Where a unique index on rental_id exists
 * (the source contract's primary key) Postgres guarantees none and nothing is counted.
 */
async function countDuplicateIds(client: pg.Client, where: string, params: unknown[]): Promise<number> {
  const unique = await client.query<{ unique: boolean }>(
    `SELECT EXISTS (
       SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
       WHERE i.indrelid = 'rentals'::regclass AND i.indisunique AND i.indnatts = 1 AND a.attname = 'rental_id'
     ) AS unique`,
  );
  if (unique.rows[0].unique) return 0;
  const { rows } = await client.query<{ n: string }>(`SELECT count(*) - count(DISTINCT rental_id) AS n FROM rentals${where}`, params);
  return Number(rows[0].n);
}

/** Counts the day's rentals and cuts it into hour ranges; see the module comment. */
export async function planDay(request: DayPlanRequest): Promise<DayCut> {
  const { client, day, timeZone, maxRowsPerRange } = request;
  const window = dayWindow(day, timeZone);
  const hours = windowHours(window);
  const where = ' WHERE rent_start >= $1 AND rent_start < $2';
  const params = [window.start, window.end];
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const counted = await client.query<{ n: string }>(`SELECT count(*) AS n FROM rentals${where}`, params);
    const plannedRows = Number(counted.rows[0].n);
    let ranges: PlannedRange[] = [{ from: 0, to: hours, rows: plannedRows }];
    if (plannedRows > maxRowsPerRange) {
      const byHour = await client.query<{ hour: number; n: string }>(
        `SELECT floor(extract(epoch FROM rent_start - $1::timestamptz) / 3600)::int AS hour, count(*) AS n FROM rentals${where} GROUP BY 1`,
        params,
      );
      const hourRows = new Array<number>(hours).fill(0);
      for (const { hour, n } of byHour.rows) hourRows[hour] += Number(n);
      ranges = cutIntoRanges(hourRows, maxRowsPerRange);
    }
    const sourceDuplicateIds = await countDuplicateIds(client, where, params);
    await client.query('COMMIT');
    const oversized = ranges.filter((r) => r.rows > maxRowsPerRange);
    if (oversized.length > 0) {
      request.log?.warn('an hour holds more rentals than one range may; it runs as one range all the same', {
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
