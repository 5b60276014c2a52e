/**
 * The lake heals itself to equal the source: 30 days of churn under the daily schedule (`etl run
 * --scheduled --at …`'s input through `runLocalExecution`) — late inserts, updates with and
 * without `updated_at`, a backdated `updated_at`, deletes, a delete plus an insert of equal count
 * with an old stamp, a transaction held open across an extract and committed after it (a latch in
 * the Extract handler, no sleeps), and a day whose schedule failed. Afterwards every day of the
 * lake equals the source row for row and value for value, read from the Parquet files by DuckDB
 * (not from the manifests); `etl verify` agrees, finds a change older than the lookback, and
 * `--repair` republishes that day.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { loadConfig, type Config } from '../../src/core/config.js';
import { addDays, dayWindow, daysBetween, parseDay } from '../../src/core/day.js';
import { StagingError } from '../../src/core/errors.js';
import { FsStore } from '../../src/lake/fs-store.js';
import { readManifest } from '../../src/lake/manifest.js';
import { runLocalExecution, type DayOutcome } from '../../src/pipeline/local-execution.js';
import { seed } from '../../src/source/synthetic/load.js';
import { createTestDatabase } from '../support/databases.js';

const FIRST = parseDay('2025-06-01');
const LAST = parseDay('2025-06-30');
const DAYS = daysBetween(FIRST, LAST).map((d) => d.iso);
const PER_DAY = 60;
/** The schedule's yesterday whose Extract fails: its run publishes nothing, the next schedule finds it missing. */
const FAILED_DAY = '2025-06-12';
/** The schedule's yesterday whose extract a transaction runs across (it commits once the extract is done). */
const ACROSS_DAY = '2025-06-20';
const LOOSE_QUALITY = {
  QUALITY_MAX_NEGATIVE_DURATION_RATE: '1',
  QUALITY_MAX_NEGATIVE_COST_RATE: '1',
  QUALITY_MAX_QUARANTINE_RATE: '1',
  QUALITY_MAX_NULL_RATE: '1',
};

/** A day's rows as text, in key order: from the lake's Parquet files (DuckDB) or from the source (SQL). */
type Rows = string[];

async function lakeRows(lake: string, store: FsStore, date: string): Promise<Rows> {
  const manifest = (await readManifest(store, parseDay(date)))?.manifest;
  if (!manifest) return ['(not published)'];
  if (manifest.files.length === 0) return [];
  const instance = await DuckDBInstance.create(':memory:');
  const db = await instance.connect();
  try {
    const list = manifest.files.map((f) => `'${join(lake, f.key)}'`).join(', ');
    const result = await db.runAndReadAll(
      `SELECT concat_ws('|', rental_id, user_id, bike_id, epoch_us(rent_start), coalesce(epoch_us(rent_end)::VARCHAR, '-'),
              coalesce(start_station, '-'), coalesce(end_station, '-'), coalesce(rent_cost::VARCHAR, '-'), epoch_us(updated_at)) AS line
       FROM read_parquet([${list}]) ORDER BY rental_id`,
    );
    return (result.getRowObjectsJS() as Array<{ line: string }>).map((r) => r.line);
  } finally {
    db.closeSync();
    instance.closeSync();
  }
}

const micros = (column: string) => `(extract(epoch FROM ${column}) * 1000000)::bigint`;

async function sourceRows(client: pg.Client, date: string): Promise<Rows> {
  const window = dayWindow(parseDay(date), 'UTC');
  const { rows } = await client.query<{ line: string }>(
    `SELECT concat_ws('|', rental_id, user_id, bike_id, ${micros('rent_start')}, coalesce(${micros('rent_end')}::text, '-'),
            coalesce(start_station, '-'), coalesce(end_station, '-'), coalesce(rent_cost::numeric(12, 2)::text, '-'), ${micros('updated_at')}) AS line
     FROM rentals WHERE rent_start >= $1 AND rent_start < $2 ORDER BY rental_id`,
    [window.start, window.end],
  );
  return rows.map((r) => r.line);
}

/** The `n`-th smallest rental id of `date` (0 first). */
const rentalOf = (date: string, n = 0) =>
  `(SELECT rental_id FROM rentals WHERE rent_start >= '${date}'::date AND rent_start < '${date}'::date + 1 ORDER BY rental_id OFFSET ${n} LIMIT 1)`;

/** The source's changes, by the scheduled run they come before (its yesterday); each lies within that run's lookback. */
function churnBefore(yesterday: string): string[] {
  const back = (n: number) => addDays(parseDay(yesterday), -n).iso;
  switch (yesterday) {
    case '2025-06-05': // a late insert, an update that stamps updated_at
      return [
        `INSERT INTO rentals (rental_id, user_id, bike_id, rent_start, rent_end, start_station, end_station, rent_cost, updated_at)
         VALUES (9000001, 1, 1, '${back(2)}T10:00:00Z', '${back(2)}T10:30:00Z', 'Late St', 'Late St', '3.10', now())`,
        `UPDATE rentals SET rent_cost = '77.70', updated_at = now() WHERE rental_id = ${rentalOf(back(3))}`,
      ];
    case '2025-06-09': // an update that leaves updated_at alone (no trigger), another that backdates it
      return [
        `UPDATE rentals SET rent_cost = '555.55' WHERE rental_id = ${rentalOf(back(4))}`,
        `UPDATE rentals SET end_station = 'Backdated', updated_at = '2000-01-01T00:00:00Z' WHERE rental_id = ${rentalOf(back(5), 1)}`,
      ];
    case '2025-06-15': // a delete; a delete plus an insert of equal count, stamped in the past
      return [
        `DELETE FROM rentals WHERE rental_id = ${rentalOf(back(2), 2)}`,
        `DELETE FROM rentals WHERE rental_id = ${rentalOf(back(6), 3)}`,
        `INSERT INTO rentals (rental_id, user_id, bike_id, rent_start, rent_end, start_station, end_station, rent_cost, updated_at)
         VALUES (9000002, 2, 2, '${back(6)}T11:00:00Z', NULL, 'Swap St', NULL, '1.00', '2000-01-01T00:00:00Z')`,
      ];
    default:
      return [];
  }
}

describe('the schedule heals a churning source over 30 days', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let client: pg.Client;
  let across: pg.Client;
  let lake: string;
  let config: Config;
  let store: FsStore;
  const runs: { yesterday: string; status: string; outcomes: readonly DayOutcome[] }[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    client = new pg.Client(database.url);
    across = new pg.Client(database.url);
    await Promise.all([client.connect(), across.connect()]);
    await seed(client, { from: FIRST, to: LAST, rentalsPerDay: PER_DAY, seed: 19, errorRate: 0 });
    lake = await mkdtemp(join(tmpdir(), 'heal-lake-'));
    config = loadConfig({ DATABASE_URL: database.url, LAKE_URI: lake, POWERTOOLS_LOG_LEVEL: 'WARN', ...LOOSE_QUALITY });
    store = new FsStore(config.lake);

    for (const yesterday of DAYS) {
      for (const sql of churnBefore(yesterday)) await client.query(sql);
      if (yesterday === ACROSS_DAY) {
        // Opened before the extract, stamped before its snapshot, committed after it.
        await across.query('BEGIN');
        await across.query(`UPDATE rentals SET rent_cost = '999.99', updated_at = '2025-06-20T12:00:00Z' WHERE rental_id = ${rentalOf(ACROSS_DAY, 4)}`);
      }
      const scheduledTime = `${addDays(parseDay(yesterday), 1).iso}T02:30:00Z`;
      const result = await runLocalExecution(
        config,
        { scheduledTime },
        {
          concurrency: 2,
          retryIntervalMs: 0,
          logLine: () => undefined,
          handlers: {
            Extract: (own) => async (input) => {
              const date = (input as { date: string }).date;
              if (date === FAILED_DAY && yesterday === FAILED_DAY) throw new StagingError('the source is down for maintenance');
              const output = await own(input);
              // The latch: the transaction commits only once this extract has read its snapshot.
              if (date === ACROSS_DAY && yesterday === ACROSS_DAY) await across.query('COMMIT');
              return output;
            },
          },
        },
      );
      runs.push({ yesterday, status: result.status, outcomes: result.outcomes });
    }
  }, 600_000);

  afterAll(async () => {
    await Promise.all([client?.end(), across?.end()]);
    await database?.drop();
    await rm(lake, { recursive: true, force: true });
  });

  it('publishes the failed day as missing at the next schedule and republishes each changed day once, saying why', () => {
    // Act
    const ran = (yesterday: string) => runs.find((r) => r.yesterday === yesterday)!.outcomes.filter((o) => o.verdict !== 'skipped');
    const why = (yesterday: string) => ran(yesterday).map((o) => [o.date, o.reason?.kind]);

    // Assess
    expect(runs.find((r) => r.yesterday === FAILED_DAY)?.status).toBe('FAILED');
    expect(why('2025-06-13')).toEqual([
      [FAILED_DAY, 'missing'],
      ['2025-06-13', 'new'],
    ]);
    expect(why('2025-06-09')).toEqual([
      ['2025-06-04', 'stale'],
      ['2025-06-05', 'stale'],
      ['2025-06-09', 'new'],
    ]);
    expect(why('2025-06-15')).toEqual([
      ['2025-06-09', 'stale'],
      ['2025-06-13', 'stale'],
      ['2025-06-15', 'new'],
    ]);
    expect(why('2025-06-21')).toEqual([
      [ACROSS_DAY, 'stale'],
      ['2025-06-21', 'new'],
    ]);
    expect(ran('2025-06-21')[0].reason?.detail).toMatch(/change signal differs/);
  });

  it('leaves every day of the lake equal to the source, row for row, read from the Parquet files', async () => {
    for (const date of DAYS) {
      // Act
      const [inLake, inSource] = await Promise.all([lakeRows(lake, store, date), sourceRows(client, date)]);

      // Assess
      expect(inLake, date).toEqual(inSource);
    }
  });

  it('etl verify agrees, finds a change older than the lookback, and --repair republishes it', async () => {
    // Prepare
    const env = { DATABASE_URL: database.url, LAKE_URI: lake, POWERTOOLS_LOG_LEVEL: 'WARN', ...LOOSE_QUALITY };
    const etl = async (argv: string[]) => {
      const out: string[] = [];
      const code = await main(argv, env, { out: (l) => out.push(l), err: () => undefined });
      return { code, out: out.join('\n') };
    };
    const equal = await etl(['verify']);
    await client.query(`UPDATE rentals SET start_station = 'Long Ago' WHERE rental_id = ${rentalOf('2025-06-03')}`);
    await client.query(`DELETE FROM rentals WHERE rental_id = ${rentalOf('2025-06-06', 5)}`);
    await client.query(
      `INSERT INTO rentals (rental_id, user_id, bike_id, rent_start, rent_end, start_station, end_station, rent_cost, updated_at)
       VALUES (9000003, 3, 3, '2025-06-06T09:00:00Z', NULL, NULL, NULL, NULL, '2000-01-01T00:00:00Z')`,
    );

    // Act
    const found = await etl(['verify', '--from', '2025-06-01', '--to', '2025-06-10']);
    const repaired = await etl(['verify', '--from', '2025-06-03', '--to', '2025-06-06', '--repair']);
    const after = await etl(['verify', '--from', '2025-06-03', '--to', '2025-06-06']);

    // Assess
    expect(equal).toEqual({ code: 0, out: '30 published days compared with the source: 30 equal, 0 differ' });
    expect(found.code).toBe(1);
    // 2025-06-03 holds the late rental inserted before the schedule of 06-05.
    expect(found.out.split('\n')).toEqual([
      `2025-06-03: differs: 0 missing, 0 extra, 1 changed (source ${PER_DAY + 1} rows, lake ${PER_DAY + 1})`,
      `2025-06-06: differs: 1 missing, 1 extra, 0 changed (source ${PER_DAY} rows, lake ${PER_DAY})`,
      '10 published days compared with the source: 8 equal, 2 differ',
    ]);
    expect(repaired.code).toBe(0);
    expect(after.code).toBe(0);
    expect(repaired.out.split('\n').at(-1)).toBe('4 published days compared with the source: 2 equal, 2 differ; after --repair 0 differ');
    for (const date of ['2025-06-03', '2025-06-06']) expect(await lakeRows(lake, store, date), date).toEqual(await sourceRows(client, date));
  });
});
