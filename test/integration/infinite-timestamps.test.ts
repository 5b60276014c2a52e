/**
 * A source row with `rent_end = 'infinity'` (an open-ended interval, a valid timestamptz) or
 * `'-infinity'`: the lake cannot store it, so the row is quarantined with its reason and raw value,
 * as a malformed rent_cost is, and the day publishes; it does not fail the day.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.js';
import { parseDay } from '../../src/core/day.js';
import { FsStore } from '../../src/lake/fs-store.js';
import { readManifest } from '../../src/lake/manifest.js';
import { seed } from '../../src/source/synthetic/load.js';
import { createTestDatabase } from '../support/databases.js';
import { runDay } from '../support/run-day.js';

const DAY = parseDay('2025-06-01');
const PER_DAY = 200;

describe('infinite timestamps in the source', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let lake: string;
  let ids: { infinity: string; minusInfinity: string };

  beforeAll(async () => {
    database = await createTestDatabase();
    lake = await mkdtemp(join(tmpdir(), 'infinite-'));
    const client = new pg.Client(database.url);
    await client.connect();
    await seed(client, { from: DAY, to: DAY, rentalsPerDay: PER_DAY, errorRate: 0, seed: 11 });
    const { rows } = await client.query<{ rental_id: string }>('SELECT rental_id::text FROM rentals ORDER BY rental_id LIMIT 2');
    ids = { infinity: rows[0].rental_id, minusInfinity: rows[1].rental_id };
    await client.query(`UPDATE rentals SET rent_end = 'infinity' WHERE rental_id = $1`, [ids.infinity]);
    await client.query(`UPDATE rentals SET rent_end = '-infinity' WHERE rental_id = $1`, [ids.minusInfinity]);
    await client.end();
  });
  afterAll(async () => {
    await database?.drop();
    await rm(lake, { recursive: true, force: true });
  });

  it('publishes the day with those rows quarantined, their reason and raw value kept', async () => {
    // Prepare
    const store = new FsStore(loadConfig({ LAKE_URI: lake }).lake);

    // Act
    const published = await runDay(store, database.url, DAY);

    // Assess
    expect(published.verdict).toBe('passed');
    expect(published.rows).toBe(PER_DAY);
    expect(published.quarantined).toBe(2);
    expect((await readManifest(store, DAY))?.manifest.rows).toBe(PER_DAY);
    const dir = join(lake, '_quarantine', 'rentals', 'year=2025', 'month=06', 'day=01');
    const lines = (await readFile(join(dir, (await readdir(dir))[0]), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { reason: string; column: string; row: Record<string, string | null> });
    expect(lines.map((l) => [l.row.rental_id, l.reason, l.column, l.row.rent_end]).sort()).toEqual(
      [
        [ids.infinity, 'rent_end_infinite', 'rent_end', 'infinity'],
        [ids.minusInfinity, 'rent_end_infinite', 'rent_end', '-infinity'],
      ].sort(),
    );
  });
});
