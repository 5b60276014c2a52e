/**
 * `etl verify` compares through the pipeline's own cast: a day with junk costs (NULL in the lake,
 * raw in quarantine) equals its source; a cost turned to junk in the source is a changed row (the
 * lake would now hold NULL); an unpublished day is named and not compared; `--json` carries the
 * counts; nothing is written to the lake. A day sorted in many small runs on disk (a tiny sort
 * budget) differs from the source exactly as it does sorted in memory, with its missing, extra and
 * changed rows in different runs.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { loadConfig } from '../../src/core/config.js';
import { parseDay } from '../../src/core/day.js';
import { FsStore } from '../../src/lake/fs-store.js';
import type { SortStats } from '../../src/pipeline/verify/external-sort.js';
import { verifyDays } from '../../src/pipeline/verify/verify.js';
import { runLocalExecution } from '../../src/pipeline/local-execution.js';
import { seed } from '../../src/source/synthetic/load.js';
import { createTestDatabase } from '../support/databases.js';

const LOOSE_QUALITY = {
  QUALITY_MAX_NEGATIVE_DURATION_RATE: '1',
  QUALITY_MAX_NEGATIVE_COST_RATE: '1',
  QUALITY_MAX_QUARANTINE_RATE: '1',
  QUALITY_MAX_NULL_RATE: '1',
};

/** Every file under `dir`, as paths relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe('etl verify', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let client: pg.Client;
  let lake: string;
  let env: NodeJS.ProcessEnv;

  const etl = async (argv: string[]) => {
    const out: string[] = [];
    const code = await main(argv, env, { out: (l) => out.push(l), err: () => undefined });
    return { code, out: out.join('\n') };
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    client = new pg.Client(database.url);
    await client.connect();
    await seed(client, { from: parseDay('2025-08-01'), to: parseDay('2025-08-03'), rentalsPerDay: 300, seed: 23, errorRate: 0.05 });
    lake = await mkdtemp(join(tmpdir(), 'verify-lake-'));
    env = { DATABASE_URL: database.url, LAKE_URI: lake, POWERTOOLS_LOG_LEVEL: 'WARN', ...LOOSE_QUALITY };
    const backfill = await runLocalExecution(loadConfig(env), { from: '2025-08-01', to: '2025-08-02' }, { concurrency: 2, logLine: () => undefined });
    expect(backfill.status).toBe('SUCCEEDED');
  });

  afterAll(async () => {
    await client?.end();
    await database?.drop();
    await rm(lake, { recursive: true, force: true });
  });

  it('finds days with quarantined costs equal, names an unpublished day, and writes nothing', async () => {
    // Prepare
    const before = await filesUnder(lake);

    // Act
    const result = await etl(['verify', '--from', '2025-08-01', '--to', '2025-08-03']);

    // Assess
    expect(result).toEqual({ code: 0, out: '2 published days compared with the source: 2 equal, 0 differ (1 not published, not compared)' });
    expect(await filesUnder(lake)).toEqual(before);
  });

  it('counts a cost turned to junk in the source as a changed row, in --json too', async () => {
    // Prepare: a valid cost of 08-02 becomes one the lake would hold as NULL
    await client.query(
      `UPDATE rentals SET rent_cost = 'twelve' WHERE rental_id = (SELECT min(rental_id) FROM rentals
         WHERE rent_start >= '2025-08-02' AND rent_start < '2025-08-03' AND rent_cost ~ '^[0-9]+\\.[0-9]{2}$')`,
    );

    // Act
    const result = await etl(['verify', '--date', '2025-08-02', '--json']);

    // Assess
    expect(result.code).toBe(1);
    expect(JSON.parse(result.out)).toEqual({
      command: 'verify',
      lake,
      ok: false,
      days: [{ date: '2025-08-02', sourceRows: 300, lakeRows: 300, missing: 0, extra: 0, changed: 1, equal: false }],
    });
  });

  it('finds the same rows missing, extra and changed sorting a day in many runs on disk as in memory', async () => {
    // Prepare: on 08-01 (published in (rent_start, rental_id) order, which a run of 16 follows), the
    // day's first row deleted in the source (extra), its last row's cost changed and a middle row's
    // station changed (changed), and a new row (missing): more than 16 published rows apart
    const day = `rent_start >= '2025-08-01' AND rent_start < '2025-08-02'`;
    const { rows } = await client.query<{ rental_id: string }>(`SELECT rental_id FROM rentals WHERE ${day} ORDER BY rent_start, rental_id`);
    const [first, middle, last] = [rows[0], rows[150], rows[rows.length - 1]].map((r) => r.rental_id);
    await client.query('DELETE FROM rentals WHERE rental_id = $1', [first]);
    await client.query(`UPDATE rentals SET rent_cost = '987.65' WHERE rental_id = $1`, [last]);
    await client.query(`UPDATE rentals SET end_station = 'Somewhere else' WHERE rental_id = $1`, [middle]);
    await client.query(
      `INSERT INTO rentals (rental_id, user_id, bike_id, rent_start, rent_end, start_station, end_station, rent_cost)
         SELECT max(rental_id) + 1, min(user_id), min(bike_id), '2025-08-01T12:00:00Z', '2025-08-01T12:30:00Z', 'A', 'B', '3.50' FROM rentals`,
    );
    const request = { store: new FsStore(loadConfig(env).lake), client, timeZone: 'UTC' };
    const stats: SortStats[] = [];
    const inSmallRuns = { ...request, sortBudget: { runRows: 16, fanIn: 3, readRows: 4 }, onSorted: (s: SortStats) => stats.push(s) };

    // Act
    const inMemory = await verifyDays(request, [parseDay('2025-08-01')]);
    const inRuns = await verifyDays(inSmallRuns, [parseDay('2025-08-01')]);

    // Assess: 300 pairs in 19 runs, merged 3 at a time (19 → 7 → 3) before the last merge
    expect(inMemory).toEqual([{ date: '2025-08-01', sourceRows: 300, lakeRows: 300, missing: 1, extra: 1, changed: 2, equal: false }]);
    expect(inRuns).toEqual(inMemory);
    expect(stats).toEqual([{ rows: 300, runs: 19 + 7 + 3, mergePasses: 2, peakRowsHeld: 20 }]);
  });
});
