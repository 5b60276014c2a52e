/**
 * The one declaration of every table's columns: the source columns extract reads, the Arrow
 * schema of the staging files, and the Arrow schema of the lake. The Parquet writer, the
 * validator, the tests and the README's schema table all derive from here.
 */
import { createHash } from 'node:crypto';
import {
  Bool,
  DataType,
  DateDay,
  Decimal,
  Field,
  Int32,
  Int64,
  Schema,
  TimestampMicrosecond,
  Utf8,
} from 'apache-arrow';

/** How a Postgres column travels through COPY BINARY into Arrow. */
export type ColumnKind = 'int64' | 'int32' | 'bool' | 'date' | 'timestamptz' | 'text';

export interface SourceColumn {
  readonly name: string;
  readonly kind: ColumnKind;
  readonly nullable: boolean;
  readonly description: string;
}

export interface SourceTable {
  readonly name: 'rentals' | 'users' | 'bikes';
  readonly columns: readonly SourceColumn[];
}

export const RENT_COST_PRECISION = 12;
export const RENT_COST_SCALE = 2;

const col = (name: string, kind: ColumnKind, nullable: boolean, description: string): SourceColumn => ({
  name,
  kind,
  nullable,
  description,
});

export const RENTALS: SourceTable = {
  name: 'rentals',
  columns: [
    col('rental_id', 'int64', false, 'Primary key of the rental'),
    col('user_id', 'int64', false, 'Renting user (`users.user_id`)'),
    col('bike_id', 'int64', false, 'Rented bike (`bikes.bike_id`)'),
    col('rent_start', 'timestamptz', false, 'Start of the rental; its day in `PARTITION_TIMEZONE` is the partition'),
    col('rent_end', 'timestamptz', true, 'End of the rental; NULL while the rental is open'),
    col('start_station', 'text', true, 'Station the bike left from'),
    col('end_station', 'text', true, 'Station the bike was returned to'),
    col('rent_cost', 'text', true, 'Price charged; text in the source, a decimal in the lake'),
    col('updated_at', 'timestamptz', false, 'Last change of the source row'),
  ],
};

export const USERS: SourceTable = {
  name: 'users',
  columns: [
    col('user_id', 'int64', false, 'Primary key of the user'),
    col('first_name', 'text', false, 'First name'),
    col('last_name', 'text', false, 'Last name'),
    col('email', 'text', false, 'E-mail address'),
    col('age', 'int32', true, 'Age in years'),
    col('city', 'text', true, 'Home city'),
    col('signup_date', 'date', false, 'Day the user signed up'),
  ],
};

export const BIKES: SourceTable = {
  name: 'bikes',
  columns: [
    col('bike_id', 'int64', false, 'Primary key of the bike'),
    col('model', 'text', false, 'Bike model'),
    col('bike_type', 'text', false, 'Kind of bike (city, e-bike, cargo, ...)'),
    col('home_station', 'text', true, 'Station the bike belongs to'),
    col('in_service', 'bool', false, 'Whether the bike can be rented'),
  ],
};

export const SOURCE_TABLES = [RENTALS, USERS, BIKES] as const;

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

/** Schema of a table's staging file: every source column, raw (rent_cost still text). */
export function stagingSchema(table: SourceTable): Schema {
  return new Schema(table.columns.map((c) => new Field(c.name, arrowTypeOf(c.kind), c.nullable)));
}

/** Lineage columns appended to every lake row of `rentals`. */
export const LINEAGE_COLUMNS: readonly SourceColumn[] = [
  col('etl_run_id', 'text', false, 'Run that wrote the row'),
  col('etl_extracted_at', 'timestamptz', false, 'Snapshot time of the source read'),
];

/** Lake schema of `rentals`: source columns cast to their lake types plus lineage. */
export const RENTALS_LAKE_SCHEMA = new Schema([
  ...RENTALS.columns.map((c) =>
    c.name === 'rent_cost'
      ? new Field(c.name, new Decimal(RENT_COST_SCALE, RENT_COST_PRECISION, 128), true)
      : new Field(c.name, arrowTypeOf(c.kind), c.nullable),
  ),
  ...LINEAGE_COLUMNS.map((c) => new Field(c.name, arrowTypeOf(c.kind), c.nullable)),
]);

/** Lake schema of the `users` and `bikes` snapshots: the source columns as they are. */
export const SNAPSHOT_LAKE_SCHEMAS = { users: stagingSchema(USERS), bikes: stagingSchema(BIKES) } as const;

/** Description of a lake column of any table, for reports and the README. */
export function describeColumn(table: SourceTable, name: string): string {
  return [...table.columns, ...LINEAGE_COLUMNS].find((c) => c.name === name)?.description ?? '';
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

/** The lake's `rentals` columns as a Markdown table (the README embeds it; a test keeps them equal). */
export function rentalsSchemaMarkdown(): string {
  const rows = RENTALS_LAKE_SCHEMA.fields.map(
    (f) => `| \`${f.name}\` | ${sqlTypeName(f.type)} | ${f.nullable ? 'yes' : 'no'} | ${describeColumn(RENTALS, f.name)} |`,
  );
  return ['| column | type | nullable | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
