/**
 * The schedule's healing look at the lake: for yesterday and the `REPUBLISH_LOOKBACK_DAYS` days
 * before it, whether each published partition is current by the one rule (`lake/currency.ts`), and
 * whether a day never published is missing (the lake has an earlier day: the day should be there)
 * or simply before the lake's first day (left to a backfill).
 */
import { mapBounded } from '../../core/bounded.js';
import type pg from 'pg';
import type { CalendarDay } from '../../core/day.js';
import type { FactTable } from '../../core/tables.js';
import { dayCurrency } from '../../lake/currency.js';
import { firstPublishedDay, readManifest } from '../../lake/manifest.js';
import type { ObjectStore } from '../../lake/store.js';
import { sourceDayStates } from '../../source/day-state.js';
import type { SkipReason } from '../contracts.js';

/** What a check of one day found: `stale` and `missing` days run again, the others are left alone. */
export interface DayCheck {
  readonly date: string;
  readonly state: 'stale' | 'missing' | SkipReason;
  /** The figures that decided it, for the plan's output and the summary. */
  readonly detail: string;
}

export interface CheckDaysRequest {
  readonly store: ObjectStore;
  /** Runs `work` on a connection to the source; called only when one of the days is published. */
  readonly withSource: <T>(work: (client: pg.Client) => Promise<T>) => Promise<T>;
  readonly days: readonly CalendarDay[];
  readonly timeZone: string;
  readonly table?: FactTable;
}

/**
 * Source connections the check of the published days uses at once, one day each: a day's check
 * reads all its rows (their row versions), so at 100,000,000 rows a day the days are checked side
 * by side, not one after another (docs/performance.md, "The change signal").
 */
export const CHECK_CONNECTIONS = 8;

/**
 * Checks each of `days` against the source: its manifest, then for each published day the query
 * for its count and change signal (on its own connection, `CHECK_CONNECTIONS` at once); a day
 * without a manifest is `missing` when the lake's first day is before it, else `unpublished`.
 */
export async function checkDays(request: CheckDaysRequest): Promise<DayCheck[]> {
  const { store, days, timeZone } = request;
  const manifests = await Promise.all(days.map(async (day) => (await readManifest(store, day))?.manifest));
  const published = days.filter((_, i) => manifests[i] !== undefined).map((day) => day.iso);
  const first = manifests.every((m) => m !== undefined) ? undefined : await firstPublishedDay(store);
  const checked = await mapBounded(published, CHECK_CONNECTIONS, (date) =>
    request.withSource(async (client) => (await sourceDayStates(client, [date], timeZone, request.table)).get(date)!),
  );
  const states = new Map(published.map((date, i) => [date, checked[i]]));
  return days.map((day, i): DayCheck => {
    const manifest = manifests[i];
    if (!manifest) {
      return first !== undefined && first < day.iso
        ? { date: day.iso, state: 'missing', detail: `never published, and the lake starts at ${first}` }
        : {
            date: day.iso,
            state: 'unpublished',
            detail: first ? `never published: before the lake's first day (${first})` : 'never published: the lake holds no day yet',
          };
    }
    const { state, detail } = dayCurrency(manifest, states.get(day.iso)!);
    return { date: day.iso, state, detail };
  });
}
