/**
 * Independent readers of the lake for the tests: DuckDB (@duckdb/node-api) and hyparquet. Neither
 * shares code with the writer (parquet-wasm), so agreement with the source is real evidence.
 */
import { readFile } from 'node:fs/promises';
import { DuckDBInstance } from '@duckdb/node-api';
import { parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';

export interface DayAggregate {
  rows: number;
  revenueCents: number;
  minRentalId: string;
  maxRentalId: string;
  minStart: string;
  maxStart: string;
  nullCosts: number;
}

/** Aggregates per Parquet file set, read by DuckDB. */
export async function duckdbAggregate(paths: readonly string[]): Promise<DayAggregate> {
  const instance = await DuckDBInstance.create(':memory:');
  const db = await instance.connect();
  try {
    const list = paths.map((p) => `'${p.replace(/'/g, "''")}'`).join(', ');
    const result = await db.runAndReadAll(
      `SELECT count(*)::BIGINT AS n, coalesce(sum(rent_cost), 0) * 100 AS cents, min(rental_id)::VARCHAR AS min_id, max(rental_id)::VARCHAR AS max_id,
              strftime(min(rent_start) AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%f') AS min_start,
              strftime(max(rent_start) AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%f') AS max_start,
              count(*) FILTER (WHERE rent_cost IS NULL)::BIGINT AS null_costs
       FROM read_parquet([${list}])`,
    );
    const [row] = result.getRowObjectsJS() as Array<Record<string, unknown>>;
    return {
      rows: Number(row.n),
      revenueCents: Math.round(Number(row.cents)),
      minRentalId: String(row.min_id),
      maxRentalId: String(row.max_id),
      minStart: String(row.min_start),
      maxStart: String(row.max_start),
      nullCosts: Number(row.null_costs),
    };
  } finally {
    db.closeSync();
    instance.closeSync();
  }
}

/** How many distinct rental ids the Parquet files hold, read by DuckDB. */
export async function duckdbDistinctIds(paths: readonly string[]): Promise<number> {
  const instance = await DuckDBInstance.create(':memory:');
  const db = await instance.connect();
  try {
    const list = paths.map((p) => `'${p.replace(/'/g, "''")}'`).join(', ');
    const result = await db.runAndReadAll(`SELECT count(DISTINCT rental_id)::BIGINT AS n FROM read_parquet([${list}])`);
    return Number((result.getRowObjectsJS()[0] as { n: bigint }).n);
  } finally {
    db.closeSync();
    instance.closeSync();
  }
}

/** The same aggregates, read row by row with hyparquet. */
export async function hyparquetAggregate(paths: readonly string[]): Promise<DayAggregate> {
  let rows = 0;
  let cents = 0;
  let nullCosts = 0;
  let minId: bigint | undefined;
  let maxId: bigint | undefined;
  let minStart: Date | undefined;
  let maxStart: Date | undefined;
  for (const path of paths) {
    const bytes = await readFile(path);
    const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    const records = await parquetReadObjects({ file, compressors, columns: ['rental_id', 'rent_start', 'rent_cost'] });
    for (const r of records) {
      rows++;
      const id = BigInt(r.rental_id as bigint);
      if (minId === undefined || id < minId) minId = id;
      if (maxId === undefined || id > maxId) maxId = id;
      const start = r.rent_start as Date;
      if (!minStart || start < minStart) minStart = start;
      if (!maxStart || start > maxStart) maxStart = start;
      if (r.rent_cost === null || r.rent_cost === undefined) nullCosts++;
      else cents += Math.round(Number(r.rent_cost) * 100);
    }
  }
  // hyparquet hands timestamps back as Dates: millisecond precision.
  const iso = (d: Date | undefined) => (d ? d.toISOString().slice(0, 23) : 'null');
  return {
    rows,
    revenueCents: cents,
    minRentalId: String(minId),
    maxRentalId: String(maxId),
    minStart: iso(minStart),
    maxStart: iso(maxStart),
    nullCosts,
  };
}
