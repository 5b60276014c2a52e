/**
 * Clearing what interrupted runs left, outside a run: `etl unlock` gives back one day whose
 * holder is gone (or, forced, any holder), `etl clean` does it for the whole lake. Each removes a
 * dead run's staging and whatever no manifest names in the partition folders, so a glob reader
 * never meets a killed run's files; on a local disk empty folders go too. `etl clean` also keeps
 * the `rentals` Iceberg table: superseded files kept N hours (`ICEBERG_KEEP_SUPERSEDED_HOURS`) go
 * once their time is up, with the snapshots that named them.
 */
import { parseDay, type CalendarDay } from '../core/day.js';
import { RENTALS } from '../core/tables.js';
import { runOfStagedKey } from './layout.js';
import { type HolderLiveness, lockKey, readLock, releaseLock, type PartitionLock } from './lease.js';
import { sweepDay } from './day-publication.js';
import { type IcebergUpkeep, maintainIcebergTable } from './iceberg/commit.js';
import type { ObjectStore } from './store.js';

export type UnlockOutcome =
  | { readonly kind: 'not-locked' }
  | { readonly kind: 'held'; readonly lock: PartitionLock }
  | { readonly kind: 'unlocked'; readonly lock: PartitionLock; readonly removed: readonly string[] };

/** A lock that may be taken from its holder: expired, or its holder provably gone. */
async function isStale(lock: PartitionLock, liveness: HolderLiveness, now: Date): Promise<boolean> {
  return !(lock.expiresAt > now.toISOString()) || (await liveness(lock));
}

/**
 * Gives `day` back when its holder is gone (its lease expired, or its process or execution
 * ended), or whatever holds it when `force`; sweeps what its run left first.
 */
export async function unlockDay(
  store: ObjectStore,
  day: CalendarDay,
  options: { force: boolean; liveness: HolderLiveness; now?: Date; iceberg?: IcebergUpkeep },
): Promise<UnlockOutcome> {
  const current = await readLock(store, day);
  if (!current) return { kind: 'not-locked' };
  const { lock } = current;
  if (!options.force && !(await isStale(lock, options.liveness, options.now ?? new Date()))) return { kind: 'held', lock };
  const removed = await sweepDay(store, day, lock.runId ? [lock.runId] : [], options.iceberg);
  await releaseLock(store, day, lock.runId);
  return { kind: 'unlocked', lock, removed: [...removed, lockKey(day)] };
}

export interface CleanOutcome {
  /** Days given back: their holder was gone. */
  readonly unlocked: readonly string[];
  /** Days left alone: a live run holds them. */
  readonly held: readonly string[];
  /** Keys removed: dead runs' staging, unpublished files in partitions, superseded files whose time is up. */
  readonly removed: readonly string[];
}

const LOCK_DAY = /year=(\d{4})\/month=(\d{2})\/day=(\d{2})\.json$/;
const PARTITION_DAY = /year=(\d{4})\/month=(\d{2})\/day=(\d{2})\//;

/** Sweeps the whole lake of what runs no longer alive left; days a live run holds are left alone. */
export async function cleanLake(store: ObjectStore, options: { liveness: HolderLiveness; now?: Date; iceberg?: IcebergUpkeep }): Promise<CleanOutcome> {
  const now = options.now ?? new Date();
  const unlocked: string[] = [];
  const held: string[] = [];
  const removed: string[] = [];
  const liveRuns = new Set<string>();
  for (const object of await store.list(`_locks/${RENTALS.name}/`)) {
    const m = LOCK_DAY.exec(object.key);
    if (!m) continue;
    const day = parseDay(`${m[1]}-${m[2]}-${m[3]}`, 'lock');
    const outcome = await unlockDay(store, day, { force: false, liveness: options.liveness, now, iceberg: options.iceberg });
    if (outcome.kind === 'held') {
      held.push(day.iso);
      liveRuns.add(outcome.lock.runId);
    } else if (outcome.kind === 'unlocked') {
      unlocked.push(day.iso);
      removed.push(...outcome.removed);
    }
  }
  // Staging of runs that hold no day (finished, failed or killed).
  const deadStaging = (await store.list('_staging/')).map((o) => o.key).filter((key) => !liveRuns.has(runOfStagedKey(key) ?? ''));
  if (deadStaging.length > 0) await store.deleteObjects(deadStaging);
  removed.push(...deadStaging);
  // Partitions nobody holds: whatever their manifest does not name.
  const days = new Set<string>();
  for (const object of await store.list(`${RENTALS.name}/`)) {
    const m = PARTITION_DAY.exec(object.key);
    if (m) days.add(`${m[1]}-${m[2]}-${m[3]}`);
  }
  for (const iso of [...days].sort()) {
    if (held.includes(iso)) continue;
    removed.push(...(await sweepDay(store, parseDay(iso, 'partition'), [], options.iceberg)));
  }
  // The table's maintenance: removals whose files were kept long enough.
  const maintained = await maintainIcebergTable(store, RENTALS.name, options.iceberg);
  removed.push(...(maintained?.supersededRemoved ?? []));
  return { unlocked, held, removed };
}
