/**
 * One Iceberg commit of one of the lake's tables: files added and removed become a new snapshot
 * (its operation and summary), the manifests of the groups they touch are rewritten (merged:
 * a month of `rentals` is one manifest whatever the number of commits), and the new metadata
 * version is committed with a put-if-absent (`file-catalog.ts`). A writer that loses the race
 * re-reads the latest version and applies its change again, a bounded number of times, jittered:
 * concurrent publishers of different days never lose a commit. A change is applied idempotently
 * (a file already in the table is not added twice, one not in it is not removed), so a retry of a
 * commit that had in fact succeeded commits nothing.
 *
 * Each commit also keeps the table: it expires snapshots (`retention.ts` says which: at once those
 * whose files are gone, else when the superseded files they name are N hours old, which it then
 * deletes), and a `CatalogFollower` (Glue) is moved to the new version; `maintainIcebergTable` does
 * the same without a change.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { PreconditionFailedError, TransientError } from '../../core/errors.js';
import type { ObjectStore } from '../store.js';
import { lakeKeyOf, readLatest, readLocation, writeVersion, writeVersionHint } from './file-catalog.js';
import {
  decodeManifest,
  decodeManifestList,
  ENTRY_STATUS,
  encodeManifest,
  encodeManifestList,
  type ManifestEntry,
  type ManifestListEntry,
  partitionSummaries,
} from './manifest-files.js';
import { filesRemovedBy, manifestGroupOf, supersededRetention } from './retention.js';
import {
  currentSnapshot,
  type IcebergSnapshot,
  newSnapshotId,
  newTableMetadata,
  nextMetadata,
  type SnapshotOperation,
  type TableMetadata,
} from './table-metadata.js';
import { absoluteLocation, ICEBERG_ROOT, icebergMetadataPrefix, icebergTable, type LakeIcebergTable } from './table-model.js';

/** A data file of the lake, by its key. */
export interface IcebergDataFile {
  readonly key: string;
  readonly rows: number;
  readonly bytes: number;
}

/** What one commit changes: files added, keys removed, and the snapshot's operation (else derived). */
export interface IcebergChange {
  readonly added: readonly IcebergDataFile[];
  readonly removed: readonly string[];
  readonly operation?: SnapshotOperation;
}

export interface IcebergCommit {
  readonly table: string;
  readonly version: number;
  /** The committed metadata file's absolute location. */
  readonly metadataLocation: string;
  /** The snapshot the commit added; none for a maintenance commit (`maintainIcebergTable`). */
  readonly snapshotId: number | undefined;
  readonly operation: SnapshotOperation | undefined;
  readonly attempts: number;
  /** Snapshots the commit expired. */
  readonly expired: number;
  /** Superseded data files the commit's maintenance deleted (their removals were due). */
  readonly supersededRemoved: readonly string[];
}

/** A catalog that follows the file catalog (Glue): told of every committed version. */
export interface CatalogFollower {
  follow(table: string, metadataLocation: string, version: number): Promise<void>;
}

/** How the lake keeps its Iceberg tables: the catalog that follows them, and how long superseded files stay. */
export interface IcebergUpkeep {
  /** Told of every committed version (Glue's table is moved to it), and of the latest when a sync commits nothing. */
  readonly follower?: CatalogFollower;
  /**
   * How long files a commit removes stay (`ICEBERG_KEEP_SUPERSEDED_HOURS`; see `retention.ts`). 0
   * (the default): the publish deletes them, and every snapshot that names them expires with the commit.
   */
  readonly keepSupersededMs?: number;
  /** The clock (ms) of snapshot times and of when a removal is due; `Date.now` by default. */
  readonly now?: () => number;
}

export interface CommitOptions extends IcebergUpkeep {
  readonly maxAttempts?: number;
}

/** The table's current files of one manifest group, live entries by lake key. */
export type LiveFiles = (group: string) => Promise<Map<string, ManifestEntry>>;

/** Thrown when a commit lost the race `maxAttempts` times in a row: transient, a retry commits it. */
export class IcebergCommitConflictError extends TransientError {}

const DEFAULT_MAX_ATTEMPTS = 40;

/** The table's location (its metadata is `<location>/metadata/`). */
export function tableLocation(store: ObjectStore, table: string): string {
  return absoluteLocation(store.location, `${ICEBERG_ROOT}${table}`);
}

function backoff(attempt: number): Promise<void> {
  const ceiling = Math.min(1_000, 20 * 2 ** Math.min(attempt, 6));
  return new Promise((resolve) => setTimeout(resolve, randomInt(5, ceiling)));
}

const total = (snapshot: IcebergSnapshot | undefined, field: string) => Number(snapshot?.summary[field] ?? 0);

/** The current snapshot's manifests, grouped by `groupOf`'s name (in their file names). */
async function manifestsOf(store: ObjectStore, metadata: TableMetadata): Promise<Map<string, ManifestListEntry[]>> {
  const current = currentSnapshot(metadata);
  const groups = new Map<string, ManifestListEntry[]>();
  if (!current) return groups;
  for (const entry of decodeManifestList(await readLocation(store, current['manifest-list']))) {
    const group = manifestGroupOf(entry.manifest_path);
    groups.set(group, [...(groups.get(group) ?? []), entry]);
  }
  return groups;
}

/** A version written: the snapshot it adds (none for a maintenance commit), and what it expired. */
interface Written {
  readonly key: string;
  readonly version: number;
  readonly next: ReturnType<typeof nextMetadata>;
  readonly snapshot: IcebergSnapshot | undefined;
  readonly due: readonly IcebergSnapshot[];
}

/**
 * Commits the change that `plan` makes of the table's current files (undefined or an empty change:
 * nothing to commit), retrying on a lost race with the plan made again on the newer version.
 * Returns the commit, or undefined when there was nothing to commit.
 */
export async function commitPlanned(
  store: ObjectStore,
  tableName: string,
  plan: (live: LiveFiles) => Promise<IcebergChange | undefined>,
  options: CommitOptions = {},
): Promise<IcebergCommit | undefined> {
  return commitVersion(store, tableName, plan, options);
}

/**
 * The table's maintenance without a change (`etl clean`): expires what is due and deletes the
 * superseded files of removals N hours old, in a version of its own. Undefined: nothing was due.
 */
export function maintainIcebergTable(store: ObjectStore, tableName: string, options: CommitOptions = {}): Promise<IcebergCommit | undefined> {
  return commitVersion(store, tableName, undefined, options);
}

async function commitVersion(
  store: ObjectStore,
  tableName: string,
  plan: ((live: LiveFiles) => Promise<IcebergChange | undefined>) | undefined,
  options: CommitOptions,
): Promise<IcebergCommit | undefined> {
  const table = icebergTable(tableName);
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const keepMs = options.keepSupersededMs ?? 0;
  for (let attempt = 1; ; attempt++) {
    const written: string[] = [];
    let committed: Written | undefined;
    try {
      const base = await readLatest(store, table.name);
      const now = options.now?.() ?? Date.now();
      const metadata = base?.metadata ?? newTableMetadata(table, tableLocation(store, table.name), now);
      let snapshot: IcebergSnapshot | undefined;
      if (plan) {
        const groups = await manifestsOf(store, metadata);
        const entriesOf = new Map<string, Promise<ManifestEntry[]>>();
        const read = (group: string) => {
          let entries = entriesOf.get(group);
          if (!entries) {
            const manifests = groups.get(group) ?? [];
            entries = Promise.all(manifests.map(async (m) => decodeManifest(await readLocation(store, m.manifest_path)))).then((lists) => lists.flat());
            entriesOf.set(group, entries);
          }
          return entries;
        };
        const live: LiveFiles = async (group) =>
          new Map((await read(group)).filter((e) => e.status !== ENTRY_STATUS.deleted).map((e) => [lakeKeyOf(store, e.data_file.file_path), e]));
        const change = await plan(live);
        snapshot = change && (await stageCommit(store, table, metadata, groups, live, change, now, written))?.snapshot;
      }
      const retention = supersededRetention([...metadata.snapshots, ...(snapshot ? [snapshot] : [])], now, keepMs);
      const baseLocation = base ? absoluteLocation(store.location, base.key) : undefined;
      const next = nextMetadata(metadata, baseLocation, snapshot, now, retention);
      if (!snapshot && next.expired.length === 0) {
        // Nothing to commit: a catalog that lags (its last update failed) catches up with the latest version.
        if (base && options.follower) await options.follower.follow(table.name, absoluteLocation(store.location, base.key), base.version);
        return undefined;
      }
      const version = (base?.version ?? 0) + 1;
      // Without the setting, the publish deletes the files this commit removes itself.
      const due = keepMs === 0 ? retention.due.filter((s) => s !== snapshot) : retention.due;
      committed = { key: await writeVersion(store, table.name, version, next.metadata), version, next, snapshot, due };
    } catch (error) {
      // Another writer committed this version first (or its commit removed what this one read): build on theirs.
      if (!(error instanceof PreconditionFailedError)) throw error;
      await store.deleteObjects(written).catch(() => undefined);
      if (attempt >= maxAttempts) {
        throw new IcebergCommitConflictError(`Iceberg table ${table.name}: ${attempt} commits lost to concurrent writers; retry`, { cause: error });
      }
      await backoff(attempt);
      continue;
    }
    const { key, version, next, snapshot, due } = committed;
    const metadataLocation = absoluteLocation(store.location, key);
    await writeVersionHint(store, table.name, version).catch(() => undefined);
    await options.follower?.follow(table.name, metadataLocation, version);
    // The superseded files of the due removals: no kept snapshot names them any more (a data file's
    // name is run-unique, and a file a commit removed is never added again).
    const superseded = (await Promise.all(due.map((removal) => filesRemovedBy(store, removal)))).flat();
    if (superseded.length > 0) await store.deleteObjects([...new Set(superseded)]);
    await removeExpired(store, next.metadata, next.expired, next.droppedMetadataFiles).catch(() => undefined);
    return {
      table: table.name,
      version,
      metadataLocation,
      snapshotId: snapshot?.['snapshot-id'],
      operation: snapshot?.summary.operation,
      attempts: attempt,
      expired: next.expired.length,
      supersededRemoved: superseded,
    };
  }
}

/** Commits `change` to `table` (see `commitPlanned`): `commitIcebergChange(store, 'rentals', { added, removed, operation: 'replace' })`. */
export function commitIcebergChange(store: ObjectStore, table: string, change: IcebergChange, options?: CommitOptions): Promise<IcebergCommit | undefined> {
  return commitPlanned(store, table, async () => change, options);
}

interface StagedCommit {
  readonly snapshot: IcebergSnapshot;
  readonly removed: number;
}

/** Writes the manifests and the manifest list of a commit of `change` on `metadata`; undefined when it changes nothing. */
async function stageCommit(
  store: ObjectStore,
  table: LakeIcebergTable,
  metadata: TableMetadata,
  groups: Map<string, ManifestListEntry[]>,
  live: LiveFiles,
  change: IcebergChange,
  now: number,
  written: string[],
): Promise<StagedCommit | undefined> {
  const snapshotId = newSnapshotId();
  const sequence = metadata['last-sequence-number'] + 1;
  const groupOfKey = (key: string) => table.groupOf(table.partitionOf(key));
  const touched = new Set([...change.added.map((f) => groupOfKey(f.key)), ...change.removed.map(groupOfKey)]);
  const removedKeys = new Set(change.removed);
  const addedByGroup = new Map<string, IcebergDataFile[]>();
  for (const file of change.added) addedByGroup.set(groupOfKey(file.key), [...(addedByGroup.get(groupOfKey(file.key)) ?? []), file]);

  const stats = { addedFiles: 0, addedRows: 0, addedBytes: 0, removedFiles: 0, removedRows: 0, removedBytes: 0, partitions: new Set<string>() };
  const rewritten: Array<{ group: string; entries: ManifestEntry[] }> = [];
  for (const group of touched) {
    const current = await live(group);
    const entries: ManifestEntry[] = [];
    for (const [key, entry] of current) {
      if (removedKeys.has(key)) {
        entries.push({ ...entry, status: ENTRY_STATUS.deleted, snapshot_id: snapshotId });
        stats.removedFiles += 1;
        stats.removedRows += entry.data_file.record_count;
        stats.removedBytes += entry.data_file.file_size_in_bytes;
        stats.partitions.add(JSON.stringify(entry.data_file.partition));
      } else entries.push({ ...entry, status: ENTRY_STATUS.existing });
    }
    for (const file of addedByGroup.get(group) ?? []) {
      const path = absoluteLocation(store.location, file.key);
      if ((current.has(file.key) && !removedKeys.has(file.key)) || entries.some((e) => e.status === ENTRY_STATUS.added && e.data_file.file_path === path))
        continue;
      const values = table.partitionOf(file.key);
      const partition = Object.fromEntries(table.spec.fields.map((f, i) => [f.name, values[i]]));
      entries.push({
        status: ENTRY_STATUS.added,
        snapshot_id: snapshotId,
        sequence_number: sequence,
        file_sequence_number: sequence,
        data_file: {
          content: 0,
          file_path: path,
          file_format: 'PARQUET',
          partition,
          record_count: file.rows,
          file_size_in_bytes: file.bytes,
        },
      });
      stats.addedFiles += 1;
      stats.addedRows += file.rows;
      stats.addedBytes += file.bytes;
      stats.partitions.add(JSON.stringify(partition));
    }
    rewritten.push({ group, entries });
  }
  if (stats.addedFiles === 0 && stats.removedFiles === 0) return undefined;

  const prefix = icebergMetadataPrefix(table.name);
  const attempt = randomBytes(4).toString('hex');
  const listEntries: ManifestListEntry[] = [...groups].filter(([group]) => !touched.has(group)).flatMap(([, entries]) => entries);
  for (const { group, entries } of rewritten) {
    if (entries.length === 0) continue;
    const key = `${prefix}m-${group}-${snapshotId}-${attempt}.avro`;
    const body = encodeManifest(table.schema, table.spec, entries);
    await store.putObject(key, body, { contentType: 'application/avro' });
    written.push(key);
    const liveEntries = entries.filter((e) => e.status !== ENTRY_STATUS.deleted);
    const count = (status: number) => entries.filter((e) => e.status === status);
    const rows = (list: ManifestEntry[]) => list.reduce((n, e) => n + e.data_file.record_count, 0);
    listEntries.push({
      manifest_path: absoluteLocation(store.location, key),
      manifest_length: body.byteLength,
      partition_spec_id: table.spec['spec-id'],
      content: 0,
      sequence_number: sequence,
      min_sequence_number: Math.min(sequence, ...liveEntries.map((e) => e.sequence_number)),
      added_snapshot_id: snapshotId,
      added_files_count: count(ENTRY_STATUS.added).length,
      existing_files_count: count(ENTRY_STATUS.existing).length,
      deleted_files_count: count(ENTRY_STATUS.deleted).length,
      added_rows_count: rows(count(ENTRY_STATUS.added)),
      existing_rows_count: rows(count(ENTRY_STATUS.existing)),
      deleted_rows_count: rows(count(ENTRY_STATUS.deleted)),
      partitions: partitionSummaries(table.spec, liveEntries),
    });
  }
  const parent = currentSnapshot(metadata);
  const listKey = `${prefix}snap-${snapshotId}-${attempt}.avro`;
  await store.putObject(listKey, encodeManifestList(listEntries, { snapshotId, parentId: parent?.['snapshot-id'], sequenceNumber: sequence }), {
    contentType: 'application/avro',
  });
  written.push(listKey);
  const operation: SnapshotOperation = change.operation ?? (stats.removedFiles === 0 ? 'append' : stats.addedFiles === 0 ? 'delete' : 'overwrite');
  const summary = {
    operation,
    'added-data-files': String(stats.addedFiles),
    'deleted-data-files': String(stats.removedFiles),
    'added-records': String(stats.addedRows),
    'deleted-records': String(stats.removedRows),
    'added-files-size': String(stats.addedBytes),
    'removed-files-size': String(stats.removedBytes),
    'changed-partition-count': String(stats.partitions.size),
    'total-records': String(total(parent, 'total-records') + stats.addedRows - stats.removedRows),
    'total-files-size': String(total(parent, 'total-files-size') + stats.addedBytes - stats.removedBytes),
    'total-data-files': String(total(parent, 'total-data-files') + stats.addedFiles - stats.removedFiles),
    'total-delete-files': '0',
    'total-position-deletes': '0',
    'total-equality-deletes': '0',
  };
  const snapshot: IcebergSnapshot = {
    'snapshot-id': snapshotId,
    ...(parent ? { 'parent-snapshot-id': parent['snapshot-id'] } : {}),
    'sequence-number': sequence,
    'timestamp-ms': now,
    'manifest-list': absoluteLocation(store.location, listKey),
    summary,
    'schema-id': table.schema['schema-id'],
  };
  return { snapshot, removed: stats.removedFiles };
}

/**
 * Deletes what the expired snapshots alone referenced — their manifest lists, and manifests the
 * oldest kept snapshot no longer names (snapshots form a line and a replaced manifest never comes
 * back, so no kept snapshot names them) — and the metadata files dropped from the log.
 */
async function removeExpired(
  store: ObjectStore,
  metadata: TableMetadata,
  expired: readonly IcebergSnapshot[],
  droppedMetadataFiles: readonly string[],
): Promise<void> {
  const keys = droppedMetadataFiles.map((url) => lakeKeyOf(store, url));
  if (expired.length > 0) {
    const oldestKept = [...metadata.snapshots].sort((a, b) => a['sequence-number'] - b['sequence-number'])[0];
    const keptManifests = new Set(decodeManifestList(await readLocation(store, oldestKept['manifest-list'])).map((m) => m.manifest_path));
    for (const snapshot of expired) {
      const list = await readLocation(store, snapshot['manifest-list']).catch(() => undefined);
      if (list) for (const m of decodeManifestList(list)) if (!keptManifests.has(m.manifest_path)) keys.push(lakeKeyOf(store, m.manifest_path));
      keys.push(lakeKeyOf(store, snapshot['manifest-list']));
    }
  }
  if (keys.length > 0) await store.deleteObjects([...new Set(keys)]);
}
