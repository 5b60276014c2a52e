/**
 * Loads the synthetic source: `seed` fills `users`, `bikes` and a range of days of `rentals` in
 * one transaction through `COPY ... FROM STDIN`, replacing what the range held. `etl seed`,
 * `etl start`'s demo data, the benchmark and the tests load through it.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { addDays, daysBetween, dayWindow } from '../../core/day.js';
import { BIKES, RENTALS, USERS, type SourceTable } from '../../core/schema.js';
import { classifyDbError } from '../connect.js';
import { bikesFor, usersFor } from './city.js';
import { copyTextChunks } from './copy-encode.js';
import { resolveDayOptions, type SeedOptions, type SeedSummary } from './options.js';
import { firstRentalIdOf, generateRentals } from './rentals.js';

/** Streams rows into `target` (a table with the same columns as `table`); returns the row count. */
async function copyRows(client: pg.Client, table: SourceTable, target: string, rows: Iterable<object>): Promise<number> {
  const counter = { rows: 0 };
  const columns = table.columns.map((c) => c.name).join(', ');
  await pipeline(Readable.from(copyTextChunks(table, rows, counter)), client.query(copyFrom(`COPY ${target} (${columns}) FROM STDIN`)));
  return counter.rows;
}

/** Writes rows 1..N of `users` or `bikes`: new ids are inserted, existing ones overwritten. */
async function upsertById(client: pg.Client, table: SourceTable, rows: Iterable<object>): Promise<number> {
  const staging = `seed_${table.name}`;
  const [key, ...rest] = table.columns.map((c) => c.name);
  await client.query(`CREATE TEMP TABLE ${staging} (LIKE ${table.name}) ON COMMIT DROP`);
  const count = await copyRows(client, table, staging, rows);
  const columns = [key, ...rest].join(', ');
  await client.query(
    `INSERT INTO ${table.name} (${columns}) SELECT ${columns} FROM ${staging} ` +
      `ON CONFLICT (${key}) DO UPDATE SET ${rest.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}`,
  );
  return count;
}

/** SQLSTATE of a permission the role lacks. */
const INSUFFICIENT_PRIVILEGE = '42501';

/**
 * Lets the rest of the transaction skip the per-row foreign-key triggers, as
 * `pg_restore --disable-triggers` does, when the role may (a superuser); they cost more than half
 * of a large load. Safe here because every rental references ids 1..users and 1..bikes that this
 * transaction has just upserted and still holds locked. Returns false, changing nothing, when the
 * role may not.
 */
async function skipReferenceChecks(client: pg.Client): Promise<boolean> {
  await client.query('SAVEPOINT skip_reference_checks');
  try {
    await client.query('SET LOCAL session_replication_role = replica');
    await client.query('RELEASE SAVEPOINT skip_reference_checks');
    return true;
  } catch (error) {
    if ((error as { code?: string }).code !== INSUFFICIENT_PRIVILEGE) throw error;
    await client.query('ROLLBACK TO SAVEPOINT skip_reference_checks');
    return false;
  }
}

/**
 * Fills the source tables with synthetic rentals for every day from `options.from` to
 * `options.to` (both included, local days in `options.timeZone`), plus the users and bikes they
 * reference.
 *
 * Runs in one transaction and replaces what the range held: rentals that start inside the range's
 * window, or carry one of its days' rental ids, are deleted first, so seeding twice never
 * duplicates. `onProgress` hears about each day once its rows are loaded.
 */
export async function seed(client: pg.Client, options: SeedOptions, onProgress?: (progress: { day: string; rows: number }) => void): Promise<SeedSummary> {
  const began = performance.now();
  const resolved = resolveDayOptions(options);
  const days = daysBetween(options.from, options.to);
  const first = dayWindow(options.from, resolved.timeZone).start;
  const last = dayWindow(options.to, resolved.timeZone).end;

  let rentals = 0;
  try {
    await client.query('BEGIN');
    const users = await upsertById(client, USERS, usersFor(resolved.users, resolved.seed));
    const bikes = await upsertById(client, BIKES, bikesFor(resolved.bikes, resolved.seed));
    await client.query('DELETE FROM rentals WHERE (rent_start >= $1 AND rent_start < $2) OR (rental_id >= $3 AND rental_id < $4)', [
      first,
      last,
      firstRentalIdOf(options.from),
      firstRentalIdOf(addDays(options.to, 1)),
    ]);
    await skipReferenceChecks(client);
    for (const day of days) {
      const rows = await copyRows(client, RENTALS, RENTALS.name, generateRentals(day, resolved));
      rentals += rows;
      onProgress?.({ day: day.iso, rows });
    }
    await client.query('COMMIT');
    return { days: days.length, rentals, users, bikes, seconds: (performance.now() - began) / 1000 };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw classifyDbError(error, `seed ${options.from.iso}..${options.to.iso}`);
  }
}
