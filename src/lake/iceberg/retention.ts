/**
 * How long superseded data files stay (`ICEBERG_KEEP_SUPERSEDED_HOURS`), in the table's own terms.
 * A snapshot that removed files (an overwrite, a replace, a delete) is the record of the files it
 * superseded: while the snapshot before it is kept, its removal is pending, and its files stay in
 * the Hive folders, so that the snapshots before it can still be read (time travel, an engine query
 * that overlaps the publish). Once its removal is N hours old it is due: the next commit of the
 * table (or `etl clean`'s maintenance) expires every snapshot before it and deletes its files.
 * Without the setting (0) every removal is due at once: the publish deletes the files itself.
 */
import type { ObjectStore } from '../store.js';
import { lakeKeyOf, MetadataGoneError, readLatest, readLocation } from './file-catalog.js';
import { decodeManifest, decodeManifestList, ENTRY_STATUS } from './manifest-files.js';
import type { ExpiryRule, IcebergSnapshot } from './table-metadata.js';

/** What a table keeps now and what goes. */
export interface Retention extends ExpiryRule {
  /** Removals whose files go now (N hours old). */
  readonly due: readonly IcebergSnapshot[];
  /** Removals whose files stay a while longer. */
  readonly waiting: readonly IcebergSnapshot[];
}

const removesFiles = (snapshot: IcebergSnapshot) => Number(snapshot.summary['deleted-data-files'] ?? 0) > 0;

/**
 * The pending removals among `snapshots` (those after the oldest: the oldest kept snapshot's
 * parent expired, so its files are gone already), split into due and waiting at `now` for files
 * kept `keepMs`; what expires follows: every snapshot before the latest due removal, and by count
 * or age only snapshots before the parent of the oldest waiting one.
 */
export function supersededRetention(snapshots: readonly IcebergSnapshot[], now: number, keepMs: number): Retention {
  const ordered = [...snapshots].sort((a, b) => a['sequence-number'] - b['sequence-number']);
  const pending = ordered.slice(1).filter(removesFiles);
  const due = pending.filter((s) => s['timestamp-ms'] + keepMs <= now);
  const waiting = pending.filter((s) => s['timestamp-ms'] + keepMs > now);
  const oldestWaiting = waiting[0] && ordered.indexOf(waiting[0]);
  return {
    due,
    waiting,
    filesGoneBeforeSequence: due.at(-1)?.['sequence-number'] ?? 0,
    keepFromSequence: oldestWaiting === undefined ? undefined : ordered[oldestWaiting - 1]['sequence-number'],
  };
}

const MANIFEST_GROUP = /\/m-(.+)-\d+-[0-9a-f]{8}\.avro$/;

/** The manifest group (`2025-03` of `rentals`, `all` of a snapshot table) a manifest's file name says. */
export function manifestGroupOf(manifestPath: string): string {
  return MANIFEST_GROUP.exec(manifestPath)?.[1] ?? manifestPath;
}

/**
 * The lake keys of the data files `snapshot` removed (its manifests' deleted entries), in the
 * manifests of `group` only when given; none when its metadata is gone (a later commit expired it).
 */
export async function filesRemovedBy(store: ObjectStore, snapshot: IcebergSnapshot, group?: string): Promise<string[]> {
  const id = snapshot['snapshot-id'];
  try {
    const manifests = decodeManifestList(await readLocation(store, snapshot['manifest-list'])).filter(
      (m) => m.added_snapshot_id === id && m.deleted_files_count > 0 && (group === undefined || manifestGroupOf(m.manifest_path) === group),
    );
    const keys: string[] = [];
    for (const manifest of manifests) {
      for (const entry of decodeManifest(await readLocation(store, manifest.manifest_path))) {
        if (entry.status === ENTRY_STATUS.deleted && entry.snapshot_id === id) keys.push(lakeKeyOf(store, entry.data_file.file_path));
      }
    }
    return keys;
  } catch (error) {
    if (error instanceof MetadataGoneError) return [];
    throw error;
  }
}

/**
 * The superseded files of `table` under `prefix` that its pending removals keep (in the manifests
 * of `group`): the Hive side's removals leave them to the table's maintenance.
 */
export async function keptSupersededFiles(store: ObjectStore, table: string, prefix: string, group: string): Promise<Set<string>> {
  const latest = await readLatest(store, table);
  if (!latest) return new Set();
  const pending = [...latest.metadata.snapshots]
    .sort((a, b) => a['sequence-number'] - b['sequence-number'])
    .slice(1)
    .filter(removesFiles);
  const kept = new Set<string>();
  for (const removal of pending) for (const key of await filesRemovedBy(store, removal, group)) if (key.startsWith(prefix)) kept.add(key);
  return kept;
}
