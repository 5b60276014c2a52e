/**
 * Iceberg's manifests and manifest lists (format v2) as Avro: their schemas with the spec's field
 * ids, and the records this project writes and reads back. A manifest holds the entries of one
 * group of data files (`LakeIcebergTable.groupOf`: a month of `rentals`); a manifest list names a
 * snapshot's manifests with their counts and partition bounds, so a reader filtering on a day
 * opens only the manifest of its month and then only that day's files.
 */
import type { IcebergSchema, PartitionSpec } from './table-model.js';
import { readAvroContainer, writeAvroContainer } from './avro-container.js';

/** A manifest entry's status: 0 existing, 1 added, 2 deleted (by the entry's snapshot). */
export const ENTRY_STATUS = { existing: 0, added: 1, deleted: 2 } as const;

export interface ManifestEntry {
  readonly status: 0 | 1 | 2;
  readonly snapshot_id: number;
  readonly sequence_number: number;
  readonly file_sequence_number: number;
  readonly data_file: {
    readonly content: 0;
    readonly file_path: string;
    readonly file_format: 'PARQUET';
    /** Partition values by partition field name (`year`, `month`, `day`); empty when unpartitioned. */
    readonly partition: Readonly<Record<string, number | null>>;
    readonly record_count: number;
    readonly file_size_in_bytes: number;
  };
}

export interface FieldSummary {
  readonly contains_null: boolean;
  readonly contains_nan: boolean | null;
  readonly lower_bound: Buffer | null;
  readonly upper_bound: Buffer | null;
}

export interface ManifestListEntry {
  readonly manifest_path: string;
  readonly manifest_length: number;
  readonly partition_spec_id: number;
  readonly content: 0;
  readonly sequence_number: number;
  readonly min_sequence_number: number;
  readonly added_snapshot_id: number;
  readonly added_files_count: number;
  readonly existing_files_count: number;
  readonly deleted_files_count: number;
  readonly added_rows_count: number;
  readonly existing_rows_count: number;
  readonly deleted_rows_count: number;
  readonly partitions: readonly FieldSummary[] | null;
}

const optional = (type: unknown) => ['null', type];

/** The manifest entry schema of the spec, its `partition` struct that of `spec`. */
export function manifestEntrySchema(spec: PartitionSpec): object {
  return {
    type: 'record',
    name: 'manifest_entry',
    fields: [
      { name: 'status', type: 'int', 'field-id': 0 },
      { name: 'snapshot_id', type: optional('long'), default: null, 'field-id': 1 },
      { name: 'sequence_number', type: optional('long'), default: null, 'field-id': 3 },
      { name: 'file_sequence_number', type: optional('long'), default: null, 'field-id': 4 },
      {
        name: 'data_file',
        'field-id': 2,
        type: {
          type: 'record',
          name: 'r2',
          fields: [
            { name: 'content', type: 'int', 'field-id': 134, doc: 'Contents of the file: 0=data, 1=position deletes, 2=equality deletes' },
            { name: 'file_path', type: 'string', 'field-id': 100, doc: 'Location URI with FS scheme' },
            { name: 'file_format', type: 'string', 'field-id': 101, doc: 'File format name: avro, orc, or parquet' },
            {
              name: 'partition',
              'field-id': 102,
              type: {
                type: 'record',
                name: 'r102',
                fields: spec.fields.map((f) => ({ name: f.name, type: optional('int'), default: null, 'field-id': f['field-id'] })),
              },
            },
            { name: 'record_count', type: 'long', 'field-id': 103, doc: 'Number of records in the file' },
            { name: 'file_size_in_bytes', type: 'long', 'field-id': 104, doc: 'Total file size in bytes' },
          ],
        },
      },
    ],
  };
}

/** The manifest list (`manifest_file`) schema of the spec. */
export const MANIFEST_LIST_SCHEMA = {
  type: 'record',
  name: 'manifest_file',
  fields: [
    { name: 'manifest_path', type: 'string', 'field-id': 500, doc: 'Location URI with FS scheme' },
    { name: 'manifest_length', type: 'long', 'field-id': 501 },
    { name: 'partition_spec_id', type: 'int', 'field-id': 502 },
    { name: 'content', type: 'int', 'field-id': 517 },
    { name: 'sequence_number', type: 'long', 'field-id': 515 },
    { name: 'min_sequence_number', type: 'long', 'field-id': 516 },
    { name: 'added_snapshot_id', type: 'long', 'field-id': 503 },
    { name: 'added_files_count', type: 'int', 'field-id': 504 },
    { name: 'existing_files_count', type: 'int', 'field-id': 505 },
    { name: 'deleted_files_count', type: 'int', 'field-id': 506 },
    { name: 'added_rows_count', type: 'long', 'field-id': 512 },
    { name: 'existing_rows_count', type: 'long', 'field-id': 513 },
    { name: 'deleted_rows_count', type: 'long', 'field-id': 514 },
    {
      name: 'partitions',
      type: optional({
        type: 'array',
        'element-id': 508,
        items: {
          type: 'record',
          name: 'r508',
          fields: [
            { name: 'contains_null', type: 'boolean', 'field-id': 509 },
            { name: 'contains_nan', type: optional('boolean'), default: null, 'field-id': 518 },
            { name: 'lower_bound', type: optional('bytes'), default: null, 'field-id': 510 },
            { name: 'upper_bound', type: optional('bytes'), default: null, 'field-id': 511 },
          ],
        },
      }),
      default: null,
      'field-id': 507,
    },
  ],
} as const;

/** An int's single-value serialisation (4 bytes, little-endian): the bounds of a partition summary. */
function intBound(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeInt32LE(value);
  return buffer;
}

/** The partition summaries of a manifest's live entries: each partition field's bounds. */
export function partitionSummaries(spec: PartitionSpec, entries: readonly ManifestEntry[]): FieldSummary[] {
  return spec.fields.map((field) => {
    const values = entries.map((e) => e.data_file.partition[field.name]).filter((v): v is number => v !== null && v !== undefined);
    const containsNull = values.length < entries.length;
    if (values.length === 0) return { contains_null: containsNull, contains_nan: false, lower_bound: null, upper_bound: null };
    return { contains_null: containsNull, contains_nan: false, lower_bound: intBound(Math.min(...values)), upper_bound: intBound(Math.max(...values)) };
  });
}

/** A manifest file of `entries` (its header says the table schema and partition spec, as the spec asks). */
export function encodeManifest(schema: IcebergSchema, spec: PartitionSpec, entries: readonly ManifestEntry[]): Buffer {
  return writeAvroContainer(manifestEntrySchema(spec), entries, {
    schema: JSON.stringify(schema),
    'schema-id': String(schema['schema-id']),
    'partition-spec': JSON.stringify(spec.fields),
    'partition-spec-id': String(spec['spec-id']),
    'format-version': '2',
    content: 'data',
  });
}

export function decodeManifest(bytes: Uint8Array): ManifestEntry[] {
  return readAvroContainer<ManifestEntry>(bytes).records;
}

/** A manifest list of `entries` for the snapshot `snapshotId`. */
export function encodeManifestList(
  entries: readonly ManifestListEntry[],
  snapshot: { snapshotId: number; parentId: number | undefined; sequenceNumber: number },
): Buffer {
  return writeAvroContainer(MANIFEST_LIST_SCHEMA, entries, {
    'snapshot-id': String(snapshot.snapshotId),
    'parent-snapshot-id': snapshot.parentId === undefined ? 'null' : String(snapshot.parentId),
    'sequence-number': String(snapshot.sequenceNumber),
    'format-version': '2',
  });
}

export function decodeManifestList(bytes: Uint8Array): ManifestListEntry[] {
  return readAvroContainer<ManifestListEntry>(bytes).records;
}
