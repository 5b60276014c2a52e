/**
 * The lake's tables as Apache Iceberg (format v2) sees them, derived from the table declarations
 * (`src/core/tables.ts`) through their Arrow schemas: `rentals` partitioned by identity `year`,
 * `month`, `day` (the day in `PARTITION_TIMEZONE`, as the Hive folders are; the values live in the
 * manifests, not in the files), and the snapshot tables unpartitioned. Field ids are the ones the
 * Parquet writer puts in every file (`fieldIdOf`); the name mapping covers files written before
 * they did. Where the metadata lives and how a lake key becomes an absolute data file path.
 */
import { pathToFileURL } from 'node:url';
import { DataType, type Field } from 'apache-arrow';
import type { LakeLocation } from '../../core/config.js';
import { PARTITION_COLUMNS } from '../../core/day.js';
import { fieldIdOf, lakeSchema, RENTALS, stagingSchema, type SourceTable } from '../../core/schema.js';

export interface IcebergField {
  readonly id: number;
  readonly name: string;
  readonly required: boolean;
  readonly type: string;
  readonly doc?: string;
}

export interface IcebergSchema {
  readonly type: 'struct';
  readonly 'schema-id': number;
  readonly fields: readonly IcebergField[];
}

export interface PartitionField {
  readonly 'source-id': number;
  readonly 'field-id': number;
  readonly name: string;
  readonly transform: 'identity';
}

export interface PartitionSpec {
  readonly 'spec-id': number;
  readonly fields: readonly PartitionField[];
}

/** One of the lake's tables as an Iceberg table. */
export interface LakeIcebergTable {
  readonly name: string;
  readonly schema: IcebergSchema;
  readonly spec: PartitionSpec;
  /** The partition values of the data file at `key` (rentals: its Hive folder's year, month, day). */
  partitionOf(key: string): readonly number[];
  /**
   * The manifest a data file's entry is kept in: one per month for `rentals` (a commit rewrites
   * the one manifest of the month it touches, so metadata grows by months, not commits).
   */
  groupOf(partition: readonly number[]): string;
}

/** First field id of a partition spec's fields (the spec's convention). */
const FIRST_PARTITION_FIELD_ID = 1000;

/** The Iceberg type of a lake column's Arrow type. */
export function icebergTypeOf(type: DataType): string {
  if (DataType.isInt(type)) return type.bitWidth === 64 ? 'long' : 'int';
  if (DataType.isBool(type)) return 'boolean';
  if (DataType.isDate(type)) return 'date';
  if (DataType.isTimestamp(type)) return type.timezone ? 'timestamptz' : 'timestamp';
  if (DataType.isDecimal(type)) return `decimal(${type.precision}, ${type.scale})`;
  if (DataType.isUtf8(type)) return 'string';
  throw new Error(`no Iceberg type for the Arrow type ${String(type)}`);
}

function fieldsOf(fields: readonly Field[]): IcebergField[] {
  return fields.map((f) => ({ id: fieldIdOf(f), name: f.name, required: !f.nullable, type: icebergTypeOf(f.type) }));
}

const HIVE_PARTITION = /(?:^|\/)year=(\d{4})\/month=(\d{2})\/day=(\d{2})\//;

function rentalsTable(): LakeIcebergTable {
  const columns = fieldsOf(lakeSchema(RENTALS).fields);
  const last = Math.max(...columns.map((c) => c.id));
  // The Hive partition columns: in no data file, their values in the manifests (identity partitions).
  const partitionColumns = PARTITION_COLUMNS.map((name, i) => ({ id: last + 1 + i, name, required: true, type: 'int' }));
  return {
    name: RENTALS.name,
    schema: { type: 'struct', 'schema-id': 0, fields: [...columns, ...partitionColumns] },
    spec: {
      'spec-id': 0,
      fields: partitionColumns.map((c, i) => ({ 'source-id': c.id, 'field-id': FIRST_PARTITION_FIELD_ID + i, name: c.name, transform: 'identity' })),
    },
    partitionOf(key) {
      const m = HIVE_PARTITION.exec(key);
      if (!m) throw new Error(`${key} is not in a year=/month=/day= folder`);
      return [Number(m[1]), Number(m[2]), Number(m[3])];
    },
    groupOf([year, month]) {
      return `${year}-${String(month).padStart(2, '0')}`;
    },
  };
}

function snapshotTable(table: SourceTable): LakeIcebergTable {
  return {
    name: table.name,
    schema: { type: 'struct', 'schema-id': 0, fields: fieldsOf(stagingSchema(table).fields) },
    spec: { 'spec-id': 0, fields: [] },
    partitionOf: () => [],
    groupOf: () => 'all',
  };
}

/** The lake's Iceberg tables by name: `rentals`, then the snapshot tables. */
export const ICEBERG_TABLES: Readonly<Record<string, LakeIcebergTable>> = Object.fromEntries(
  [rentalsTable(), ...RENTALS.snapshots.map(snapshotTable)].map((t) => [t.name, t]),
);

export function icebergTable(name: string): LakeIcebergTable {
  const table = ICEBERG_TABLES[name];
  if (!table) throw new Error(`no Iceberg table ${name}`);
  return table;
}

export { ICEBERG_ROOT, icebergMetadataPrefix } from './metadata-layout.js';

/** The absolute location of the lake object `key`: `s3://bucket/prefix/key`, or a `file:` URL. */
export function absoluteLocation(location: LakeLocation, key: string): string {
  if (location.kind === 's3') return `${location.uri}/${key}`;
  return pathToFileURL(`${location.root}/${key}`).href;
}

/** The lake key of an absolute location made by `absoluteLocation`, or undefined for one outside the lake. */
export function keyOfLocation(location: LakeLocation, url: string): string | undefined {
  const root = absoluteLocation(location, '');
  return url.startsWith(root) ? decodeURIComponent(url.slice(root.length)) : undefined;
}

/** The name mapping (`schema.name-mapping.default`): files without field ids are read by column name. */
export function nameMapping(schema: IcebergSchema): string {
  return JSON.stringify(schema.fields.map((f) => ({ 'field-id': f.id, names: [f.name] })));
}
