/**
 * Makes the Iceberg tables say what the lake's manifests say (the manifests are the authoritative
 * record; docs/protocol.md, "The Iceberg tables"): a day of `rentals` holds exactly the files its
 * manifest names, a snapshot table exactly its published copy. Each call is one Iceberg commit, or
 * none when the table already agrees — so the same call is the publish's commit and the repair of
 * a crash between the manifest's commit and the table's (the next publish or sweep of that day,
 * `etl clean`).
 */
import type { CalendarDay } from '../../core/day.js';
import { RENTALS } from '../../core/tables.js';
import { rentalsPartitionPrefix, snapshotKey } from '../layout.js';
import type { PartitionManifest } from '../manifest.js';
import type { ObjectStore } from '../store.js';
import { type CommitOptions, commitPlanned, type IcebergCommit, type IcebergUpkeep } from './commit.js';
import { readLatest } from './file-catalog.js';
import { keptSupersededFiles } from './retention.js';
import { absoluteLocation, icebergTable } from './table-model.js';

/**
 * Commits the files of `day` to the `rentals` table as `manifest` names them (none: the day has no
 * files). `operation` names the snapshot's (a compaction's `replace`); else it follows from the files.
 */
export function syncIcebergDay(
  store: ObjectStore,
  day: CalendarDay,
  manifest: PartitionManifest | undefined,
  options?: CommitOptions & { readonly operation?: 'replace' },
): Promise<IcebergCommit | undefined> {
  const table = icebergTable(RENTALS.name);
  const prefix = rentalsPartitionPrefix(day);
  const files = manifest?.files ?? [];
  return commitPlanned(
    store,
    table.name,
    async (live) => {
      const current = [...(await live(table.groupOf([day.year, day.month, day.day]))).keys()].filter((key) => key.startsWith(prefix));
      const named = new Set(files.map((f) => f.key));
      const present = new Set(current);
      const added = files.filter((f) => !present.has(f.key));
      const removed = current.filter((key) => !named.has(key));
      return { added, removed, ...(options?.operation && (added.length > 0 || removed.length > 0) ? { operation: options.operation } : {}) };
    },
    options,
  );
}

/** Commits a snapshot table's published copy (`rows`, `bytes` of `<table>/data.parquet`) to its Iceberg table. */
export function syncIcebergSnapshot(
  store: ObjectStore,
  table: string,
  copy: { rows: number; bytes: number },
  options?: CommitOptions,
): Promise<IcebergCommit | undefined> {
  const key = snapshotKey(table);
  // The copy is replaced in place: a superseded one cannot be kept, whatever the setting.
  const upkeep = { ...options, keepSupersededMs: 0 };
  return commitPlanned(
    store,
    table,
    async (live) => {
      const current = (await live(icebergTable(table).groupOf([]))).get(key);
      if (current?.data_file.record_count === copy.rows && current.data_file.file_size_in_bytes === copy.bytes) return undefined;
      // The copy is replaced in place: the previous snapshot's file is gone with it.
      return { added: [{ key, rows: copy.rows, bytes: copy.bytes }], removed: current ? [key] : [], operation: current ? 'overwrite' : 'append' };
    },
    upkeep,
  );
}

/**
 * The superseded files of `day` that the `rentals` table keeps for a while (none without
 * `keepSupersededMs`): the publish and the sweeps leave them to the table's maintenance, which
 * deletes them N hours after they were superseded. A file never published is not among them.
 */
export async function keptSupersededFilesOf(store: ObjectStore, day: CalendarDay, upkeep: IcebergUpkeep | undefined): Promise<ReadonlySet<string>> {
  if (!upkeep?.keepSupersededMs) return new Set();
  const table = icebergTable(RENTALS.name);
  return keptSupersededFiles(store, table.name, rentalsPartitionPrefix(day), table.groupOf([day.year, day.month, day.day]));
}

/** The absolute location of `table`'s current metadata file, or undefined before its first commit. */
export async function icebergMetadataLocationOf(store: ObjectStore, table: string): Promise<string | undefined> {
  const latest = await readLatest(store, table);
  return latest && absoluteLocation(store.location, latest.key);
}
