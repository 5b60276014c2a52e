import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { rentalsCopySql } from '../../dev/bench/floor.js';
import { parseBenchArgs } from '../../dev/bench/main.js';
import { parseLakeUri } from '../../src/core/config.js';
import { parseDay } from '../../src/core/day.js';
import { InputError } from '../../src/core/errors.js';
import { extractDay } from '../../src/pipeline/extract/extract.js';
import { FsStore } from '../../src/lake/fs-store.js';
import { newRunId } from '../../src/lake/layout.js';
import { createTestDatabase } from '../support/databases.js';
import { recordQueries } from '../support/queries.js';

describe('the floor', () => {
  let database: { url: string; drop: () => Promise<void> };
  let client: pg.Client;
  let lakeDir: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    client = new pg.Client(database.url);
    await client.connect();
  });

  afterAll(async () => {
    await client.end();
    await database.drop();
  });

  beforeEach(async () => {
    lakeDir = await mkdtemp(join(tmpdir(), 'bench-floor-'));
  });

  afterEach(async () => {
    await rm(lakeDir, { recursive: true, force: true });
  });

  it('copies the day with exactly the query extract sends', async () => {
    // Prepare
    const texts = recordQueries(client);
    const day = parseDay('2025-06-02');
    const timeZone = 'Europe/Berlin';

    // Act
    await extractDay({ client, store: new FsStore(parseLakeUri(lakeDir)), day, timeZone, runId: newRunId(), batchRows: 1024 });

    // Assess
    const extractCopy = texts.find((t) => t.startsWith('COPY (SELECT rental_id'));
    expect(extractCopy).toBeDefined();
    expect(rentalsCopySql(client, day, timeZone, 'binary')).toBe(extractCopy);
  });
});

describe('parseBenchArgs', () => {
  it('measures 100,000 and 1,000,000 rows three times with everything on by default', () => {
    // Act
    const options = parseBenchArgs([]);

    // Assess
    expect(options).toEqual({ rows: [100_000, 1_000_000], repeat: 3, skipFloor: false, skipColdStart: false, jsonOnly: false });
  });

  it('reads a comma list of day sizes, the repeat count and the skip flags', () => {
    // Act
    const options = parseBenchArgs(['--rows', '4_000_000, 250000', '--repeat', '1', '--skip-floor', '--skip-cold-start', '--json-only']);

    // Assess
    expect(options).toEqual({ rows: [4_000_000, 250_000], repeat: 1, skipFloor: true, skipColdStart: true, jsonOnly: true });
  });

  it.each([['0'], ['2.5'], ['21']])('rejects --repeat %s naming the flag', (repeat) => {
    // Act
    const act = () => parseBenchArgs(['--repeat', repeat]);

    // Assess
    expect(act).toThrow(/^--repeat: expected an integer from 1 to 20/);
  });

  it.each([['0'], ['1.5'], ['ten'], ['100000,'], ['20000000']])('rejects --rows %s naming the flag', (rows) => {
    // Act
    const act = () => parseBenchArgs(['--rows', rows]);

    // Assess
    expect(act).toThrow(InputError);
    expect(act).toThrow(/^--rows: expected integers from 1 to 10,000,000/);
  });

  it('rejects an unknown flag', () => {
    // Act
    const act = () => parseBenchArgs(['--fast']);

    // Assess
    expect(act).toThrow(InputError);
  });
});
