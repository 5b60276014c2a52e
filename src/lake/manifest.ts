/**
 * A partition's manifest, the commit record of the protocol (docs/protocol.md; its steps are taken
 * by `DayPublication`): data files carry run-unique names and are never rewritten; a partition's
 * content is exactly the files its manifest (`_manifests/rentals/year=…/month=…/day=….json`) names.
 * This module reads it, writes it with a conditional PUT (of two concurrent publishers exactly one
 * wins), and removes the files a new manifest no longer names.
 */
import type { CalendarDay } from '../core/day.js';
import { PartitionBusyError, PreconditionFailedError, StagingError } from '../core/errors.js';
import { dateOfManifestKey, MANIFESTS_PREFIX, manifestKey, quarantinePrefix, rentalsPartitionPrefix } from './layout.js';
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
  /**
   * The source time the run's rows are known current at: its snapshot, or a later append's that
   * re-read every row changed since and found none of these among them.
   */
  readonly sourceSnapshotAt: string;
  readonly rows: number;
  readonly publishedAt: string;
  /** Source rows the run quarantined (absent in manifests written before it was recorded). */
  readonly quarantined?: number;
  /** The change signal of the day the run read (docs/protocol.md); absent in manifests written before it. */
  readonly signal?: ChangeSignal;
}

/**
 * The change signal of a day's rows as a run read them: how many, and the sum of a hash of each
 * row's key and row version (`xmin`), taken in the snapshot(s) of the run's extract.
 */
export interface ChangeSignal {
  /** The day's rows in the run's snapshot: for an append, those already published included. */
  readonly rows: number;
  /** A decimal integer (Postgres numeric). */
  readonly digest: string;
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

/** What one run publishes into a partition: its files (published keys), rows and what it read. */
export interface RunContribution {
  readonly table: PartitionManifest['table'];
  readonly date: string;
  readonly runId: string;
  readonly mode: ManifestRun['mode'];
  readonly schemaFingerprint: string;
  /** Its files under their published keys. */
  readonly files: readonly Omit<ManifestFile, 'runId'>[];
  readonly rows: number;
  readonly quarantine: readonly string[];
  /** The source rows the run stands for (an append's: those it added). */
  readonly sourceCount: number;
  readonly sourceSnapshotAt: string;
  readonly quarantined: number;
  readonly signal?: ChangeSignal;
}

/**
 * The manifest a run's publish commits: an overwrite's names its files only; an append's keeps the
 * published ones (`current`) and adds its own, with its run after the partition's earlier runs.
 */
export function nextManifest(current: PartitionManifest | undefined, run: RunContribution, publishedAt = new Date().toISOString()): PartitionManifest {
  const keep = run.mode === 'append' && current !== undefined;
  const files: ManifestFile[] = run.files.map((f) => ({ ...f, runId: run.runId }));
  return {
    version: 1,
    table: run.table,
    date: run.date,
    runId: run.runId,
    schemaFingerprint: run.schemaFingerprint,
    files: keep ? [...current.files, ...files] : files,
    rows: (keep ? current.rows : 0) + run.rows,
    quarantine: [...(keep ? current.quarantine : []), ...run.quarantine],
    runs: [
      ...(keep ? current.runs : []),
      {
        runId: run.runId,
        mode: run.mode,
        sourceCount: run.sourceCount,
        sourceSnapshotAt: run.sourceSnapshotAt,
        rows: run.rows,
        publishedAt,
        quarantined: run.quarantined,
        ...(run.signal ? { signal: run.signal } : {}),
      },
    ],
  };
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

/** The first day the lake holds a partition of, if any: before it, a day never published is not missing. */
export async function firstPublishedDay(store: ObjectStore): Promise<string | undefined> {
  return (await store.list(MANIFESTS_PREFIX)).flatMap((o) => dateOfManifestKey(o.key) ?? []).sort()[0];
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
 * wrote (files of a newer run still in flight are left to it), but those in `kept` (superseded
 * files the Iceberg table keeps a while). Returns the keys removed.
 */
export async function removeUnlisted(
  store: ObjectStore,
  day: CalendarDay,
  manifest: PartitionManifest,
  kept: ReadonlySet<string> = new Set(),
): Promise<string[]> {
  const keep = new Set([...manifest.files.map((f) => f.key), ...manifest.quarantine]);
  const data = await store.list(rentalsPartitionPrefix(day));
  const quarantine = await store.list(quarantinePrefix(day));
  const stale = [...data, ...quarantine]
    .map((o) => o.key)
    .filter((key) => {
      const runId = RUN_ID_IN_KEY.exec(key)?.[1];
      return runId !== undefined && runId <= manifest.runId && !keep.has(key) && !kept.has(key);
    });
  if (stale.length > 0) await store.deleteObjects(stale);
  return stale;
}
