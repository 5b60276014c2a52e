import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDay } from '../../src/core/day.js';
import { usersFor } from '../../src/source/synthetic/city.js';
import { seed } from '../../src/source/synthetic/load.js';
import { createTestDatabase } from '../support/databases.js';

const FROM = parseDay('2025-01-01');
const TO = parseDay('2025-01-03');
const RENTALS_PER_DAY = 2_000;

describe('seed', () => {
  let database: { url: string; drop: () => Promise<void> };
  let client: pg.Client;

  beforeAll(async () => {
    database = await createTestDatabase();
    client = new pg.Client(database.url);
    await client.connect();
  });

  afterAll(async () => {
    await client?.end();
    await database?.drop();
  });

  async function scalar<T = number>(sql: string, params: unknown[] = []): Promise<T> {
    const { rows } = await client.query(sql, params);
    const value = Object.values(rows[0])[0];
    return (typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value) as T;
  }

  /** md5 of every rental of a UTC day range, in rental_id order: equal only when every row is. */
  async function rentalsDigest(from = '2025-01-01', to = '2025-01-04'): Promise<string> {
    return scalar<string>(
      `SELECT md5(string_agg(r::text, E'\\n' ORDER BY rental_id)) FROM rentals r
       WHERE rent_start >= $1::timestamptz AND rent_start < $2::timestamptz`,
      [from, to],
    );
  }

  it('loads every day of the range with its users and bikes', async () => {
    // Prepare
    const progress: Array<{ day: string; rows: number }> = [];

    // Act
    const summary = await seed(client, { from: FROM, to: TO, rentalsPerDay: RENTALS_PER_DAY }, (p) => progress.push(p));

    // Assess
    expect(summary).toMatchObject({ days: 3, rentals: 6_000, users: 1_000, bikes: 300 });
    expect(summary.seconds).toBeGreaterThan(0);
    expect(progress).toEqual([
      { day: '2025-01-01', rows: 2_000 },
      { day: '2025-01-02', rows: 2_000 },
      { day: '2025-01-03', rows: 2_000 },
    ]);
    const perDay = await client.query<{ day: string; rentals: string }>(
      `SELECT to_char(rent_start AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, count(*) AS rentals
       FROM rentals GROUP BY 1 ORDER BY 1`,
    );
    expect(perDay.rows).toEqual([
      { day: '2025-01-01', rentals: '2000' },
      { day: '2025-01-02', rentals: '2000' },
      { day: '2025-01-03', rentals: '2000' },
    ]);
    expect(await scalar('SELECT count(*) FROM users')).toBe(1_000);
    expect(await scalar('SELECT count(*) FROM bikes')).toBe(300);
    const firstUser = [...usersFor(1)][0];
    const stored = await client.query(`SELECT first_name, last_name, email, to_char(signup_date, 'YYYY-MM-DD') AS signup_date FROM users WHERE user_id = 1`);
    expect(stored.rows[0]).toEqual({
      first_name: firstUser.first_name,
      last_name: firstUser.last_name,
      email: firstUser.email,
      signup_date: firstUser.signup_date,
    });
  });

  it('references only existing users and bikes', async () => {
    // Act
    const orphans = await scalar(
      `SELECT count(*) FROM rentals r
       WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.user_id = r.user_id)
          OR NOT EXISTS (SELECT 1 FROM bikes b WHERE b.bike_id = r.bike_id)`,
    );

    // Assess
    expect(orphans).toBe(0);
  });

  it('contains the defects the pipeline must catch', async () => {
    // Act
    const defects = await client.query(
      `SELECT count(*) FILTER (WHERE rent_cost = 'error')::int AS error_text,
              count(*) FILTER (WHERE rent_cost IS NOT NULL AND rent_cost !~ '^-?\\d+\\.\\d{2}$')::int AS unparseable,
              count(*) FILTER (WHERE rent_end IS NULL AND rent_cost IS NULL)::int AS open,
              count(*) FILTER (WHERE rent_end < rent_start)::int AS end_before_start,
              count(*) FILTER (WHERE rent_cost ~ '^\\d+\\.\\d{2}$')::int AS priced
       FROM rentals`,
    );

    // Assess
    const { error_text, unparseable, open, end_before_start, priced } = defects.rows[0];
    expect(error_text).toBeGreaterThan(0);
    expect(unparseable).toBeGreaterThan(error_text);
    expect(unparseable).toBeLessThan(6_000 * 0.05);
    expect(open).toBeGreaterThan(0);
    expect(end_before_start).toBeGreaterThan(0);
    expect(priced).toBeGreaterThan(6_000 * 0.95);
  });

  it('replaces the range when seeded again, row for row', async () => {
    // Prepare
    const before = await rentalsDigest();

    // Act
    await seed(client, { from: FROM, to: TO, rentalsPerDay: RENTALS_PER_DAY });

    // Assess
    expect(await scalar('SELECT count(*) FROM rentals')).toBe(6_000);
    expect(await rentalsDigest()).toBe(before);
  });

  it('gives a day seeded alone the rows it had inside the range', async () => {
    // Prepare
    const dayBefore = await rentalsDigest('2025-01-02', '2025-01-03');
    const allBefore = await rentalsDigest();

    // Act
    const summary = await seed(client, { from: parseDay('2025-01-02'), to: parseDay('2025-01-02'), rentalsPerDay: RENTALS_PER_DAY });

    // Assess
    expect(summary).toMatchObject({ days: 1, rentals: 2_000 });
    expect(await rentalsDigest('2025-01-02', '2025-01-03')).toBe(dayBefore);
    expect(await rentalsDigest()).toBe(allBefore);
  });

  it('replaces only the days seeded, even with fewer rentals', async () => {
    // Act
    await seed(client, { from: parseDay('2025-01-02'), to: parseDay('2025-01-02'), rentalsPerDay: 500 });

    // Assess
    const perDay = await client.query<{ day: string; rentals: string }>(
      `SELECT to_char(rent_start AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, count(*) AS rentals
       FROM rentals GROUP BY 1 ORDER BY 1`,
    );
    expect(perDay.rows.map((r) => Number(r.rentals))).toEqual([2_000, 500, 2_000]);
  });

  it('keeps every rental of a Europe/Berlin day inside that local day, even when it has 23 hours', async () => {
    // Prepare
    const day = parseDay('2025-03-30');

    // Act
    await seed(client, { from: day, to: day, rentalsPerDay: RENTALS_PER_DAY, timeZone: 'Europe/Berlin' });

    // Assess
    const local = await client.query(
      `SELECT count(*)::int AS rentals,
              count(*) FILTER (WHERE (rent_start AT TIME ZONE 'Europe/Berlin')::date <> DATE '2025-03-30')::int AS outside
       FROM rentals WHERE rent_start >= '2025-03-29T00:00:00Z' AND rent_start < '2025-04-01T00:00:00Z'`,
    );
    expect(local.rows[0]).toEqual({ rentals: 2_000, outside: 0 });
  });

  describe('as a role that may not skip the foreign-key triggers', () => {
    const role = `seed_tester_${randomBytes(4).toString('hex')}`;

    beforeAll(async () => {
      await client.query(`CREATE ROLE ${role} NOLOGIN NOSUPERUSER`);
      await client.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON users, bikes, rentals TO ${role}`);
    });

    afterAll(async () => {
      await client.query('RESET ROLE');
      await client.query(`DROP OWNED BY ${role}`);
      await client.query(`DROP ROLE ${role}`);
    });

    it('still loads the range, with the checks on', async () => {
      // Prepare
      await client.query(`SET ROLE ${role}`);
      expect(await scalar('SELECT rolsuper FROM pg_roles WHERE rolname = current_user')).toBe(false);
      const day = parseDay('2025-02-01');

      // Act
      const summary = await seed(client, { from: day, to: day, rentalsPerDay: RENTALS_PER_DAY });

      // Assess
      expect(summary).toMatchObject({ days: 1, rentals: 2_000 });
      expect(await scalar(`SELECT count(*) FROM rentals WHERE rent_start >= '2025-02-01Z' AND rent_start < '2025-02-02Z'`)).toBe(2_000);
      expect(await scalar('SHOW session_replication_role')).toBe('origin');
    });
  });
});
