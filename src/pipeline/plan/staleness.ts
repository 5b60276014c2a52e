/**
 * The schedule's lookback (`REPUBLISH_LOOKBACK_DAYS`): re-checks the published days before
 * yesterday against the source, by the one rule for "current" (`lake/currency.ts`), and names the
 * stale ones for the plan to run again.
 */
import type pg from 'pg';
import type { CalendarDay } from '../../core/day.js';
import type { FactTable } from '../../core/tables.js';
import { dayCurrency } from '../../lake/currency.js';
import { readManifest } from '../../lake/manifest.js';
import type { ObjectStore } from '../../lake/store.js';
import { sourceDayStates } from '../../source/day-state.js';
import type { SkipReason } from '../contracts.js';

/** What a check of one published day found. */
export interface DayCheck {
  readonly date: string;
  readonly state: 'stale' | SkipReason;
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
 * Checks each of `days` against the source: its manifest, then for the published days one query
 * for their counts and latest changes.
 */
export async function checkDays(request: CheckDaysRequest): Promise<DayCheck[]> {
  const { store, days, timeZone } = request;
  const manifests = await Promise.all(days.map(async (day) => (await readManifest(store, day))?.manifest));
  const published = days.filter((_, i) => manifests[i] !== undefined).map((day) => day.iso);
  const states = published.length > 0 ? await request.withSource((client) => sourceDayStates(client, published, timeZone, request.table)) : new Map();
  return days.map((day, i): DayCheck => {
    const manifest = manifests[i];
    if (!manifest) return { date: day.iso, state: 'unpublished', detail: 'never published: the lookback republishes published days only' };
    const { state, detail } = dayCurrency(manifest, states.get(day.iso)!);
    return { date: day.iso, state, detail };
  });
}
