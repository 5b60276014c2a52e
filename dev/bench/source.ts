/**
 * The benchmark's source Postgres: the server (`DATABASE_URL`, or an embedded one started for the
 * run), and one fresh database per day size, migrated and seeded with one day of rentals.
 */
import pg from 'pg';
import { connect } from '../../src/source/connect.js';
import { migrate } from '../../src/source/migrate.js';
import type { CalendarDay } from '../../src/core/day.js';
import { seed } from '../../src/source/synthetic/load.js';

/** Where the embedded server keeps its data while the benchmark runs (removed on stop). */
const EMBEDDED_DATA_DIR = '.data/bench-postgres';

export interface BenchServer {
  /** Connection string of the server's maintenance database. */
  readonly url: string;
  /** `PostgreSQL 15.18 (...)`, for the report. */
  readonly version: string;
  /** True when the benchmark started the server itself. */
  readonly embedded: boolean;
  stop(): Promise<void>;
}

/** Uses `databaseUrl` when given, else starts an embedded Postgres that is removed on stop. */
export async function openServer(databaseUrl: string | undefined, log: (line: string) => void): Promise<BenchServer> {
  let url = databaseUrl;
  let stop = async (): Promise<void> => undefined;
  if (url === undefined) {
    log(`starting embedded Postgres in ${EMBEDDED_DATA_DIR} (set DATABASE_URL to use your own)`);
    const { startEmbeddedPostgres } = await import('../embedded-postgres.js');
    const embedded = await startEmbeddedPostgres(EMBEDDED_DATA_DIR, { ephemeral: true, log });
    url = embedded.url;
    stop = () => embedded.stop();
  }
  try {
    const client = await connect(url, 'pg-lake-etl-bench');
    try {
      const { rows } = await client.query<{ version: string }>('SELECT version()');
      return { url, version: rows[0].version, embedded: databaseUrl === undefined, stop };
    } finally {
      await client.end();
    }
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The connection string of `database` on the server of `serverUrl`. */
export function databaseUrlOf(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

async function onServer(serverUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl, application_name: 'pg-lake-etl-bench' });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * Flushes the load's dirty pages now, so the checkpointer does not write them in the middle of a
 * measurement. Needs superuser or pg_checkpoint; without either the run goes on without it.
 */
async function checkpoint(client: pg.Client): Promise<void> {
  await client.query('CHECKPOINT').catch((error: { code?: string }) => {
    if (error.code !== '42501') throw error;
  });
}

export interface SeededDatabase {
  readonly name: string;
  readonly url: string;
  /** Wall time of `seed` (users, bikes and the day's rentals through COPY). */
  readonly seedSeconds: number;
  /** Wall time of the VACUUM ANALYZE and CHECKPOINT that follow, so every reader finds the same server. */
  readonly vacuumSeconds: number;
  drop(): Promise<void>;
}

/**
 * Creates the database `name` from scratch (dropping a leftover of an earlier run), migrates it and
 * seeds `day` (a local day in `timeZone`) with `rentals` rentals. VACUUM ANALYZE and CHECKPOINT
 * afterwards: the first scan of freshly loaded rows would otherwise pay for setting hint bits, and
 * the checkpointer would write the load out during the measurements; either would burden only some
 * of them.
 */
export async function seededDatabase(
  serverUrl: string,
  name: string,
  day: CalendarDay,
  options: { rentals: number; timeZone: string },
): Promise<SeededDatabase> {
  await onServer(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await onServer(serverUrl, `CREATE DATABASE ${name}`);
  const url = databaseUrlOf(serverUrl, name);
  const drop = () => onServer(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  try {
    const client = await connect(url, 'pg-lake-etl-bench');
    try {
      await migrate(client);
      const seeded = await seed(client, { from: day, to: day, rentalsPerDay: options.rentals, timeZone: options.timeZone });
      const vacuumStarted = performance.now();
      await client.query('VACUUM ANALYZE');
      await checkpoint(client);
      const vacuumSeconds = (performance.now() - vacuumStarted) / 1000;
      return { name, url, seedSeconds: seeded.seconds, vacuumSeconds, drop };
    } finally {
      await client.end();
    }
  } catch (error) {
    await drop().catch(() => undefined);
    throw error;
  }
}
