/**
 * The tables the pipeline reads, declared as data: the partitioned table `rentals` with its
 * columns, key, partition column, casts, quality measures and lineage, and the tables copied whole
 * beside it each day (`users`, `bikes`). The stages read these declarations and name no table or
 * column themselves: the SQL they send (`src/source/queries.ts`), the Arrow and Parquet schemas
 * (`schema.ts`), the casts and quarantine reasons, the checks in the reports and the README's
 * schema table all come from here.
 *
 * This module holds data and the rules a declaration must keep; it imports nothing heavy, so the
 * lake layout and the stage contracts can read it too.
 */
import { ConfigError } from './errors.js';

/** How a Postgres column travels through COPY BINARY into Arrow. */
export type ColumnKind = 'int64' | 'int32' | 'bool' | 'date' | 'timestamptz' | 'text';

/**
 * A source text column that the lake holds as a decimal. A value that does not read as one
 * becomes NULL in the lake and its row is quarantined with the reason `<column>_<fault>`
 * (`rent_cost_not_numeric`, ...; see `DecimalFault`).
 */
export interface DecimalCast {
  readonly to: 'decimal';
  /** Digits in all; at most 15, so that every value is exact in a JavaScript number. */
  readonly precision: number;
  /** Digits after the point. */
  readonly scale: number;
}

/** Why a text value is not a decimal of its column's precision and scale. */
export type DecimalFault = 'blank' | 'not_numeric' | 'out_of_range' | 'too_precise';

export interface SourceColumn {
  readonly name: string;
  readonly kind: ColumnKind;
  readonly nullable: boolean;
  readonly description: string;
  /** The column's lake type when it is not the source's. */
  readonly cast?: DecimalCast;
}

/** A source table: its name and its columns, in the order extract reads and stages them. */
export interface SourceTable {
  readonly name: string;
  readonly columns: readonly SourceColumn[];
}

/** A table copied whole beside every day (a snapshot): one row per key, extracted in key order. */
export interface SnapshotTable extends SourceTable {
  readonly key: string;
}

/** What the transform writes into a lineage column, and the column's kind. */
export const LINEAGE_VALUES = {
  /** The id of the run that wrote the row. */
  run_id: 'text',
  /** When the source snapshot the row was read in was taken. */
  extracted_at: 'timestamptz',
} as const satisfies Record<string, ColumnKind>;

/** A column the pipeline appends to every lake row; never NULL. */
export interface LineageColumn {
  readonly name: string;
  readonly value: keyof typeof LINEAGE_VALUES;
  readonly description: string;
}

/**
 * The quality measures of a partitioned table. Each counts rows of the day into its field of the
 * stage metrics and is checked against its quality threshold as `<name>_rate`.
 */
export interface QualityMeasures {
  /** Rows whose interval ends before it starts (`negativeDurations`, `QUALITY_MAX_NEGATIVE_DURATION_RATE`). */
  readonly negativeInterval?: { readonly name: string; readonly start: string; readonly end: string };
  /** Rows with a negative value (`negativeCosts`, `QUALITY_MAX_NEGATIVE_COST_RATE`). */
  readonly negativeValue?: { readonly name: string; readonly column: string };
}

/**
 * A table the lake holds partitioned by day: its rows of a day are extracted, cast, checked and
 * published as one partition.
 */
export interface FactTable extends SourceTable {
  /** The row's identity: repeated ids fail the day (`duplicate_<key>`); written without dictionary. */
  readonly key: string;
  /** The timestamp whose day, in `PARTITION_TIMEZONE`, is the row's partition. */
  readonly partition: string;
  /** The timestamp of the row's last change: a re-check finds a partition gone stale by it. */
  readonly changedAt: string;
  /** The order extract reads a day's rows in. */
  readonly order: readonly string[];
  readonly measures: QualityMeasures;
  /** Appended to every lake row after the source columns. */
  readonly lineage: readonly LineageColumn[];
  /** The tables copied whole with the first range of every day. */
  readonly snapshots: readonly SnapshotTable[];
}

/** One column of a declaration. */
export function column(name: string, kind: ColumnKind, nullable: boolean, description: string, options: { cast?: DecimalCast } = {}): SourceColumn {
  return { name, kind, nullable, description, ...options };
}

/** Most decimal digits a cast may declare: 10^15 is below 2^53, so every value is an exact number. */
export const MAX_DECIMAL_PRECISION = 15;

function fail(field: string, expected: string, actual: unknown): never {
  throw new ConfigError(field, expected, actual === undefined ? undefined : String(actual));
}

function checkColumns(table: SourceTable): void {
  if (table.columns.length === 0) fail(`${table.name}.columns`, 'at least one column', '[]');
  const seen = new Set<string>();
  for (const c of table.columns) {
    if (seen.has(c.name)) fail(`${table.name}.columns`, 'distinct column names', c.name);
    seen.add(c.name);
    const cast = c.cast;
    if (!cast) continue;
    const field = `${table.name}.${c.name}.cast`;
    if (c.kind !== 'text') fail(field, 'a cast of a text column', c.kind);
    if (!Number.isInteger(cast.precision) || cast.precision < 1 || cast.precision > MAX_DECIMAL_PRECISION) {
      fail(`${field}.precision`, `an integer from 1 to ${MAX_DECIMAL_PRECISION}`, cast.precision);
    }
    if (!Number.isInteger(cast.scale) || cast.scale < 0 || cast.scale > cast.precision)
      fail(`${field}.scale`, `an integer from 0 to the precision`, cast.scale);
  }
}

/** The column `name` of `table`, or a ConfigError naming `field` when it has none of `kinds`. */
function columnOf(table: SourceTable, field: string, name: string, kinds?: readonly ColumnKind[]): SourceColumn {
  const found = table.columns.find((c) => c.name === name);
  if (!found) fail(`${table.name}.${field}`, `one of the columns ${table.columns.map((c) => c.name).join(', ')}`, name);
  if (kinds && !kinds.includes(found.kind)) fail(`${table.name}.${field}`, `a column of kind ${kinds.join(' or ')}`, `${name} (${found.kind})`);
  return found;
}

/** Checks a snapshot table's declaration; returns it as declared. */
export function declareSnapshotTable<const T extends SnapshotTable>(table: T): T {
  checkColumns(table);
  columnOf(table, 'key', table.key);
  return table;
}

/**
 * Checks a partitioned table's declaration, and returns it as declared: every name it refers to
 * is one of its columns of a kind that fits, casts are of text into decimals a number holds
 * exactly, and no two tables or columns share a name. A declaration that breaks a rule fails at
 * start-up with a `ConfigError` naming the field.
 */
export function declareFactTable<const T extends FactTable>(table: T): T {
  checkColumns(table);
  const lineageNames = table.lineage.map((l) => l.name);
  for (const name of lineageNames) {
    if (table.columns.some((c) => c.name === name) || lineageNames.indexOf(name) !== lineageNames.lastIndexOf(name)) {
      fail(`${table.name}.lineage`, 'names no source column or other lineage column has', name);
    }
  }
  const key = columnOf(table, 'key', table.key, ['int64', 'int32', 'text']);
  if (key.nullable) fail(`${table.name}.key`, 'a NOT NULL column', table.key);
  const partition = columnOf(table, 'partition', table.partition, ['timestamptz']);
  if (partition.nullable) fail(`${table.name}.partition`, 'a NOT NULL column', table.partition);
  columnOf(table, 'changedAt', table.changedAt, ['timestamptz']);
  if (table.order.length === 0) fail(`${table.name}.order`, 'at least one column', '[]');
  for (const [i, name] of table.order.entries()) columnOf(table, `order[${i}]`, name);
  const { negativeInterval, negativeValue } = table.measures;
  if (negativeInterval) {
    columnOf(table, 'measures.negativeInterval.start', negativeInterval.start, ['timestamptz']);
    columnOf(table, 'measures.negativeInterval.end', negativeInterval.end, ['timestamptz']);
  }
  if (negativeValue) {
    const valued = columnOf(table, 'measures.negativeValue.column', negativeValue.column);
    if (!valued.cast && valued.kind !== 'int64' && valued.kind !== 'int32') {
      fail(`${table.name}.measures.negativeValue.column`, 'an int64 or int32 column or one cast to a decimal', `${valued.name} (${valued.kind})`);
    }
  }
  const names = new Set([table.name]);
  for (const snapshot of table.snapshots) {
    if (names.has(snapshot.name)) fail(`${table.name}.snapshots`, 'tables of distinct names', snapshot.name);
    names.add(snapshot.name);
    declareSnapshotTable(snapshot);
  }
  return table;
}

// --- The declarations -----------------------------------------------------------------------

export const USERS = declareSnapshotTable({
  name: 'users',
  key: 'user_id',
  columns: [
    column('user_id', 'int64', false, 'Primary key of the user'),
    column('first_name', 'text', false, 'First name'),
    column('last_name', 'text', false, 'Last name'),
    column('email', 'text', false, 'E-mail address'),
    column('age', 'int32', true, 'Age in years'),
    column('city', 'text', true, 'Home city'),
    column('signup_date', 'date', false, 'Day the user signed up'),
  ],
});

export const BIKES = declareSnapshotTable({
  name: 'bikes',
  key: 'bike_id',
  columns: [
    column('bike_id', 'int64', false, 'Primary key of the bike'),
    column('model', 'text', false, 'Bike model'),
    column('bike_type', 'text', false, 'Kind of bike (city, e-bike, cargo, ...)'),
    column('home_station', 'text', true, 'Station the bike belongs to'),
    column('in_service', 'bool', false, 'Whether the bike can be rented'),
  ],
});

export const RENTALS = declareFactTable({
  name: 'rentals',
  columns: [
    column('rental_id', 'int64', false, 'Primary key of the rental'),
    column('user_id', 'int64', false, 'Renting user (`users.user_id`)'),
    column('bike_id', 'int64', false, 'Rented bike (`bikes.bike_id`)'),
    column('rent_start', 'timestamptz', false, 'Start of the rental; its day in `PARTITION_TIMEZONE` is the partition'),
    column('rent_end', 'timestamptz', true, 'End of the rental; NULL while the rental is open'),
    column('start_station', 'text', true, 'Station the bike left from'),
    column('end_station', 'text', true, 'Station the bike was returned to'),
    column('rent_cost', 'text', true, 'Price charged; text in the source, a decimal in the lake', { cast: { to: 'decimal', precision: 12, scale: 2 } }),
    column('updated_at', 'timestamptz', false, 'Last change of the source row'),
  ],
  key: 'rental_id',
  partition: 'rent_start',
  changedAt: 'updated_at',
  order: ['rent_start', 'rental_id'],
  measures: {
    negativeInterval: { name: 'negative_duration', start: 'rent_start', end: 'rent_end' },
    negativeValue: { name: 'negative_cost', column: 'rent_cost' },
  },
  lineage: [
    { name: 'etl_run_id', value: 'run_id', description: 'Run that wrote the row' },
    { name: 'etl_extracted_at', value: 'extracted_at', description: 'Snapshot time of the source read' },
  ],
  snapshots: [USERS, BIKES],
});
