/**
 * Whether a published day still holds what the source holds for it. The schedule's plan re-checks
 * the days before yesterday with it (`REPUBLISH_LOOKBACK_DAYS`) and runs the stale ones again.
 *
 * A published partition is current when both hold:
 * - The source has as many rows of the day now as the partition's runs read: their source counts
 *   added up. An overwrite run read the whole day; an append run after it reads only the rows it
 *   adds, so the sum is what the partition stands for. (Rows a run had to leave out, a required
 *   value NULL, are counted in its source count, so they do not make a day stale.)
 * - No row of the day was updated after the partition's snapshot, the earliest of its runs'
 *   snapshot times: an append adds new rows only, so a row an earlier run read keeps that run's
 *   version. (A day appended to after a row was inserted may thus be republished once, needlessly.)
 *
 * What it cannot see: a row deleted while another with an older `updated_at` was inserted (the
 * count and the latest change stay the same); and a change stamped with an `updated_at` before the
 * snapshot but committed after it (a transaction that ran across the extract).
 */
import type pg from 'pg';
import { dayWindow, type CalendarDay } from '../../core/day.js';
import { RENTALS, type FactTable } from '../../core/tables.js';
import { readManifest, type PartitionManifest } from '../../lake/manifest.js';
import type { ObjectStore } from '../../lake/store.js';
import { classifyDbError } from '../../source/connect.js';
import { sourceStateQuery } from '../../source/queries.js';
import type { SkipReason } from '../contracts.js';

/** The day's rows in the source now: how many, and their latest change (the table's `changedAt`). */
export interface SourceDayState {
  readonly count: number;
  /** ISO 8601; undefined for a day without rows. */
  readonly lastChange: string | undefined;
}

/** What a check of one published day found. */
export interface DayCheck {
  readonly date: string;
  readonly state: 'stale' | SkipReason;
  /** The figures that decided it, for the plan's output and the summary. */
  readonly detail: string;
}

const count = (n: number) => n.toLocaleString('en-US');

/** The partition's snapshot time: the earliest of its runs' (see the module comment). */
function snapshotOf(manifest: Pick<PartitionManifest, 'runs'>): string | undefined {
  return manifest.runs.map((run) => run.sourceSnapshotAt).sort()[0];
}

/**
 * Compares a published partition with the source's day now: `stale` with the reason, or `current`
 * with the figures it matched on.
 */
export function checkPartition(manifest: Pick<PartitionManifest, 'runs'>, source: SourceDayState): Pick<DayCheck, 'state' | 'detail'> {
  const snapshotAt = snapshotOf(manifest);
  if (snapshotAt === undefined) return { state: 'stale', detail: 'the manifest records no run' };
  const read = manifest.runs.reduce((n, run) => n + run.sourceCount, 0);
  if (read !== source.count) return { state: 'stale', detail: `source has ${count(source.count)} rows, partition ${count(read)}` };
  if (source.lastChange !== undefined && Date.parse(source.lastChange) > Date.parse(snapshotAt)) {
    return { state: 'stale', detail: `rows changed after ${snapshotAt} (the latest at ${source.lastChange})` };
  }
  return { state: 'current', detail: `${count(read)} rows, none changed after ${snapshotAt}` };
}

/** Counts `table`'s rows of `day` in the source now and finds their latest change: one query on the partition column's index. */
export async function sourceDayState(client: pg.Client, day: CalendarDay, timeZone: string, table: FactTable = RENTALS): Promise<SourceDayState> {
  try {
    const { rows } = await client.query<{ n: string; last_change: Date | null }>(sourceStateQuery(table, dayWindow(day, timeZone)));
    return { count: Number(rows[0].n), lastChange: rows[0].last_change?.toISOString() };
  } catch (error) {
    throw classifyDbError(error, `count source rows of ${day.iso}`);
  }
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
 * Checks each of `days` against the source: its manifest, then for a published day one query for
 * its count and latest change (on one connection, one day after another).
 */
export async function checkDays(request: CheckDaysRequest): Promise<DayCheck[]> {
  const { store, days, timeZone } = request;
  const manifests = await Promise.all(days.map(async (day) => (await readManifest(store, day))?.manifest));
  const published = days.filter((_, i) => manifests[i] !== undefined);
  const states = new Map<string, SourceDayState>();
  if (published.length > 0) {
    await request.withSource(async (client) => {
      for (const day of published) states.set(day.iso, await sourceDayState(client, day, timeZone, request.table));
    });
  }
  return days.map((day, i): DayCheck => {
    const manifest = manifests[i];
    if (!manifest) return { date: day.iso, state: 'unpublished', detail: 'never published: the lookback republishes published days only' };
    return { date: day.iso, ...checkPartition(manifest, states.get(day.iso)!) };
  });
}
