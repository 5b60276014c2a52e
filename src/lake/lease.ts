/**
 * One writer per partition at a time. The first stage of a run (plan-day) takes the day's lock
 * with a create-only conditional write (`If-None-Match: *`), or an `If-Match` takeover; every
 * later stage renews it (it must still be the run's) and validate releases it after publishing.
 * A day that fails releases it too (the state machine's ReleaseDay step, or the stage itself on
 * a terminal error, or plan-day on any error); a transient error of a later stage keeps it for the
 * retry. A lock expires, so a crashed run cannot hold a day forever; the same owner (one Step
 * Functions execution) may take its own lock over at once. Anyone else meets
 * `PartitionBusyError`, which the state machine retries with backoff: the second run waits, then
 * runs on top of the first one's result.
 */
import { partitionPath, type CalendarDay } from '../core/day.js';
import { isRetryable, LockLostError, PartitionBusyError, PreconditionFailedError } from '../core/errors.js';
import type { ObjectStore } from './store.js';

export interface PartitionLock {
  readonly owner: string;
  readonly runId: string;
  readonly acquiredAt: string;
  readonly expiresAt: string;
}

export function lockKey(day: CalendarDay): string {
  return `_locks/rentals/${partitionPath(day)}.json`;
}

async function readLock(store: ObjectStore, day: CalendarDay): Promise<{ lock: PartitionLock; etag: string | undefined } | undefined> {
  const key = lockKey(day);
  const object = await store.getObject(key);
  if (!object) return undefined;
  try {
    return { lock: JSON.parse(Buffer.from(object.body).toString('utf8')) as PartitionLock, etag: object.etag };
  } catch {
    // An unreadable lock is treated as expired: it cannot name a live run.
    return { lock: { owner: '', runId: '', acquiredAt: '', expiresAt: '' }, etag: object.etag };
  }
}

/** Takes the lock of `day` for `runId` on behalf of `owner`, or throws `PartitionBusyError`. */
export async function acquireLock(
  store: ObjectStore,
  day: CalendarDay,
  request: { owner: string; runId: string; ttlMs: number; now?: Date },
): Promise<PartitionLock> {
  const now = request.now ?? new Date();
  const lock: PartitionLock = {
    owner: request.owner,
    runId: request.runId,
    acquiredAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + request.ttlMs).toISOString(),
  };
  const body = `${JSON.stringify(lock)}\n`;
  const key = lockKey(day);
  try {
    await store.putObject(key, body, { contentType: 'application/json', ifNoneMatch: true });
    return lock;
  } catch (error) {
    if (!(error instanceof PreconditionFailedError)) throw error;
  }
  const current = await readLock(store, day);
  if (current && current.lock.owner !== request.owner && current.lock.expiresAt > now.toISOString()) {
    throw new PartitionBusyError(`partition ${day.iso} is busy: run ${current.lock.runId} holds it until ${current.lock.expiresAt}`);
  }
  try {
    await store.putObject(
      key,
      body,
      current ? { contentType: 'application/json', ifMatch: current.etag } : { contentType: 'application/json', ifNoneMatch: true },
    );
  } catch (error) {
    if (!(error instanceof PreconditionFailedError)) throw error;
    // Another stage of the same run (a parallel hour range) wrote it meanwhile: it is ours all the same.
    const now = await readLock(store, day);
    if (now?.lock.runId === request.runId) return now.lock;
    throw new PartitionBusyError(`partition ${day.iso} is busy: another run took it just now`, { cause: error });
  }
  return lock;
}

/**
 * Extends the lock of `day` that `runId` holds by `ttlMs` from now. Throws `LockLostError` when
 * the run no longer holds it: the day was given up, or the lock expired and another run took it.
 */
export async function renewLock(
  store: ObjectStore,
  day: CalendarDay,
  request: { owner: string; runId: string; ttlMs: number; now?: Date },
): Promise<PartitionLock> {
  const current = await readLock(store, day);
  if (current?.lock.runId !== request.runId) {
    throw new LockLostError(
      current
        ? `run ${request.runId} no longer holds partition ${day.iso}: run ${current.lock.runId} holds it until ${current.lock.expiresAt}`
        : `run ${request.runId} no longer holds partition ${day.iso}: its lock was released (the day was given up) or never taken`,
    );
  }
  const now = request.now ?? new Date();
  const lock: PartitionLock = { ...current.lock, expiresAt: new Date(now.getTime() + request.ttlMs).toISOString() };
  try {
    await store.putObject(lockKey(day), `${JSON.stringify(lock)}\n`, { contentType: 'application/json', ifMatch: current.etag });
    return lock;
  } catch (error) {
    if (!(error instanceof PreconditionFailedError)) throw error;
    // A parallel stage of the same run renewed it first; anything else means it was lost.
    return renewLock(store, day, request).catch((lost: unknown) => {
      throw lost instanceof LockLostError ? lost : error;
    });
  }
}

/** Releases the lock of `day` if `runId` holds it (true then); a lock taken over by another run stays. */
export async function releaseLock(store: ObjectStore, day: CalendarDay, runId: string): Promise<boolean> {
  const current = await readLock(store, day);
  if (current?.lock.runId !== runId) return false;
  await store.deleteObjects([lockKey(day)]);
  return true;
}

/** How a stage takes part in the day's lease (its registry entry says which). */
export type LeasePart = 'acquire' | 'renew' | 'renew-and-release' | 'release' | 'none';

/** Whose lease it is: the day, the run holding it, and who may take it over (the execution). */
export interface LeaseHolder {
  readonly day: CalendarDay;
  readonly runId: string;
  readonly owner: string;
}

/** The lease as a stage sees it: only the stage whose work is to give it back uses it. */
export interface LeaseHandle {
  /** Gives the day back if the run still holds it (true then). */
  release(): Promise<boolean>;
}

/** A handle on the lease of `holder`, for a stage that only gives it back. */
export function leaseHandle(store: ObjectStore, holder: LeaseHolder): LeaseHandle {
  return { release: () => releaseLock(store, holder.day, holder.runId) };
}

/**
 * Runs one stage of a run under the day's lease, as its part says: `acquire` takes it first (the
 * first stage of a run) and gives it back if the stage fails at all (its retry is a new run, and a
 * day whose first stage runs out of retries must not stay locked); `renew` and `renew-and-release`
 * extend it first (the run must still hold it, else `LockLostError`) and give it back when the
 * stage fails for good (a transient failure keeps it for the retry); `renew-and-release` also
 * gives it back after the work (the stage that publishes). `release` and `none` leave it alone.
 */
export async function underLease<T>(
  store: ObjectStore,
  part: LeasePart,
  holder: LeaseHolder,
  ttlMs: number,
  work: (lease: LeaseHandle) => Promise<T>,
): Promise<T> {
  const handle = leaseHandle(store, holder);
  if (part === 'release' || part === 'none') return work(handle);
  const request = { owner: holder.owner, runId: holder.runId, ttlMs };
  if (part === 'acquire') await acquireLock(store, holder.day, request);
  else await renewLock(store, holder.day, request);
  let result: T;
  try {
    result = await work(handle);
  } catch (error) {
    if (part === 'acquire' || !isRetryable(error)) await releaseLock(store, holder.day, holder.runId).catch(() => undefined);
    throw error;
  }
  if (part === 'renew-and-release') await releaseLock(store, holder.day, holder.runId);
  return result;
}
