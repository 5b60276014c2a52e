/**
 * The publish protocol of a partition, every step of it in this module (as Delta's PROTOCOL.md
 * keeps its commit): a run writes its data files under `_staging/<runId>/`, where no reader of the
 * Hive tree looks; once validated, they are promoted into the partition (a hard link on a local
 * disk, a server-side copy on S3, in parallel); the new manifest is then written with a
 * conditional PUT, the commit point; last, the files the manifest no longer names and the run's
 * staging go. A glob reader sees the old files until the first promotion and only the new ones
 * after the last removal: the publish window, the one moment it can see both.
 *
 * A run that fails before its commit takes back what it promoted; what a killed run leaves is
 * swept by whoever next takes the day's lease (`sweepDay`), by the release of a failed day, and by
 * `etl clean`.
 */
import type { CalendarDay } from '../core/day.js';
import { InterruptedError } from '../core/errors.js';
import { publishedKeyOf, quarantinePrefix, rentalsPartitionPrefix, snapshotManifestKey, stagingPrefix } from './layout.js';
import { publishManifest, readManifest, removeUnlisted, type PartitionManifest } from './manifest.js';
import type { ObjectStore } from './store.js';

/** Promotions at once (S3 copies are server-side: the limit is requests, not bandwidth). */
const PROMOTE_CONCURRENCY = 16;

// --- Interruption (a local run's Ctrl-C) -------------------------------------------------------

let interrupted = false;
const inFlight = new Set<Promise<unknown>>();

/** Throws `InterruptedError` once this process was interrupted (`interruptPublishing`). */
export function ensureNotInterrupted(): void {
  if (interrupted) throw new InterruptedError('the run was interrupted: nothing more is published');
}

/**
 * Stops this process from publishing: a publish not yet committed gives up (taking back what it
 * promoted), one committing finishes. Resolves once none is in flight, so the caller may then
 * sweep and release the leases it holds.
 */
export async function interruptPublishing(): Promise<void> {
  interrupted = true;
  await Promise.allSettled([...inFlight]);
}

// --- Publish -----------------------------------------------------------------------------------

export interface PartitionChange {
  /** The run whose staged files are published. */
  readonly runId: string;
  /** Its staged data files (`stagedKey`), each published under `publishedKeyOf`. */
  readonly staged: readonly string[];
  /** The manifest to commit: it names the published keys. */
  readonly next: PartitionManifest;
  /** The manifest it replaces (its ETag), or undefined for a day never published. */
  readonly current: { readonly manifest: PartitionManifest; readonly etag: string | undefined } | undefined;
}

/** Timing of one publish: from the first promotion to the last removal, the only mixed moment. */
export interface PublishOutcome {
  readonly removed: readonly string[];
  readonly windowMs: number;
}

async function inBatches<T>(items: readonly T[], size: number, each: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) {
    ensureNotInterrupted();
    await Promise.all(items.slice(i, i + size).map(each));
  }
}

/** Publishes `change` into `day`'s partition; see the module comment for the steps. */
export async function publishPartition(store: ObjectStore, day: CalendarDay, change: PartitionChange): Promise<PublishOutcome> {
  ensureNotInterrupted();
  const work = (async () => {
    const promoted: string[] = [];
    const started = performance.now();
    try {
      await inBatches(change.staged, PROMOTE_CONCURRENCY, async (staged) => {
        const key = publishedKeyOf(change.runId, staged);
        await store.promote(staged, key);
        promoted.push(key);
      });
      ensureNotInterrupted();
      await publishManifest(store, day, change.next, change.current?.etag, change.current !== undefined);
    } catch (error) {
      // Not committed: no reader may keep seeing these files. The staged copies stay for a retry.
      const published = new Set(change.current?.manifest.files.map((f) => f.key));
      await store.deleteObjects(promoted.filter((key) => !published.has(key))).catch(() => undefined);
      throw error;
    }
    const removed = await removeUnlisted(store, day, change.next);
    const windowMs = performance.now() - started;
    await store.deleteObjects((await store.list(stagingPrefix(change.runId))).map((o) => o.key));
    return { removed, windowMs };
  })();
  inFlight.add(work);
  try {
    return await work;
  } finally {
    inFlight.delete(work);
  }
}

/** Removes the staging of `runId` (a run that will not publish). */
export async function discardStaging(store: ObjectStore, runId: string): Promise<void> {
  const keys = (await store.list(stagingPrefix(runId))).map((o) => o.key);
  if (keys.length > 0) await store.deleteObjects(keys);
}

/**
 * Removes what no published manifest names from `day`: data files in its partition, quarantine
 * files, and the staging of `runIds` (runs of the day that will never publish). Only the holder of
 * the day's lease calls it, so nothing it removes is being published. Returns the keys removed.
 */
export async function sweepDay(store: ObjectStore, day: CalendarDay, runIds: readonly string[]): Promise<string[]> {
  const current = await readManifest(store, day);
  const listed = new Set([...(current?.manifest.files.map((f) => f.key) ?? []), ...(current?.manifest.quarantine ?? [])]);
  const [data, quarantine, ...staging] = await Promise.all([
    store.list(rentalsPartitionPrefix(day)),
    store.list(quarantinePrefix(day)),
    ...runIds.map((runId) => store.list(stagingPrefix(runId))),
  ]);
  const keys = [...data, ...quarantine].map((o) => o.key).filter((key) => !listed.has(key));
  keys.push(...staging.flat().map((o) => o.key));
  if (keys.length > 0) await store.deleteObjects(keys);
  return keys;
}

// --- Snapshot tables -----------------------------------------------------------------------------

/** What `_manifests/<table>.json` says of a snapshot table's published copy. */
export interface SnapshotManifest {
  readonly version: 1;
  readonly table: string;
  readonly key: string;
  readonly runId: string;
  readonly rows: number;
  readonly bytes: number;
  /** Source time of the read the copy was made from: an older read never replaces a newer one. */
  readonly sourceSnapshotAt: string;
  readonly publishedAt: string;
}

export async function readSnapshotManifest(store: ObjectStore, table: string): Promise<SnapshotManifest | undefined> {
  const object = await store.getObject(snapshotManifestKey(table));
  return object ? (JSON.parse(Buffer.from(object.body).toString('utf8')) as SnapshotManifest) : undefined;
}

/**
 * Publishes a validated, staged copy of a snapshot table: one file, promoted over the published
 * one (a reader sees the old copy or the new one, never a mix), then its manifest. A copy read
 * before the published one is dropped instead. Returns whether it was published.
 */
export async function publishSnapshot(
  store: ObjectStore,
  snapshot: {
    readonly table: string;
    readonly runId: string;
    readonly staged: string;
    readonly rows: number;
    readonly bytes: number;
    readonly sourceSnapshotAt: string;
  },
): Promise<boolean> {
  ensureNotInterrupted();
  const published = await readSnapshotManifest(store, snapshot.table);
  if (published && published.sourceSnapshotAt > snapshot.sourceSnapshotAt) return false;
  const key = publishedKeyOf(snapshot.runId, snapshot.staged);
  await store.promote(snapshot.staged, key);
  const manifest: SnapshotManifest = {
    version: 1,
    table: snapshot.table,
    key,
    runId: snapshot.runId,
    rows: snapshot.rows,
    bytes: snapshot.bytes,
    sourceSnapshotAt: snapshot.sourceSnapshotAt,
    publishedAt: new Date().toISOString(),
  };
  await store.putObject(snapshotManifestKey(snapshot.table), `${JSON.stringify(manifest, null, 2)}\n`, { contentType: 'application/json' });
  return true;
}
