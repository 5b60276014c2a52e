/**
 * Seeds one day of more rentals than `etl seed` allows (it caps a day at 10,000,000), for the
 * measurements at scale in docs/performance.md: the seeder's users and bikes, then the day's
 * rentals as parts of at most 10,000,000 generated with seeds 42, 43, …, merged by `rent_start`
 * and numbered from the day's first id in that order (ids grow with time, as in one seeded day),
 * streamed in with COPY. Creates (or recreates) the database; drop it when done.
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
import { DEFAULT_SEED, MAX_RENTALS_PER_DAY, resolveDayOptions } from '../../src/source/synthetic/options.js';
import { firstRentalIdOf, generateRentals, type RentalRow } from '../../src/source/synthetic/rentals.js';

/** The rows of `parts` (each in `rent_start` order) merged by `rent_start`, renumbered from `firstId`. */
function* merged(parts: Generator<RentalRow>[], firstId: number): Generator<RentalRow> {
  const heads = parts.map((part) => part.next());
  for (let id = firstId; ; id++) {
    let at = -1;
    for (let i = 0; i < heads.length; i++) {
      const head = heads[i];
      if (head.done) continue;
      if (at < 0 || head.value.rent_start < (heads[at].value as RentalRow).rent_start) at = i;
    }
    if (at < 0) return;
    yield { ...(heads[at].value as RentalRow), rental_id: id };
    heads[at] = parts[at].next();
  }
}

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
await seed(client, { from: day, to: day, rentalsPerDay: 0 });
const parts = Array.from({ length: Math.ceil(rows / MAX_RENTALS_PER_DAY) }, (_, part) =>
  generateRentals(day, resolveDayOptions({ rentalsPerDay: Math.min(MAX_RENTALS_PER_DAY, rows - part * MAX_RENTALS_PER_DAY), seed: DEFAULT_SEED + part })),
);
const columns = RENTALS.columns.map((c) => c.name).join(', ');
await client.query('BEGIN');
// As the seeder does (users and bikes 1..N are there): no per-row foreign-key triggers.
await client.query('SET LOCAL session_replication_role = replica');
await pipeline(
  Readable.from(copyTextChunks(RENTALS, merged(parts, firstRentalIdOf(day)), { rows: 0 })),
  client.query(copyFrom(`COPY rentals (${columns}) FROM STDIN`)),
);
await client.query('COMMIT');
await client.query('VACUUM ANALYZE');
const { rows: count } = await client.query<{ n: string }>('SELECT count(*) AS n FROM rentals');
console.error(`${name}: ${Number(count[0].n).toLocaleString('en-US')} rentals on ${day.iso} in ${((performance.now() - started) / 1000).toFixed(0)} s`);
await client.end();
