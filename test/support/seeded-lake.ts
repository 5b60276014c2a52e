/**
 * The set-up most integration suites share, as one file-scoped fixture (`test.extend`): a freshly
 * migrated database of their own, seeded with the days they name, and an empty lake folder; both
 * are removed when the file's tests are done.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { test } from 'vitest';
import { seed } from '../../src/source/synthetic/load.js';
import type { SeedOptions } from '../../src/source/synthetic/options.js';
import { createTestDatabase } from './databases.js';

/** A seeded source and a lake folder, for one test file. */
export interface SeededLake {
  /** The URL of the suite's own database. */
  readonly databaseUrl: string;
  /** A client connected to it. */
  readonly client: pg.Client;
  /** The lake folder, empty at the start. */
  readonly lake: string;
}

/**
 * `test` with a `source` fixture made once per file: a migrated database seeded with each of
 * `seeding` in turn, and an empty lake folder named after `name`.
 */
export function seededLakeTest(name: string, seeding: readonly SeedOptions[]) {
  // biome-ignore lint/correctness/noEmptyPattern: vitest reads what a fixture depends on from this pattern; this one depends on none.
  return test.extend('source', { scope: 'file' }, async ({}, { onCleanup }): Promise<SeededLake> => {
    const database = await createTestDatabase();
    const client = new pg.Client(database.url);
    const lake = await mkdtemp(join(tmpdir(), `${name}-`));
    onCleanup(async () => {
      await client.end();
      await database.drop();
      await rm(lake, { recursive: true, force: true });
    });
    await client.connect();
    for (const options of seeding) await seed(client, options);
    return { databaseUrl: database.url, client, lake };
  });
}
