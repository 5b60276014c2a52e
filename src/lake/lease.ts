/**
 * One writer per partition at a time: a lease. The first stage of a run (plan-day) takes the
 * day's lock with a create-only conditional write (`If-None-Match: *`), or an `If-Match` takeover;
 * every later stage renews it (it must still be the run's), keeps renewing it while it works
 * (a heartbeat every third of the lease), and validate releases it after publishing. A day that
 * fails releases it too (the state machine's ReleaseDay step, or the stage itself on a terminal
 * error, or plan-day on any error); a transient error of a later stage keeps it for the retry.
 *
 * The lease is short (minutes), so a crashed run cannot hold a day for long, and it is taken over
 * at once when its holder is provably gone (`HolderLiveness`: locally the process that wrote it
 * is dead; in AWS its execution is no longer running). The same owner (one Step Functions
 * execution) may take its own lock over at once. Anyone else meets `PartitionBusyError`, which the
 * state machine retries for longer than a lease lasts: the second run waits, then runs on top of
 * the first one's result. Whoever takes the day sweeps what earlier runs left (`DayPublication`).
 *
 * The same lock guards the publication of a snapshot table (`lockTarget` names either). This
 * module holds the lock object's primitives only, without state; an execution's leases are held by
 * its `LakeSession`, a run's steps by its `DayPublication`. See docs/protocol.md, "The lease".
 */
import { hostname } from 'node:os';
import { partitionPath, type CalendarDay } from '../core/day.js';
import { LockLostError, PartitionBusyError, PreconditionFailedError } from '../core/errors.js';
import { snapshotLockKey } from './layout.js';
import type { ObjectStore } from './store.js';

export interface PartitionLock {
  readonly owner: string;
  readonly runId: string;
  readonly acquiredAt: string;
  readonly expiresAt: string;
  /** The machine and process that took it (a local run's holder is alive while this process is). */
  readonly host?: string;
  readonly pid?: number;
}

/**
 * Tells whether the holder of a lock is provably gone (true), or alive or unknown (false): only a
 * gone holder's lease is taken over before it expires.
 */
export type HolderLiveness = (lock: PartitionLock) => Promise<boolean>;

/** True when `pid` names no process on this machine. */
export function processGone(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    // EPERM: it exists, it is someone else's.
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** A local run's holder is gone when it wrote the lock on this machine and its process has ended. */
export const localLiveness: HolderLiveness = async (lock) =>
  lock.host === hostname() && typeof lock.pid === 'number' && Number.isInteger(lock.pid) && lock.pid > 0 && processGone(lock.pid);

/** Says who holds a lock, for messages: its run, its process or execution, and until when. */
export function describeHolder(lock: PartitionLock): string {
  const where = lock.pid !== undefined && lock.host ? `process ${lock.pid} on ${lock.host}` : lock.owner;
  return `run ${lock.runId} (${where}) holds it until ${lock.expiresAt}`;
}

export function lockKey(day: CalendarDay): string {
  return `_locks/rentals/${partitionPath(day)}.json`;
}

/** What a lock guards: a day's partition, or a snapshot table's published copy. */
export interface LockTarget {
  /** The lock object's key. */
  readonly key: string;
  /** How messages name it: `partition 2026-11-17`, `snapshot table users`. */
  readonly label: string;
}

/** The lock of `day`'s partition, or of a snapshot table (`{ table }`). */
export function lockTarget(of: CalendarDay | { readonly table: string }): LockTarget {
  return 'table' in of ? { key: snapshotLockKey(of.table), label: `snapshot table ${of.table}` } : { key: lockKey(of), label: `partition ${of.iso}` };
}

const targetOf = (of: CalendarDay | LockTarget): LockTarget => ('key' in of ? of : lockTarget(of));

/** The lock of `day` (or of a target) and its ETag, or undefined when nobody holds it. */
export async function readLock(store: ObjectStore, of: CalendarDay | LockTarget): Promise<{ lock: PartitionLock; etag: string | undefined } | undefined> {
  const object = await store.getObject(targetOf(of).key);
  if (!object) return undefined;
  try {
    return { lock: JSON.parse(Buffer.from(object.body).toString('utf8')) as PartitionLock, etag: object.etag };
  } catch {
    // An unreadable lock is treated as expired: it cannot name a live run.
    return { lock: { owner: '', runId: '', acquiredAt: '', expiresAt: '' }, etag: object.etag };
  }
}

export interface LeaseRequest {
  readonly owner: string;
  readonly runId: string;
  readonly ttlMs: number;
  readonly now?: Date;
  /** Tells a gone holder from a live one (default: `localLiveness`). */
  readonly liveness?: HolderLiveness;
}

/**
 * Takes the lock of `day` (or of a target) for `runId` on behalf of `owner`, or throws
 * `PartitionBusyError`. `replaced` is the lock it took over (an expired one, or one whose holder
 * is gone), if any.
 */
export async function acquireLock(
  store: ObjectStore,
  of: CalendarDay | LockTarget,
  request: LeaseRequest,
): Promise<PartitionLock & { replaced?: PartitionLock }> {
  const target = targetOf(of);
  const now = request.now ?? new Date();
  const lock: PartitionLock = {
    owner: request.owner,
    runId: request.runId,
    acquiredAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + request.ttlMs).toISOString(),
    host: hostname(),
    pid: process.pid,
  };
  const body = `${JSON.stringify(lock)}\n`;
  const { key } = target;
  try {
    await store.putObject(key, body, { contentType: 'application/json', ifNoneMatch: true });
    return lock;
  } catch (error) {
    if (!(error instanceof PreconditionFailedError)) throw error;
  }
  const current = await readLock(store, target);
  if (
    current &&
    current.lock.owner !== request.owner &&
    current.lock.expiresAt > now.toISOString() &&
    !(await (request.liveness ?? localLiveness)(current.lock))
  ) {
    throw new PartitionBusyError(`${target.label} is busy: ${describeHolder(current.lock)}`);
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
    const now = await readLock(store, target);
    if (now?.lock.runId === request.runId) return now.lock;
    throw new PartitionBusyError(`${target.label} is busy: another run took it just now`, { cause: error });
  }
  return current && current.lock.runId !== request.runId ? { ...lock, replaced: current.lock } : lock;
}

/**
 * Extends the lock of `day` (or of a target) that `runId` holds by `ttlMs` from now. Throws
 * `LockLostError` when the run no longer holds it: the day was given up, or the lock expired and
 * another run took it.
 */
export async function renewLock(store: ObjectStore, of: CalendarDay | LockTarget, request: LeaseRequest): Promise<PartitionLock> {
  const target = targetOf(of);
  const current = await readLock(store, target);
  if (current?.lock.runId !== request.runId) {
    throw new LockLostError(
      current
        ? `run ${request.runId} no longer holds ${target.label}: run ${current.lock.runId} holds it until ${current.lock.expiresAt}`
        : `run ${request.runId} no longer holds ${target.label}: its lock was released (the day was given up) or never taken`,
    );
  }
  const now = request.now ?? new Date();
  const lock: PartitionLock = { ...current.lock, expiresAt: new Date(now.getTime() + request.ttlMs).toISOString() };
  try {
    await store.putObject(target.key, `${JSON.stringify(lock)}\n`, { contentType: 'application/json', ifMatch: current.etag });
    return lock;
  } catch (error) {
    if (!(error instanceof PreconditionFailedError)) throw error;
    // A parallel stage of the same run renewed it first; anything else means it was lost.
    return renewLock(store, target, request).catch((lost: unknown) => {
      throw lost instanceof LockLostError ? lost : error;
    });
  }
}

/** Releases the lock of `day` (or of a target) if `runId` holds it (true then); a lock taken over by another run stays. */
export async function releaseLock(store: ObjectStore, of: CalendarDay | LockTarget, runId: string): Promise<boolean> {
  const target = targetOf(of);
  const current = await readLock(store, target);
  if (current?.lock.runId !== runId) return false;
  await store.deleteObjects([target.key]);
  return true;
}

/** How a stage takes part in the day's lease (its registry entry says which; `DayPublication.runStage` acts on it). */
export type LeasePart = 'acquire' | 'renew' | 'renew-and-release' | 'release' | 'none';

/** Whose lease it is: the day, the run holding it, and who may take it over (the execution). */
export interface LeaseHolder {
  readonly day: CalendarDay;
  readonly runId: string;
  readonly owner: string;
}
