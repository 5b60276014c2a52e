/**
 * The publication of one day by one run: the object that holds the lake, the day's lease and the
 * execution's interrupt token, and takes every step of the protocol (docs/protocol.md) — take the
 * lease and sweep what earlier runs left, renew it while staging, promote the staged files,
 * commit the manifest with a conditional write, remove what the commit superseded, give the day
 * back. A glob reader sees the old files until the first promotion and only the new ones after the
 * last removal: the publish window, the one moment it can see both.
 *
 * A run that fails before its commit takes back what it promoted; what a killed run leaves is
 * swept by whoever next takes the day's lease, by the release of a failed day, and by `etl clean`.
 */
import type { CalendarDay } from '../core/day.js';
import { isRetryable, LockLostError } from '../core/errors.js';
import type { IcebergUpkeep } from './iceberg/commit.js';
import { keptSupersededFilesOf, syncIcebergDay } from './iceberg/lake-sync.js';
import type { InterruptToken } from './interrupt.js';
import { publishedKeyOf, quarantinePrefix, rentalsPartitionPrefix, stagingPrefix } from './layout.js';
import { acquireLock, type HolderLiveness, type LeaseHolder, type LeasePart, lockKey, readLock, releaseLock, renewLock } from './lease.js';
import { publishManifest, readManifest, removeUnlisted, type PartitionManifest } from './manifest.js';
import type { ObjectStore } from './store.js';

/** Promotions at once (S3 copies are server-side: the limit is requests, not bandwidth). */
const PROMOTE_CONCURRENCY = 16;

export interface PartitionChange {
  /** The run's staged data files (`stagedKey`), each published under `publishedKeyOf`. */
  readonly staged: readonly string[];
  /** The manifest to commit: it names the published keys. */
  readonly next: PartitionManifest;
  /** The manifest it replaces (its ETag), or undefined for a day never published. */
  readonly current: { readonly manifest: PartitionManifest; readonly etag: string | undefined } | undefined;
  /**
   * `compaction`: the same rows rewritten into fewer files, no source run added (an Iceberg
   * `replace` snapshot); a run's publish otherwise (absent).
   */
  readonly kind?: 'run' | 'compaction';
}

/** Timing of one publish: from the first promotion to the last removal, the only mixed moment. */
export interface PublishOutcome {
  readonly removed: readonly string[];
  readonly windowMs: number;
}

/** What a publication needs of the execution it runs in (`LakeSession`). */
export interface PublicationSession {
  readonly token: InterruptToken;
  readonly liveness: HolderLiveness;
  /** How the Iceberg tables are kept (Glue follows them; superseded files may stay a while). */
  readonly iceberg?: IcebergUpkeep;
  /** The publication holds its day's lease until `ttlMs` from now: an interruption gives it back. */
  hold(publication: DayPublication, ttlMs: number): void;
  /** The publication gave its day back (or handed it on for good). */
  forget(publication: DayPublication): void;
}

/** Removes the staging of `runId` (a run that will not publish). */
async function discardStaging(store: ObjectStore, runId: string): Promise<void> {
  const keys = (await store.list(stagingPrefix(runId))).map((o) => o.key);
  if (keys.length > 0) await store.deleteObjects(keys);
}

/**
 * Removes what no published manifest names from `day`: data files in its partition, quarantine
 * files, and the staging of `runIds` (runs of the day that will never publish). Only the holder of
 * the day's lease (or `etl unlock`/`etl clean` for a gone holder) calls it, so nothing it removes
 * is being published. Superseded files the `rentals` table keeps for a while (`iceberg`) stay:
 * only its maintenance removes those. Returns the keys removed.
 */
export async function sweepDay(store: ObjectStore, day: CalendarDay, runIds: readonly string[], iceberg?: IcebergUpkeep): Promise<string[]> {
  const current = await readManifest(store, day);
  const listed = new Set([...(current?.manifest.files.map((f) => f.key) ?? []), ...(current?.manifest.quarantine ?? [])]);
  const [data, quarantine, ...staging] = await Promise.all([
    store.list(rentalsPartitionPrefix(day)),
    store.list(quarantinePrefix(day)),
    ...runIds.map((runId) => store.list(stagingPrefix(runId))),
  ]);
  // The Iceberg table follows the manifest first: it may still name files about to go (a crash between the two commits).
  await syncIcebergDay(store, day, current?.manifest, iceberg);
  const kept = await keptSupersededFilesOf(store, day, iceberg);
  const keys = [...data, ...quarantine].map((o) => o.key).filter((key) => !listed.has(key) && !kept.has(key));
  keys.push(...staging.flat().map((o) => o.key));
  if (keys.length > 0) await store.deleteObjects(keys);
  return keys;
}

async function inBatches<T>(token: InterruptToken, items: readonly T[], size: number, each: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) {
    token.throwIfInterrupted();
    await Promise.all(items.slice(i, i + size).map(each));
  }
}

export class DayPublication {
  /** Set when the run turns out not to hold the day (a retry after its own publish): nothing may be published. */
  #lost: LockLostError | undefined;

  /**
   * @param ttlMs How long each renewal extends the lease; 0 for a caller that holds none (a
   *   benchmark of one stage), whose `confirm` then checks nothing.
   */
  constructor(
    readonly store: ObjectStore,
    readonly holder: LeaseHolder,
    readonly ttlMs: number,
    readonly session: PublicationSession,
  ) {}

  get day(): CalendarDay {
    return this.holder.day;
  }

  get runId(): string {
    return this.holder.runId;
  }

  /** The lock object's key (what the execution remembers it holds). */
  get lockKey(): string {
    return lockKey(this.holder.day);
  }

  #request() {
    return { owner: this.holder.owner, runId: this.holder.runId, ttlMs: this.ttlMs, liveness: this.session.liveness };
  }

  /**
   * Takes the day (or throws `PartitionBusyError`), then sweeps whatever earlier runs of it left (a
   * killed run's staging, files it promoted but never published): this run holds the day, so nothing
   * else is being published.
   */
  async acquire(): Promise<void> {
    const taken = await acquireLock(this.store, this.day, this.#request());
    this.session.hold(this, this.ttlMs);
    await sweepDay(this.store, this.day, taken.replaced ? [taken.replaced.runId] : [], this.session.iceberg);
  }

  /** Extends the lease, or throws `LockLostError` when the run no longer holds the day. */
  async renew(): Promise<void> {
    await renewLock(this.store, this.day, this.#request());
    this.session.hold(this, this.ttlMs);
  }

  /** Renews the lease now, or throws `LockLostError`: called right before anything is published. */
  async confirm(): Promise<void> {
    if (this.#lost) throw this.#lost;
    if (this.ttlMs > 0) await this.renew();
  }

  /** Marks the run as not holding the day: `confirm` throws `error`, `release` gives nothing back. */
  detach(error: LockLostError): void {
    this.#lost = error;
  }

  /** Renews the lease every third of its length while `work` runs; a lost lease is reported by the next renewal or `confirm`. */
  async heartbeat<T>(work: () => Promise<T>): Promise<T> {
    const timer = setInterval(() => this.renew().catch(() => undefined), Math.max(1_000, Math.floor(this.ttlMs / 3)));
    timer.unref();
    try {
      return await work();
    } finally {
      clearInterval(timer);
    }
  }

  /**
   * Publishes the run's staged files into the day's partition: promote (in parallel), commit the
   * manifest with a conditional write, remove the files it superseded and the run's staging. Not
   * committed (an error, an interruption before the commit): what was promoted is taken back.
   */
  async publish(change: PartitionChange): Promise<PublishOutcome> {
    if (this.#lost) throw this.#lost;
    const { store, day, runId } = this;
    const token = this.session.token;
    return token.track(async () => {
      const promoted: string[] = [];
      const started = performance.now();
      try {
        await inBatches(token, change.staged, PROMOTE_CONCURRENCY, async (staged) => {
          const key = publishedKeyOf(runId, staged);
          await store.promote(staged, key);
          promoted.push(key);
        });
        token.throwIfInterrupted();
        await publishManifest(store, day, change.next, change.current?.etag, change.current !== undefined);
      } catch (error) {
        // Not committed: no reader may keep seeing these files. The staged copies stay for a retry.
        const published = new Set(change.current?.manifest.files.map((f) => f.key));
        await store.deleteObjects(promoted.filter((key) => !published.has(key))).catch(() => undefined);
        throw error;
      }
      // The Iceberg commit, after the manifest's (the authoritative record) and before the superseded files go.
      const iceberg = this.session.iceberg;
      await syncIcebergDay(store, day, change.next, { ...iceberg, ...(change.kind === 'compaction' ? { operation: 'replace' } : {}) });
      const removed = await removeUnlisted(store, day, change.next, await keptSupersededFilesOf(store, day, iceberg));
      const windowMs = performance.now() - started;
      await discardStaging(store, runId);
      return { removed, windowMs };
    });
  }

  /** Sweeps the day of what no manifest names and of the staging of `runIds` (see `sweepDay`). */
  sweep(runIds: readonly string[] = [this.runId]): Promise<string[]> {
    return sweepDay(this.store, this.day, runIds, this.session.iceberg);
  }

  /** Removes the run's staging (a stage that finished after its day was given up). */
  discardStaging(): Promise<void> {
    return discardStaging(this.store, this.runId);
  }

  /** Sweeps what the run left that no manifest names, then gives the day back if the run still holds it (true then). */
  async release(): Promise<boolean> {
    this.session.forget(this);
    if (this.#lost) return false;
    const current = await readLock(this.store, this.day);
    if (current?.lock.runId !== this.runId) return false;
    await this.sweep();
    return releaseLock(this.store, this.day, this.runId);
  }

  /** Gives the day back after a publish (nothing left to sweep: the publish removed it). */
  async #releaseAfterPublish(): Promise<void> {
    this.session.forget(this);
    await releaseLock(this.store, this.day, this.runId);
  }

  /**
   * Runs one stage of the run as its part in the lease says: `acquire` takes the day first (the
   * first stage of a run) and gives it back if the stage fails at all (its retry is a new run, and
   * a day whose first stage runs out of retries must not stay locked); `renew` and
   * `renew-and-release` extend it first (the run must still hold it, else `LockLostError`) and give
   * it back when the stage fails for good (a transient failure keeps it for the retry);
   * `renew-and-release` also gives it back after the work (the stage that publishes), and runs
   * detached when the lease is gone. `release` and `none` leave the lease alone.
   */
  async runStage<T>(part: LeasePart, work: (publication: DayPublication) => Promise<T>): Promise<T> {
    if (part === 'release' || part === 'none') return work(this);
    if (part === 'acquire') await this.acquire();
    else {
      try {
        await this.renew();
      } catch (error) {
        if (!(part === 'renew-and-release' && error instanceof LockLostError)) throw error;
        // The stage that publishes may be a retry of one that published and gave the day back, its
        // answer lost (a timeout after the commit): it may still answer for that publish, but it
        // cannot publish anything nor give back what it does not hold.
        this.detach(error);
        return work(this);
      }
    }
    let result: T;
    try {
      result = await this.heartbeat(() => work(this));
    } catch (error) {
      if (part === 'acquire' || !isRetryable(error)) await this.release().catch(() => undefined);
      throw error;
    }
    if (part === 'renew') {
      // A stage that finished after its day was given up (a sibling range failed for good, or the
      // lease ran out) takes back what its run staged: the release's sweep may have come before it.
      try {
        await this.renew();
      } catch (error) {
        if (error instanceof LockLostError) await this.discardStaging().catch(() => undefined);
        throw error;
      }
    }
    if (part === 'renew-and-release') await this.#releaseAfterPublish();
    return result;
  }
}
