/**
 * What the table declarations (`tables.ts`) mean in Arrow: the schema of a table's staging files
 * (its source columns, raw), the schema of its lake files (cast, then lineage), the columns
 * written without dictionary encoding, the schema fingerprint and the README's schema table. The
 * decoder, the Parquet writer, the validator and the tests read these.
 */
import { createHash } from 'node:crypto';
import { Bool, DataType, DateDay, Decimal, Field, Int32, Int64, Schema, TimestampMicrosecond, Utf8 } from 'apache-arrow';
import { LINEAGE_VALUES, RENTALS, type ColumnKind, type FactTable, type SourceColumn, type SourceTable } from './tables.js';

// The declarations themselves, for the modules that read them with their Arrow schemas.
export { BIKES, RENTALS, USERS } from './tables.js';
export type { ColumnKind, FactTable, SnapshotTable, SourceColumn, SourceTable } from './tables.js';

/** Arrow type that holds a source column's raw value. */
export function arrowTypeOf(kind: ColumnKind): DataType {
  switch (kind) {
    case 'int64':
      return new Int64();
    case 'int32':
      return new Int32();
    case 'bool':
      return new Bool();
    case 'date':
      return new DateDay();
    case 'timestamptz':
      return new TimestampMicrosecond('UTC');
    case 'text':
      return new Utf8();
  }
}

/** The Arrow type of a source column in the lake: its cast's type, else its raw type. */
export function lakeTypeOf(column: SourceColumn): DataType {
  return column.cast ? new Decimal(column.cast.scale, column.cast.precision, 128) : arrowTypeOf(column.kind);
}

/** The Arrow field metadata key parquet-wasm (arrow-rs) writes as a Parquet column's field id. */
export const PARQUET_FIELD_ID = 'PARQUET:field_id';

/**
 * A schema whose fields carry their Iceberg field ids (1, 2, ... in column order) as
 * `PARQUET:field_id`: the Parquet files then say which Iceberg column each of theirs is, so an
 * Iceberg reader matches columns by id (the spec's rule) rather than by name.
 */
function withFieldIds(fields: Field[]): Schema {
  return new Schema(fields.map((f, i) => new Field(f.name, f.type, f.nullable, new Map([[PARQUET_FIELD_ID, String(i + 1)]]))));
}

/** The Iceberg field id of a lake or staging schema's field (`withFieldIds`). */
export function fieldIdOf(field: Field): number {
  return Number(field.metadata.get(PARQUET_FIELD_ID));
}

const stagingSchemas = new WeakMap<SourceTable, Schema>();
const lakeSchemas = new WeakMap<FactTable, Schema>();

/**
 * Schema of a table's staging files: every source column, raw (a text column to be cast still
 * text). A snapshot table's lake files have this schema too.
 */
export function stagingSchema(table: SourceTable): Schema {
  let schema = stagingSchemas.get(table);
  if (!schema) {
    schema = withFieldIds(table.columns.map((c) => new Field(c.name, arrowTypeOf(c.kind), c.nullable)));
    stagingSchemas.set(table, schema);
  }
  return schema;
}

/**
 * Lake schema of a partitioned table: its source columns at their lake types, then its lineage
 * columns. A cast column may be NULL whatever the source says: a value that does not cast is.
 */
export function lakeSchema(table: FactTable): Schema {
  let schema = lakeSchemas.get(table);
  if (!schema) {
    schema = withFieldIds([
      ...table.columns.map((c) => new Field(c.name, lakeTypeOf(c), c.cast ? true : c.nullable)),
      ...table.lineage.map((l) => new Field(l.name, arrowTypeOf(LINEAGE_VALUES[l.value]), false)),
    ]);
    lakeSchemas.set(table, schema);
  }
  return schema;
}

/**
 * The lake columns written without dictionary encoding: the key and the source timestamps are
 * (nearly) all distinct, so a dictionary would cost time and be given up anyway.
 */
export function columnsWithoutDictionary(table: FactTable): string[] {
  return table.columns.filter((c) => c.name === table.key || c.kind === 'timestamptz').map((c) => c.name);
}

/** Description of a lake column of `table`, for reports and the README. */
export function describeColumn(table: FactTable, name: string): string {
  return [...table.columns, ...table.lineage].find((c) => c.name === name)?.description ?? '';
}

/**
 * A short, stable hash of a schema's column names, types and nullability: written into every
 * Parquet footer and manifest so a reader can tell which schema version a file was written with.
 */
export function schemaFingerprint(schema: Schema): string {
  const text = schema.fields.map((f) => `${f.name}:${String(f.type)}:${f.nullable ? 'null' : 'required'}`).join(',');
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** How a lake column's type reads in SQL (DuckDB, Athena). */
export function sqlTypeName(type: DataType): string {
  if (DataType.isInt(type)) return type.bitWidth === 64 ? 'BIGINT' : 'INTEGER';
  if (DataType.isBool(type)) return 'BOOLEAN';
  if (DataType.isDate(type)) return 'DATE';
  if (DataType.isTimestamp(type)) return 'TIMESTAMP WITH TIME ZONE (µs)';
  if (DataType.isDecimal(type)) return `DECIMAL(${type.precision},${type.scale})`;
  if (DataType.isUtf8(type)) return 'VARCHAR';
  return String(type);
}

/** A partitioned table's lake columns as a Markdown table. */
export function schemaMarkdown(table: FactTable): string {
  const rows = lakeSchema(table).fields.map(
    (f) => `| \`${f.name}\` | ${sqlTypeName(f.type)} | ${f.nullable ? 'yes' : 'no'} | ${describeColumn(table, f.name)} |`,
  );
  return ['| column | type | nullable | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

/** The lake's `rentals` columns as a Markdown table (the README embeds it; a test keeps them equal). */
export function rentalsSchemaMarkdown(): string {
  return schemaMarkdown(RENTALS);
}
