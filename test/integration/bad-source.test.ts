/**
 * Source rows the lake cannot hold as they are: NULL keys, text where a number belongs, very long
 * and unusual text. None may crash, corrupt the lake or vanish: a row the lake cannot hold is
 * quarantined with its reason, and a column of the wrong type fails the day with a named error.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS, parseLakeUri } from '../../src/core/config.js';
import { parseDay } from '../../src/core/day.js';
import { StagingError, ValidationBreachError } from '../../src/core/errors.js';
import { FsStore } from '../../src/lake/fs-store.js';
import { readManifest } from '../../src/lake/manifest.js';
import { createTestDatabase } from '../support/databases.js';
import { runDay } from '../support/run-day.js';

const DAY = parseDay('2025-08-01');
/** Days of a handful of rows cannot meet rates meant for real days. */
const LENIENT = { ...DEFAULT_THRESHOLDS, maxQuarantineRate: 1, maxNullRate: 1 };

async function insertBasics(client: pg.Client): Promise<void> {
  await client.query(`INSERT INTO users VALUES (1, 'Ada', 'L', 'ada@example.com', 36, 'London', '2020-01-01')`);
  await client.query(`INSERT INTO bikes VALUES (1, 'Roadster', 'city', 'Central', true)`);
}

describe('unusual source rows', () => {
  const databases: Array<{ drop: () => Promise<void> }> = [];
  let root: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'bad-source-'));
  });
  afterAll(async () => {
    for (const d of databases) await d.drop();
    await rm(root, { recursive: true, force: true });
  });

  async function freshSource() {
    const database = await createTestDatabase();
    databases.push(database);
    const client = new pg.Client(database.url);
    await client.connect();
    client.on('error', () => undefined);
    await insertBasics(client);
    const lake = await mkdtemp(join(root, 'lake-'));
    return { database, client, lake, store: new FsStore(parseLakeUri(lake)) };
  }

  it('quarantines rows with a NULL key whole, publishes the rest, and counts them in the row check', async () => {
    // Prepare: a source whose constraints were loosened
    const { database, client, lake, store } = await freshSource();
    await client.query('ALTER TABLE rentals ALTER COLUMN user_id DROP NOT NULL');
    await client.query(`INSERT INTO rentals VALUES
      (1, 1, 1, '2025-08-01 08:00+00', '2025-08-01 08:20+00', 'A', 'B', '3.10', now()),
      (2, NULL, 1, '2025-08-01 09:00+00', '2025-08-01 09:20+00', 'A', 'B', '3.20', now()),
      (3, 1, 1, '2025-08-01 10:00+00', NULL, 'A', NULL, NULL, now())`);

    // Act
    const result = await runDay(store, database.url, DAY, { thresholds: LENIENT });
    await client.end();

    // Assess
    expect(result.verdict).toBe('passed');
    expect(result.rows).toBe(2);
    const [quarantineFile] = await readdir(join(lake, '_quarantine/rentals/year=2025/month=08/day=01'));
    const lines = (await readFile(join(lake, '_quarantine/rentals/year=2025/month=08/day=01', quarantineFile), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toEqual([
      expect.objectContaining({ reason: 'required_value_null', column: 'user_id', row: expect.objectContaining({ rental_id: '2', user_id: null }) }),
    ]);
    const report = JSON.parse(await readFile(join(lake, result.reportKey), 'utf8'));
    expect(report.checks.find((c: { check: string }) => c.check === 'row_count').expected).toMatch(
      /^2 \(source count in the extract snapshot less 1 quarantined rows/,
    );
  });

  it('counts repeated rental_ids when the source has no key on them, and fails the day', async () => {
    // Prepare: a source without its primary key
    const { database, client, store } = await freshSource();
    await client.query('ALTER TABLE rentals DROP CONSTRAINT rentals_pkey');
    await client.query(`INSERT INTO rentals VALUES
      (7, 1, 1, '2025-08-01 08:00+00', '2025-08-01 08:20+00', 'A', 'B', '3.10', now()),
      (7, 1, 1, '2025-08-01 09:00+00', '2025-08-01 09:20+00', 'A', 'B', '3.20', now()),
      (8, 1, 1, '2025-08-01 10:00+00', '2025-08-01 10:20+00', 'A', 'B', '3.30', now())`);
    await client.end();

    // Act
    const failure = await runDay(store, database.url, DAY, { thresholds: LENIENT }).catch((e: unknown) => e);

    // Assess
    expect(failure).toMatchObject({ name: ValidationBreachError.name });
    expect((failure as Error).message).toMatch(/^duplicate_rental_id: expected <= 0, got 1/);
    expect(await readManifest(store, DAY)).toBeUndefined();
  });

  it('fails the day with a named error when a numeric column holds text, and publishes nothing', async () => {
    // Prepare
    const { database, client, store } = await freshSource();
    await client.query('ALTER TABLE rentals DROP CONSTRAINT rentals_bike_id_fkey');
    await client.query('ALTER TABLE rentals ALTER COLUMN bike_id TYPE text');
    await client.query(`INSERT INTO rentals VALUES (1, 1, 'bike-one', '2025-08-01 08:00+00', NULL, 'A', NULL, NULL, now())`);
    await client.end();

    // Act
    const failure = await runDay(store, database.url, DAY, { thresholds: LENIENT }).catch((e: unknown) => e);

    // Assess
    expect(failure).toMatchObject({ name: StagingError.name });
    expect((failure as Error).message).toBe('source column rentals.bike_id: expected bigint, got text');
    expect(await readManifest(store, DAY)).toBeUndefined();
    expect(await store.list('rentals/')).toEqual([]);
  });

  it('keeps long, multilingual, emoji and control-character text byte for byte', async () => {
    // Prepare
    const { database, client, lake, store } = await freshSource();
    const texts = [
      'S'.repeat(10_000),
      'Straße 🚲 自転車 دراجة',
      '👩🏽‍🚀 zero\u200bwidth \u202eRTL',
      'tab\there, newline\nthere, back\\slash, "quotes", \u0001control',
      '',
    ];
    for (const [i, t] of texts.entries()) {
      await client.query(`INSERT INTO rentals VALUES ($1, 1, 1, $2, NULL, $3, NULL, '1.00', now())`, [i + 1, `2025-08-01 0${i}:00+00`, t]);
    }
    await client.end();

    // Act
    const result = await runDay(store, database.url, DAY, { thresholds: LENIENT });
    const instance = await DuckDBInstance.create(':memory:');
    const db = await instance.connect();
    const files = (await readManifest(store, DAY))!.manifest.files.map((f) => `'${join(lake, f.key)}'`).join(',');
    const rows = (await db.runAndReadAll(`SELECT start_station FROM read_parquet([${files}]) ORDER BY rental_id`)).getRowObjectsJS();
    db.closeSync();
    instance.closeSync();

    // Assess
    expect(result.verdict).toBe('passed');
    expect(rows.map((r) => r.start_station)).toEqual(texts);
  });
});
