/**
 * What the change signal costs per day checked (docs/performance.md, "The change signal"): seeds
 * one day of N rentals into a fresh database on `DATABASE_URL`'s server, then times, warm, the
 * extract's count before the signal, its count with the digest, and the lookback's query for the
 * day (`sourceDayStates`) before and after the digest. Medians of `--repeat` runs.
 *
 *   npx tsx dev/measure/signal-cost.ts --rows 1000000 [--repeat 3] [--keep]
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { dayWindow, parseDay } from '../../src/core/day.js';
import { RENTALS } from '../../src/core/tables.js';
import { sourceDayStates } from '../../src/source/day-state.js';
import { migrate } from '../../src/source/migrate.js';
import { countInSnapshotSql, countRowsQuery } from '../../src/source/queries.js';
import { seed } from '../../src/source/synthetic/load.js';

const { values } = parseArgs({ options: { rows: { type: 'string' }, repeat: { type: 'string' }, keep: { type: 'boolean' } } });
const rows = Number(values.rows ?? 1_000_000);
const repeat = Number(values.repeat ?? 3);
const admin = process.env.DATABASE_URL;
if (!admin) throw new Error('DATABASE_URL: the server to measure on');
const day = parseDay('2025-06-02');
const window = dayWindow(day, 'UTC');
const name = `signal_cost_${randomBytes(4).toString('hex')}`;

async function timed(work: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  await work(); // warm the cache
  for (let i = 0; i < repeat; i++) {
    const started = performance.now();
    await work();
    times.push((performance.now() - started) / 1000);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
}

const server = new pg.Client(admin);
await server.connect();
await server.query(`CREATE DATABASE ${name}`);
const url = new URL(admin);
url.pathname = `/${name}`;
const client = new pg.Client(url.toString());
await client.connect();
try {
  await migrate(client);
  const seeded = performance.now();
  // The seeder makes at most 10,000,000 rentals a day: a bigger day repeats them under new ids.
  const seeded10m = Math.min(rows, 10_000_000);
  await seed(client, { from: day, to: day, rentalsPerDay: seeded10m, users: 10_000, bikes: 1_000 });
  for (let have = seeded10m; have < rows; have += seeded10m) {
    await client.query(
      `INSERT INTO rentals SELECT rental_id + (SELECT max(rental_id) FROM rentals), user_id, bike_id, rent_start, rent_end, start_station, end_station, rent_cost, updated_at
       FROM rentals ORDER BY rental_id LIMIT $1`,
      [Math.min(seeded10m, rows - have)],
    );
  }
  await client.query('VACUUM ANALYZE rentals');
  const seedSeconds = (performance.now() - seeded) / 1000;
  // The lookback's query as it was before the signal: count and latest change, grouped by day.
  const oldStates = `SELECT to_char((rent_start AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD') AS day, count(*) AS n, max(updated_at) AS last_change
     FROM rentals WHERE rent_start >= $1 AND rent_start < $2 GROUP BY 1`;
  const figures = {
    rows,
    seedSeconds,
    extractCountBefore: await timed(() => client.query(countRowsQuery(RENTALS, window))),
    extractCountWithDigest: await timed(() => client.query(countInSnapshotSql(RENTALS, window))),
    lookbackQueryBefore: await timed(() => client.query(oldStates, [window.start, window.end])),
    lookbackQueryWithDigest: await timed(() => sourceDayStates(client, [day.iso], 'UTC')),
    heapBytes: Number((await client.query(`SELECT pg_table_size('rentals') AS b`)).rows[0].b),
    server: (await client.query('SHOW server_version')).rows[0].server_version,
  };
  process.stdout.write(`${JSON.stringify(figures)}\n`);
} finally {
  await client.end();
  if (!values.keep) await server.query(`DROP DATABASE ${name} WITH (FORCE)`);
  await server.end();
}
