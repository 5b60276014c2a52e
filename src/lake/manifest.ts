/**
 * The publish protocol of a partition. Data files carry run-unique names and are never rewritten;
 * a partition's content is exactly the files its manifest (`_manifests/rentals/year=…/month=…/day=….json`) names. Publishing writes the new
 * manifest with a conditional PUT (so of two concurrent publishers exactly one wins), then deletes
 * the files the new manifest no longer names.
 */
import type { CalendarDay } from '../core/day.js';
import { PartitionBusyError, PreconditionFailedError, StagingError } from '../core/errors.js';
import { manifestKey, quarantinePrefix, rentalsPartitionPrefix } from './layout.js';
import type { ObjectStore } from './store.js';

export interface ManifestFile {
  readonly key: string;
  readonly rows: number;
  readonly bytes: number;
  readonly runId: string;
}

export interface ManifestRun {
  readonly runId: string;
  readonly mode: 'overwrite' | 'append';
  readonly sourceCount: number;
  readonly sourceSnapshotAt: string;
  readonly rows: number;
  readonly publishedAt: string;
  /** Source rows the run quarantined (absent in manifests written before it was recorded). */
  readonly quarantined?: number;
}

export interface PartitionManifest {
  readonly version: 1;
  readonly table: 'rentals';
  readonly date: string;
  /** Run that published this version. */
  readonly runId: string;
  readonly schemaFingerprint: string;
  /** Rows over all files. */
  readonly rows: number;
  readonly files: readonly ManifestFile[];
  readonly quarantine: readonly string[];
  /** Runs whose files are in the partition, oldest first (one for overwrite, more after appends). */
  readonly runs: readonly ManifestRun[];
}

/** The published manifest of `day` and its ETag, or undefined when the day was never published. */
export async function readManifest(store: ObjectStore, day: CalendarDay): Promise<{ manifest: PartitionManifest; etag: string | undefined } | undefined> {
  const key = manifestKey(day);
  const object = await store.getObject(key);
  if (!object) return undefined;
  let manifest: PartitionManifest;
  try {
    manifest = JSON.parse(Buffer.from(object.body).toString('utf8')) as PartitionManifest;
  } catch (error) {
    throw new StagingError(`${key} is not valid JSON`, { cause: error });
  }
  if (manifest.version !== 1 || !Array.isArray(manifest.files)) throw new StagingError(`${key} is not a version 1 manifest`);
  return { manifest, etag: object.etag };
}

/**
 * Makes `next` the published content of `day`. `previousEtag` is the ETag of the manifest the
 * caller built on (undefined: there was none); a different current manifest means another run
 * published meanwhile, and this one fails with `PartitionBusyError` instead of overwriting it.
 */
export async function publishManifest(
  store: ObjectStore,
  day: CalendarDay,
  next: PartitionManifest,
  previousEtag: string | undefined,
  hadPrevious: boolean,
): Promise<void> {
  const key = manifestKey(day);
  try {
    await store.putObject(key, `${JSON.stringify(next, null, 2)}\n`, {
      contentType: 'application/json',
      ...(hadPrevious ? { ifMatch: previousEtag } : { ifNoneMatch: true }),
    });
  } catch (error) {
    if (error instanceof PreconditionFailedError) {
      throw new PartitionBusyError(`partition ${day.iso} was published by another run meanwhile; retry to build on it`, { cause: error });
    }
    throw error;
  }
}

const RUN_ID_IN_KEY = /(\d{8}T\d{9}Z-[0-9a-f]{8})(?:-h\d{2})?(?:-\d+)?\.(?:parquet|jsonl)$/;

/**
 * Deletes data and quarantine files of `day` that `manifest` does not name and that older runs
 * wrote (files of a newer run still in flight are left to it). Returns the keys removed.
 */
export async function removeUnlisted(store: ObjectStore, day: CalendarDay, manifest: PartitionManifest): Promise<string[]> {
  const keep = new Set([...manifest.files.map((f) => f.key), ...manifest.quarantine]);
  const data = await store.list(rentalsPartitionPrefix(day));
  const quarantine = await store.list(quarantinePrefix(day));
  const stale = [...data, ...quarantine]
    .map((o) => o.key)
    .filter((key) => {
      const runId = RUN_ID_IN_KEY.exec(key)?.[1];
      return runId !== undefined && runId <= manifest.runId && !keep.has(key);
    });
  if (stale.length > 0) await store.deleteObjects(stale);
  return stale;
}
