/**
 * The source tables' columns against their declarations (`core/tables.ts`), read from
 * `information_schema` in one query: a declared column missing or of another type fails the day
 * before anything is read (COPY BINARY sends raw bytes: a text column read as a bigint would decode
 * as garbage), and a column the declaration does not name is schema drift: reported with its type
 * (the plan's output, the day's report, the run summary, `etl status`), not carried into the lake.
 */
import type pg from 'pg';
import { StagingError } from '../core/errors.js';
import type { ColumnKind, SourceTable } from '../core/tables.js';
import { sourceColumnsQuery } from './queries.js';

/** Postgres types whose binary form the COPY decoder reads for each column kind. */
const SOURCE_TYPES: Record<ColumnKind, readonly string[]> = {
  int64: ['bigint'],
  int32: ['integer'],
  bool: ['boolean'],
  date: ['date'],
  timestamptz: ['timestamp with time zone'],
  text: ['text', 'character varying'],
};

/** A source column no declaration names, as `rentals.promo_code (text)` describes it. */
export interface UndeclaredColumn {
  readonly table: string;
  readonly name: string;
  readonly type: string;
}

/** `promo_code (text)`, the way reports and summaries name an undeclared column. */
export function describeUndeclared(column: UndeclaredColumn): string {
  return `${column.table}.${column.name} (${column.type})`;
}

type ColumnRow = { table_name: string; column_name: string; data_type: string };

function undeclaredOf(tables: readonly SourceTable[], rows: readonly ColumnRow[]): UndeclaredColumn[] {
  return rows
    .filter((r) => !tables.some((t) => t.name === r.table_name && t.columns.some((c) => c.name === r.column_name)))
    .map((r) => ({ table: r.table_name, name: r.column_name, type: r.data_type }))
    .sort((a, b) => `${a.table}.${a.name}`.localeCompare(`${b.table}.${b.name}`));
}

/** The columns `tables` have in the source beyond their declarations (schema drift), without checking the declared ones. */
export async function undeclaredSourceColumns(client: pg.Client, tables: readonly SourceTable[]): Promise<UndeclaredColumn[]> {
  return undeclaredOf(tables, (await client.query<ColumnRow>(sourceColumnsQuery(tables))).rows);
}

/**
 * Checks that the source tables have the columns and types their declarations give (a
 * `StagingError` naming the column otherwise), and returns the columns they have beyond them.
 */
export async function checkSourceColumns(client: pg.Client, tables: readonly SourceTable[]): Promise<UndeclaredColumn[]> {
  const { rows } = await client.query<ColumnRow>(sourceColumnsQuery(tables));
  for (const table of tables) {
    for (const column of table.columns) {
      const actual = rows.find((r) => r.table_name === table.name && r.column_name === column.name)?.data_type;
      if (actual === undefined || !SOURCE_TYPES[column.kind].includes(actual)) {
        throw new StagingError(
          `source column ${table.name}.${column.name}: expected ${SOURCE_TYPES[column.kind].join(' or ')}, got ${actual ?? 'no such column'}`,
        );
      }
    }
  }
  return undeclaredOf(tables, rows);
}
