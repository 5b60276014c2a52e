/**
 * The same per-day aggregates computed by SQL on the source, for comparing with the lake.
 */
import type pg from 'pg';
import { dayWindow, parseDay } from '../../src/core/day.js';
import type { DayAggregate } from './lake-readers.js';

/** A rent_cost the pipeline accepts as a number (mirrors the generator's valid prices). */
const NUMERIC_COST = `'^[ \\t]*[+-]?([0-9]+(\\.[0-9]{1,2})?|\\.[0-9]{1,2})[ \\t]*$'`;

export async function sourceAggregate(client: pg.Client, date: string, timeZone = 'UTC'): Promise<DayAggregate> {
  const window = dayWindow(parseDay(date), timeZone);
  const { rows } = await client.query(
    `SELECT count(*)::bigint AS n,
            coalesce(sum(CASE WHEN rent_cost ~ ${NUMERIC_COST} THEN trim(rent_cost)::numeric END), 0) * 100 AS cents,
            min(rental_id)::text AS min_id, max(rental_id)::text AS max_id,
            to_char(min(rent_start) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS min_start,
            to_char(max(rent_start) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS max_start,
            count(*) FILTER (WHERE rent_cost IS NULL OR rent_cost !~ ${NUMERIC_COST})::bigint AS null_costs
     FROM rentals WHERE rent_start >= $1 AND rent_start < $2`,
    [window.start, window.end],
  );
  const r = rows[0];
  return {
    rows: Number(r.n),
    revenueCents: Math.round(Number(r.cents)),
    minRentalId: String(r.min_id),
    maxRentalId: String(r.max_id),
    minStart: String(r.min_start),
    maxStart: String(r.max_start),
    nullCosts: Number(r.null_costs),
  };
}
