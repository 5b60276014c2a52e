/**
 * Iceberg table metadata (format v2, `v<N>.metadata.json`): a new table's, and the next version
 * after a commit — its snapshot appended and made current, the snapshot and metadata logs
 * extended, and the snapshots that may no longer be read expired (see `expirySplit`).
 */
import { randomInt, randomUUID } from 'node:crypto';
import { type LakeIcebergTable, nameMapping } from './table-model.js';

export type SnapshotOperation = 'append' | 'replace' | 'overwrite' | 'delete';

export interface IcebergSnapshot {
  readonly 'snapshot-id': number;
  readonly 'parent-snapshot-id'?: number;
  readonly 'sequence-number': number;
  readonly 'timestamp-ms': number;
  readonly 'manifest-list': string;
  readonly summary: { readonly operation: SnapshotOperation } & Readonly<Record<string, string>>;
  readonly 'schema-id': number;
}

export interface TableMetadata {
  readonly 'format-version': 2;
  readonly 'table-uuid': string;
  readonly location: string;
  readonly 'last-sequence-number': number;
  readonly 'last-updated-ms': number;
  readonly 'last-column-id': number;
  readonly schemas: readonly LakeIcebergTable['schema'][];
  readonly 'current-schema-id': number;
  readonly 'partition-specs': readonly LakeIcebergTable['spec'][];
  readonly 'default-spec-id': number;
  readonly 'last-partition-id': number;
  readonly properties: Readonly<Record<string, string>>;
  readonly 'current-snapshot-id': number;
  readonly snapshots: readonly IcebergSnapshot[];
  readonly 'snapshot-log': readonly { readonly 'timestamp-ms': number; readonly 'snapshot-id': number }[];
  readonly 'metadata-log': readonly { readonly 'timestamp-ms': number; readonly 'metadata-file': string }[];
  readonly 'sort-orders': readonly { readonly 'order-id': number; readonly fields: readonly unknown[] }[];
  readonly 'default-sort-order-id': number;
  readonly refs: Readonly<Record<string, { readonly 'snapshot-id': number; readonly type: 'branch' | 'tag' }>>;
}

/** Earlier metadata files the log keeps (Iceberg's `write.metadata.previous-versions-max` default); older ones are deleted. */
export const PREVIOUS_VERSIONS_MAX = 100;
/** Snapshots kept at most (the newest); older ones expire whatever else holds. */
export const MAX_SNAPSHOTS = 500;
/** Snapshots older than this expire (Iceberg's `history.expire.max-snapshot-age-ms` default, 5 days). */
export const MAX_SNAPSHOT_AGE_MS = 5 * 24 * 3_600_000;

/**
 * A snapshot id: a random positive integer below 2^53, so that it survives JSON.parse in
 * JavaScript readers (the spec asks for a long; Java's are random longs too).
 */
export function newSnapshotId(): number {
  return randomInt(1, 2 ** 47) * 64 + randomInt(64);
}

/** The metadata of a table that has no snapshot yet (written only together with its first one). */
export function newTableMetadata(table: LakeIcebergTable, location: string, now: number): TableMetadata {
  const partitionIds = table.spec.fields.map((f) => f['field-id']);
  return {
    'format-version': 2,
    'table-uuid': randomUUID(),
    location,
    'last-sequence-number': 0,
    'last-updated-ms': now,
    'last-column-id': Math.max(...table.schema.fields.map((f) => f.id)),
    schemas: [table.schema],
    'current-schema-id': table.schema['schema-id'],
    'partition-specs': [table.spec],
    'default-spec-id': table.spec['spec-id'],
    'last-partition-id': partitionIds.length > 0 ? Math.max(...partitionIds) : 999,
    properties: {
      'write.format.default': 'parquet',
      'schema.name-mapping.default': nameMapping(table.schema),
      'write.metadata.previous-versions-max': String(PREVIOUS_VERSIONS_MAX),
      'write.metadata.delete-after-commit.enabled': 'true',
    },
    'current-snapshot-id': -1,
    snapshots: [],
    'snapshot-log': [],
    'metadata-log': [],
    'sort-orders': [{ 'order-id': 0, fields: [] }],
    'default-sort-order-id': 0,
    refs: {},
  };
}

export function currentSnapshot(metadata: TableMetadata): IcebergSnapshot | undefined {
  return metadata.snapshots.find((s) => s['snapshot-id'] === metadata['current-snapshot-id']);
}

/**
 * When a commit expires snapshots: those before `filesGoneBeforeSequence` (files they name are
 * gone), and, by count or age, only those before `keepFromSequence` (a snapshot from it on is the
 * record of superseded files still kept, see `retention.ts`).
 */
export interface ExpiryRule {
  readonly filesGoneBeforeSequence: number;
  readonly keepFromSequence?: number;
}

/**
 * Splits the snapshots of a table after a commit into those kept and those expired: the current
 * one is always kept; one whose files are gone (`filesGoneBeforeSequence`: nobody may read it any
 * more) expires, and so does one older than `MAX_SNAPSHOT_AGE_MS` or beyond the newest
 * `MAX_SNAPSHOTS` unless `keepFromSequence` keeps it. Snapshots form one line, so what expires is
 * always the oldest ones.
 */
export function expirySplit(
  snapshots: readonly IcebergSnapshot[],
  currentId: number,
  now: number,
  rule: ExpiryRule,
): { kept: IcebergSnapshot[]; expired: IcebergSnapshot[] } {
  const ordered = [...snapshots].sort((a, b) => a['sequence-number'] - b['sequence-number']);
  const kept: IcebergSnapshot[] = [];
  const expired: IcebergSnapshot[] = [];
  const keepFrom = rule.keepFromSequence ?? Number.POSITIVE_INFINITY;
  ordered.forEach((snapshot, i) => {
    const tooMany = ordered.length - i > MAX_SNAPSHOTS;
    const tooOld = now - snapshot['timestamp-ms'] > MAX_SNAPSHOT_AGE_MS;
    const filesGone = snapshot['sequence-number'] < rule.filesGoneBeforeSequence;
    const mayAge = snapshot['sequence-number'] < keepFrom;
    if (snapshot['snapshot-id'] !== currentId && (filesGone || (mayAge && (tooMany || tooOld)))) expired.push(snapshot);
    else kept.push(snapshot);
  });
  return { kept, expired };
}

/**
 * The metadata after committing `snapshot` on top of `base` (written at `baseLocation`, undefined
 * for a new table) at `now`: the snapshot is current, the logs name it and the previous file, and
 * what `expirySplit` expires is gone from `snapshots` and `snapshot-log`. Without a snapshot, the
 * version only expires (a maintenance commit: the current snapshot stays).
 */
export function nextMetadata(
  base: TableMetadata,
  baseLocation: string | undefined,
  snapshot: IcebergSnapshot | undefined,
  now: number,
  rule: ExpiryRule,
): { metadata: TableMetadata; expired: IcebergSnapshot[]; droppedMetadataFiles: string[] } {
  const id = snapshot?.['snapshot-id'] ?? base['current-snapshot-id'];
  const { kept, expired } = expirySplit([...base.snapshots, ...(snapshot ? [snapshot] : [])], id, now, rule);
  const keptIds = new Set(kept.map((s) => s['snapshot-id']));
  const metadataLog = baseLocation
    ? [...base['metadata-log'], { 'timestamp-ms': base['last-updated-ms'], 'metadata-file': baseLocation }]
    : [...base['metadata-log']];
  const dropped = metadataLog.splice(0, Math.max(0, metadataLog.length - PREVIOUS_VERSIONS_MAX));
  const snapshotLog = snapshot ? [...base['snapshot-log'], { 'timestamp-ms': snapshot['timestamp-ms'], 'snapshot-id': id }] : base['snapshot-log'];
  return {
    metadata: {
      ...base,
      'last-sequence-number': snapshot?.['sequence-number'] ?? base['last-sequence-number'],
      'last-updated-ms': now,
      'current-snapshot-id': id,
      snapshots: kept,
      'snapshot-log': snapshotLog.filter((e) => keptIds.has(e['snapshot-id'])),
      'metadata-log': metadataLog,
      refs: { ...base.refs, main: { 'snapshot-id': id, type: 'branch' } },
    },
    expired,
    droppedMetadataFiles: dropped.map((e) => e['metadata-file']),
  };
}

/** The snapshot that was current at `at` (ms), from the snapshot log; undefined before the first or when it expired. */
export function snapshotAsOf(metadata: TableMetadata, at: number): IcebergSnapshot | undefined {
  const entry = metadata['snapshot-log'].filter((e) => e['timestamp-ms'] <= at).at(-1);
  return entry ? metadata.snapshots.find((s) => s['snapshot-id'] === entry['snapshot-id']) : undefined;
}
