/**
 * Seeds one day of more rentals than `etl seed` allows (it caps a day at 10,000,000), for the
 * measurements at scale in docs/performance.md: the seeder's day, then further parts of the same
 * day generated with other seeds, their ids moved up by 10,000,000 a part (a day's ids span
 * 100,000,000), streamed in with COPY. Creates (or recreates) the database; drop it when done.
 *
 *   tsx dev/bench/big-day.ts --database-url postgres://…/big --date 2025-06-02 --rows 20000000
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { from as copyFrom } from 'pg-copy-streams';
import { parseDay } from '../../src/core/day.js';
import { RENTALS } from '../../src/core/schema.js';
import { connect } from '../../src/source/connect.js';
import { migrate } from '../../src/source/migrate.js';
import { copyTextChunks } from '../../src/source/synthetic/copy-encode.js';
import { seed } from '../../src/source/synthetic/load.js';
import { MAX_RENTALS_PER_DAY, resolveDayOptions } from '../../src/source/synthetic/options.js';
import { generateRentals } from '../../src/source/synthetic/rentals.js';

const { values } = parseArgs({
  options: { 'database-url': { type: 'string' }, date: { type: 'string' }, rows: { type: 'string' } },
  strict: true,
});
const url = values['database-url'];
if (!url || !values.date || !values.rows) throw new Error('usage: big-day.ts --database-url URL --date YYYY-MM-DD --rows N');
const day = parseDay(values.date);
const rows = Number(values.rows);

const server = new URL(url);
const name = server.pathname.slice(1);
server.pathname = '/postgres';
const admin = await connect(server.toString(), 'pg-lake-etl-big-day');
await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
await admin.query(`CREATE DATABASE ${name}`);
await admin.end();

const client = await connect(url, 'pg-lake-etl-big-day');
const started = performance.now();
await migrate(client);
await seed(client, { from: day, to: day, rentalsPerDay: Math.min(rows, MAX_RENTALS_PER_DAY) });
const columns = RENTALS.columns.map((c) => c.name).join(', ');
for (let part = 1; part * MAX_RENTALS_PER_DAY < rows; part++) {
  const n = Math.min(MAX_RENTALS_PER_DAY, rows - part * MAX_RENTALS_PER_DAY);
  const shifted = function* () {
    for (const row of generateRentals(day, resolveDayOptions({ rentalsPerDay: n, seed: 42 + part })))
      yield { ...row, rental_id: row.rental_id + part * MAX_RENTALS_PER_DAY };
  };
  await client.query('BEGIN');
  await client.query('SET LOCAL session_replication_role = replica');
  await pipeline(Readable.from(copyTextChunks(RENTALS, shifted(), { rows: 0 })), client.query(copyFrom(`COPY rentals (${columns}) FROM STDIN`)));
  await client.query('COMMIT');
  console.error(`part ${part}: ${n.toLocaleString('en-US')} rows`);
}
await client.query('VACUUM ANALYZE');
const { rows: count } = await client.query<{ n: string }>('SELECT count(*) AS n FROM rentals');
console.error(`${name}: ${Number(count[0].n).toLocaleString('en-US')} rentals on ${day.iso} in ${((performance.now() - started) / 1000).toFixed(0)} s`);
await client.end();
