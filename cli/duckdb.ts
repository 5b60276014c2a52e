/**
 * The DuckDB queries the CLI prints. Each one reads the partition columns from the folder names
 * with their types fixed (`hive_types`): without them DuckDB guesses per query, BIGINT for
 * `month=9` and VARCHAR once a zero-padded `month=09` exists, and the same query breaks.
 */
import { PARTITION_COLUMNS } from '../src/core/day.js';

const HIVE_TYPES = `{${PARTITION_COLUMNS.map((name) => `'${name}': INTEGER`).join(', ')}}`;

/** `read_parquet(<source>, …)` with the lake's partition columns as integers; `source` is DuckDB SQL (a string or a list). */
export function readParquetSql(source: string): string {
  return `read_parquet(${source}, hive_partitioning = true, hive_types = ${HIVE_TYPES})`;
}

/** A SQL string literal. */
export function sqlString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
