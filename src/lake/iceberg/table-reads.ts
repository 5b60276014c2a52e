/**
 * What the CLI reads of the Iceberg tables: each table's current metadata location and snapshot
 * (`etl status --tables`), and the data files of the snapshot that was current at a past instant
 * (`etl read --as-of`), which may be read while those files exist.
 */
import type { ObjectStore } from '../store.js';
import { readLatest } from './file-catalog.js';
import { decodeManifest, decodeManifestList, ENTRY_STATUS } from './manifest-files.js';
import { currentSnapshot, snapshotAsOf, type IcebergSnapshot } from './table-metadata.js';
import { absoluteLocation, ICEBERG_TABLES, keyOfLocation } from './table-model.js';

export interface IcebergTableState {
  readonly table: string;
  /** Absolute location of the current `v<N>.metadata.json` (what Glue's `metadata_location` says too). */
  readonly metadataLocation: string;
  readonly version: number;
  readonly snapshotId: number;
  readonly committedAt: string;
  readonly operation: string;
  readonly records: number;
  readonly dataFiles: number;
  /** Snapshots kept (time travel reaches back to the oldest). */
  readonly snapshots: number;
}

/** The current state of every Iceberg table of the lake; a table not committed yet is left out. */
export async function icebergTableStates(store: ObjectStore): Promise<IcebergTableState[]> {
  const states: IcebergTableState[] = [];
  for (const table of Object.keys(ICEBERG_TABLES)) {
    const latest = await readLatest(store, table);
    const snapshot = latest && currentSnapshot(latest.metadata);
    if (!latest || !snapshot) continue;
    states.push({
      table,
      metadataLocation: absoluteLocation(store.location, latest.key),
      version: latest.version,
      snapshotId: snapshot['snapshot-id'],
      committedAt: new Date(snapshot['timestamp-ms']).toISOString(),
      operation: snapshot.summary.operation,
      records: Number(snapshot.summary['total-records'] ?? 0),
      dataFiles: Number(snapshot.summary['total-data-files'] ?? 0),
      snapshots: latest.metadata.snapshots.length,
    });
  }
  return states;
}

/**
 * The lake keys of the data files of `table` in the snapshot current at `at`, with the snapshot;
 * undefined when no kept snapshot was current then (before the first, or expired).
 */
export async function filesAsOf(store: ObjectStore, table: string, at: Date): Promise<{ snapshot: IcebergSnapshot; keys: string[] } | undefined> {
  const latest = await readLatest(store, table);
  const snapshot = latest && snapshotAsOf(latest.metadata, at.getTime());
  if (!snapshot) return undefined;
  const read = async (url: string) => {
    const key = keyOfLocation(store.location, url);
    const object = key === undefined ? undefined : await store.getObject(key);
    if (!object) throw new Error(`${url} is gone: the snapshot of ${new Date(snapshot['timestamp-ms']).toISOString()} can no longer be read`);
    return object.body;
  };
  const keys: string[] = [];
  for (const manifest of decodeManifestList(await read(snapshot['manifest-list']))) {
    for (const entry of decodeManifest(await read(manifest.manifest_path))) {
      if (entry.status === ENTRY_STATUS.deleted) continue;
      const key = keyOfLocation(store.location, entry.data_file.file_path);
      if (key !== undefined) keys.push(key);
    }
  }
  return { snapshot, keys: keys.sort() };
}
