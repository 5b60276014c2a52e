/**
 * One writer per partition at a time. Each stage of a run takes (or keeps) the day's lock with a
 * create-only conditional write (`If-None-Match: *`), or an `If-Match` takeover; the lock is
 * released when a stage fails and after publishing. A lock expires, so a crashed run cannot hold
 * a day forever; the same owner (one Step Functions execution, whose retries make new runs) may
 * take its own lock over at once. Anyone else meets `PartitionBusyError`, which the state machine
 * retries with backoff: the second run waits, then runs on top of the first one's result.
 */
import { partitionPath, type CalendarDay } from '../day.js';
import { PartitionBusyError, PreconditionFailedError } from '../errors.js';
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
    throw new PartitionBusyError(
      `partition ${day.iso} is busy: run ${current.lock.runId} holds it until ${current.lock.expiresAt}`,
    );
  }
  try {
    await store.putObject(key, body, current ? { contentType: 'application/json', ifMatch: current.etag } : { contentType: 'application/json', ifNoneMatch: true });
  } catch (error) {
    if (error instanceof PreconditionFailedError) throw new PartitionBusyError(`partition ${day.iso} is busy: another run took it just now`, { cause: error });
    throw error;
  }
  return lock;
}

/** Releases the lock of `day` if `runId` holds it; a lock taken over by another run stays. */
export async function releaseLock(store: ObjectStore, day: CalendarDay, runId: string): Promise<void> {
  const current = await readLock(store, day);
  if (current?.lock.runId === runId) await store.deleteObjects([lockKey(day)]);
}

export interface LockRequest {
  readonly owner: string;
  readonly runId: string;
  readonly ttlMs: number;
}

/**
 * Runs one stage of a run under the day's lock: takes (or keeps) the lock first, releases it when
 * the stage fails so a retry or another run can go on, and also when `releaseAfter` is set (the
 * stage that publishes).
 */
export async function underPartitionLock<T>(store: ObjectStore, day: CalendarDay, request: LockRequest, releaseAfter: boolean, work: () => Promise<T>): Promise<T> {
  await acquireLock(store, day, request);
  let result: T;
  try {
    result = await work();
  } catch (error) {
    await releaseLock(store, day, request.runId).catch(() => undefined);
    throw error;
  }
  if (releaseAfter) await releaseLock(store, day, request.runId);
  return result;
}
