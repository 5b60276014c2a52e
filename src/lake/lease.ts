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
 * the first one's result. Whoever takes the day sweeps what earlier runs left (`publish.ts`).
 */
import { hostname } from 'node:os';
import { partitionPath, type CalendarDay } from '../core/day.js';
import { isRetryable, LockLostError, PartitionBusyError, PreconditionFailedError } from '../core/errors.js';
import { discardStaging, sweepDay } from './publish.js';
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
function processGone(pid: number): boolean {
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

/** The lock of `day` and its ETag, or undefined when nobody holds the day. */
export async function readLock(store: ObjectStore, day: CalendarDay): Promise<{ lock: PartitionLock; etag: string | undefined } | undefined> {
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

export interface LeaseRequest {
  readonly owner: string;
  readonly runId: string;
  readonly ttlMs: number;
  readonly now?: Date;
  /** Tells a gone holder from a live one (default: `localLiveness`). */
  readonly liveness?: HolderLiveness;
}

/**
 * Takes the lock of `day` for `runId` on behalf of `owner`, or throws `PartitionBusyError`.
 * `replaced` is the lock it took over (an expired one, or one whose holder is gone), if any.
 */
export async function acquireLock(store: ObjectStore, day: CalendarDay, request: LeaseRequest): Promise<PartitionLock & { replaced?: PartitionLock }> {
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
  const key = lockKey(day);
  try {
    await store.putObject(key, body, { contentType: 'application/json', ifNoneMatch: true });
    return lock;
  } catch (error) {
    if (!(error instanceof PreconditionFailedError)) throw error;
  }
  const current = await readLock(store, day);
  if (
    current &&
    current.lock.owner !== request.owner &&
    current.lock.expiresAt > now.toISOString() &&
    !(await (request.liveness ?? localLiveness)(current.lock))
  ) {
    throw new PartitionBusyError(`partition ${day.iso} is busy: ${describeHolder(current.lock)}`);
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
  return current && current.lock.runId !== request.runId ? { ...lock, replaced: current.lock } : lock;
}

/**
 * Extends the lock of `day` that `runId` holds by `ttlMs` from now. Throws `LockLostError` when
 * the run no longer holds it: the day was given up, or the lock expired and another run took it.
 */
export async function renewLock(store: ObjectStore, day: CalendarDay, request: LeaseRequest): Promise<PartitionLock> {
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

/** The lease as a stage sees it. */
export interface LeaseHandle {
  /**
   * Sweeps what the run left that no manifest names (its staging, unpublished files in the
   * partition), then gives the day back if the run still holds it (true then).
   */
  release(): Promise<boolean>;
  /** Renews the lease now, or throws `LockLostError`: the stage that publishes calls it right before. */
  confirm(): Promise<void>;
}

/** A handle on the lease of `holder` (`ttlMs`: how long `confirm` extends it). */
export function leaseHandle(store: ObjectStore, holder: LeaseHolder, ttlMs = 0): LeaseHandle {
  return {
    release: () => releaseDay(store, holder),
    confirm: async () => {
      if (ttlMs > 0) await renewLock(store, holder.day, { owner: holder.owner, runId: holder.runId, ttlMs });
    },
  };
}

/** Sweeps the run's leftovers under its lease, then gives the lease back. */
async function releaseDay(store: ObjectStore, holder: LeaseHolder): Promise<boolean> {
  if (held.get(lockKey(holder.day))?.holder.runId === holder.runId) held.delete(lockKey(holder.day));
  const current = await readLock(store, holder.day);
  if (current?.lock.runId !== holder.runId) return false;
  await sweepDay(store, holder.day, [holder.runId]);
  return releaseLock(store, holder.day, holder.runId);
}

/**
 * The leases this process holds now, by lock key: what a local run gives back when interrupted.
 * A lease handed on to another process (a Lambda's next stage runs elsewhere) is forgotten once it
 * would have expired here.
 */
const held = new Map<string, { readonly store: ObjectStore; readonly holder: LeaseHolder; readonly until: number }>();

function remember(store: ObjectStore, holder: LeaseHolder, ttlMs: number): void {
  const now = Date.now();
  for (const [key, lease] of held) if (lease.until < now) held.delete(key);
  held.set(lockKey(holder.day), { store, holder, until: now + ttlMs });
}

/** Gives back every lease this process holds, each after sweeping its run's leftovers. Returns the days. */
export async function releaseHeldLeases(): Promise<string[]> {
  const leases = [...held.values()];
  held.clear();
  await Promise.all(leases.map(({ store, holder }) => releaseDay(store, holder).catch(() => false)));
  return leases.map(({ holder }) => holder.day.iso);
}

/** Renews the lease every third of its length while `work` runs; a lost lease is reported by the next renewal or `confirm`. */
async function withHeartbeat<T>(store: ObjectStore, holder: LeaseHolder, ttlMs: number, work: () => Promise<T>): Promise<T> {
  const request = { owner: holder.owner, runId: holder.runId, ttlMs };
  const timer = setInterval(
    () => {
      renewLock(store, holder.day, request).then(
        () => remember(store, holder, ttlMs),
        () => undefined,
      );
    },
    Math.max(1_000, Math.floor(ttlMs / 3)),
  );
  timer.unref();
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

/**
 * Runs one stage of a run under the day's lease, as its part says: `acquire` takes it first (the
 * first stage of a run) and gives it back if the stage fails at all (its retry is a new run, and a
 * day whose first stage runs out of retries must not stay locked); `renew` and `renew-and-release`
 * extend it first (the run must still hold it, else `LockLostError`) and give it back when the
 * stage fails for good (a transient failure keeps it for the retry); `renew-and-release` also
 * gives it back after the work (the stage that publishes), and runs without it when it is gone,
 * with a handle whose `confirm` throws `LockLostError`. `release` and `none` leave it alone.
 */
export async function underLease<T>(
  store: ObjectStore,
  part: LeasePart,
  holder: LeaseHolder,
  ttlMs: number,
  work: (lease: LeaseHandle) => Promise<T>,
  liveness: HolderLiveness = localLiveness,
): Promise<T> {
  const handle = leaseHandle(store, holder, ttlMs);
  if (part === 'release' || part === 'none') return work(handle);
  const request = { owner: holder.owner, runId: holder.runId, ttlMs, liveness };
  if (part === 'acquire') {
    const taken = await acquireLock(store, holder.day, request);
    // Whatever earlier runs of the day left (a killed run's staging, files it promoted but never
    // published) goes now: this run holds the day, so nothing else is being published.
    await sweepDay(store, holder.day, taken.replaced ? [taken.replaced.runId] : []);
  } else {
    try {
      await renewLock(store, holder.day, request);
    } catch (error) {
      if (!(part === 'renew-and-release' && error instanceof LockLostError)) throw error;
      // The stage that publishes may be a retry of one that published and gave the day back, its
      // answer lost (a timeout after the commit): it may still answer for that publish, but it
      // cannot publish anything (`confirm` throws) nor give back what it does not hold.
      return work({ release: async () => false, confirm: async () => Promise.reject(error) });
    }
  }
  const key = lockKey(holder.day);
  remember(store, holder, ttlMs);
  let result: T;
  try {
    result = await withHeartbeat(store, holder, ttlMs, () => work(handle));
  } catch (error) {
    if (part === 'acquire' || !isRetryable(error)) await handle.release().catch(() => undefined);
    throw error;
  }
  if (part === 'renew') {
    // A stage that finished after its day was given up (a sibling range failed for good, or the
    // lease ran out) takes back what its run staged: the release's sweep may have come before it.
    try {
      await renewLock(store, holder.day, request);
    } catch (error) {
      if (error instanceof LockLostError) await discardStaging(store, holder.runId).catch(() => undefined);
      throw error;
    }
  }
  if (part === 'renew-and-release') {
    held.delete(key);
    await releaseLock(store, holder.day, holder.runId);
  }
  return result;
}
