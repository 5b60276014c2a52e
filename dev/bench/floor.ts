/**
 * The floor a day cannot beat on this machine: Postgres sending the day's rentals with
 * `COPY ... TO STDOUT (FORMAT binary)` to nobody, plus DuckDB writing the same rows, already in its
 * memory, as ZSTD Parquet. The pipeline's whole day is reported as a multiple of their sum.
 */
import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { DuckDBInstance } from '@duckdb/node-api';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { connect } from '../../src/source/connect.js';
import { dayWindow, type CalendarDay } from '../../src/core/day.js';
import { RENTALS } from '../../src/core/tables.js';
import { copyRangeSql } from '../../src/source/queries.js';
import { median, repeated } from './stats.js';

export interface CopyFloor {
  /** Median of `samples`. */
  readonly seconds: number;
  readonly samples: readonly number[];
  readonly rows: number;
  /** Bytes of the COPY BINARY stream. */
  readonly bytes: number;
}

export interface DuckDbFloor {
  /** Time of `COPY t TO '...parquet'` only (median of `samples`); loading the rows into DuckDB is not counted. */
  readonly seconds: number;
  readonly samples: readonly number[];
  readonly rows: number;
  /** Size of the Parquet file. */
  readonly bytes: number;
  readonly threads: number;
  readonly version: string;
}

export interface Floor {
  readonly copy: CopyFloor;
  readonly duckdb: DuckDbFloor;
  readonly seconds: number;
}

export interface FloorRequest {
  readonly databaseUrl: string;
  readonly day: CalendarDay;
  readonly timeZone: string;
  readonly rowGroupRows: number;
  /** A scratch directory for the CSV hand-over and the Parquet file. */
  readonly workDir: string;
  /** How many times each half is measured; the median counts. */
  readonly repeat: number;
}

/** The day's rentals query exactly as extract sends it (`copyRangeSql`), in `format`. */
export function rentalsCopySql(day: CalendarDay, timeZone: string, format: 'binary' | 'csv'): string {
  return copyRangeSql(RENTALS, dayWindow(day, timeZone), format);
}

/** Times the extract query's COPY BINARY, reading the stream and dropping it. */
async function measureCopy(client: pg.Client, request: FloorRequest): Promise<CopyFloor> {
  const runs = await repeated(request.repeat, async () => {
    const started = performance.now();
    const copy = client.query(copyTo(rentalsCopySql(request.day, request.timeZone, 'binary')));
    let bytes = 0;
    for await (const chunk of copy as AsyncIterable<Buffer>) bytes += chunk.byteLength;
    return { seconds: (performance.now() - started) / 1000, rows: copy.rowCount, bytes };
  });
  const samples = runs.map((r) => r.seconds);
  return { seconds: median(samples), samples, rows: runs[0].rows, bytes: runs[0].bytes };
}

/** What DuckDB puts in each lineage column. */
const LINEAGE_SQL = { run_id: `'20250101T000000000Z-00000000'`, extracted_at: 'now()' } as const;

/** The lake's rentals columns in DuckDB types, computed from the raw CSV columns. */
const LAKE_SELECT = [
  ...RENTALS.columns.map((c) => (c.cast ? `TRY_CAST(${c.name} AS DECIMAL(${c.cast.precision},${c.cast.scale})) AS ${c.name}` : c.name)),
  ...RENTALS.lineage.map((l) => `${LINEAGE_SQL[l.value]} AS ${l.name}`),
].join(', ');

const DUCKDB_TYPES: Record<string, string> = { int64: 'BIGINT', timestamptz: 'TIMESTAMPTZ', text: 'VARCHAR' };

/**
 * Loads the day into an in-memory DuckDB table with the lake's columns (untimed), then times
 * DuckDB writing it as ZSTD Parquet with the pipeline's row-group size.
 */
async function measureDuckDb(client: pg.Client, request: FloorRequest): Promise<DuckDbFloor> {
  const csv = join(request.workDir, 'floor-rentals.csv');
  const parquet = join(request.workDir, 'floor-rentals.parquet');
  await client.query(`SET TimeZone = 'UTC'`);
  await pipeline(client.query(copyTo(rentalsCopySql(request.day, request.timeZone, 'csv'))), createWriteStream(csv));
  const columns = RENTALS.columns.map((c) => `'${c.name}': '${DUCKDB_TYPES[c.kind]}'`).join(', ');

  const instance = await DuckDBInstance.create(':memory:');
  const duck = await instance.connect();
  try {
    await duck.run(`CREATE TABLE t AS SELECT ${LAKE_SELECT} FROM read_csv('${csv}', header = false, auto_detect = false, columns = {${columns}})`);
    const [info] = (
      await duck.runAndReadAll(`SELECT version() AS version, current_setting('threads') AS threads, (SELECT count(*) FROM t) AS n`)
    ).getRowObjectsJson();
    const samples = await repeated(request.repeat, async () => {
      const started = performance.now();
      await duck.run(`COPY t TO '${parquet}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${request.rowGroupRows})`);
      return (performance.now() - started) / 1000;
    });
    return {
      seconds: median(samples),
      samples,
      rows: Number(info.n),
      bytes: (await stat(parquet)).size,
      threads: Number(info.threads),
      version: String(info.version),
    };
  } finally {
    duck.closeSync();
    instance.closeSync();
  }
}

/** One floor of the samples of several measurements of it: each half the median of all its samples. */
export function floorOfSamples(floors: readonly Floor[]): Floor {
  if (floors.length === 0) throw new Error('a floor of no measurements');
  const copySamples = floors.flatMap((f) => f.copy.samples);
  const duckdbSamples = floors.flatMap((f) => f.duckdb.samples);
  const copy = { ...floors[0].copy, seconds: median(copySamples), samples: copySamples };
  const duckdb = { ...floors[0].duckdb, seconds: median(duckdbSamples), samples: duckdbSamples };
  return { copy, duckdb, seconds: copy.seconds + duckdb.seconds };
}

/** Measures both halves of the floor for one seeded day. */
export async function measureFloor(request: FloorRequest): Promise<Floor> {
  const client = await connect(request.databaseUrl, 'pg-lake-etl-bench');
  try {
    const copy = await measureCopy(client, request);
    const duckdb = await measureDuckDb(client, request);
    return { copy, duckdb, seconds: copy.seconds + duckdb.seconds };
  } finally {
    await client.end();
  }
}
