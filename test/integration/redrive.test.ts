/**
 * Re-running exactly the failed days, locally through the deployed definition: a `{ "dates": [...] }`
 * input runs the days named and no other, and a snapshot that fails for good does not stop them:
 * they publish against the snapshot already there, and the execution reports the snapshot's failure.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.js';
import { parseDay } from '../../src/core/day.js';
import { StagingError } from '../../src/core/errors.js';
import { SNAPSHOT_FAILED_ERROR } from '../../src/pipeline/definition.js';
import { runLocalExecution } from '../../src/pipeline/local-execution.js';
import { STAGES } from '../../src/pipeline/stages.js';
import { seed } from '../../src/source/synthetic/load.js';
import { createTestDatabase } from '../support/databases.js';

describe('re-running the failed days', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let lake: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    const client = new pg.Client(database.url);
    await client.connect();
    await seed(client, { from: parseDay('2025-04-01'), to: parseDay('2025-04-05'), rentalsPerDay: 50, users: 30, bikes: 10 });
    await client.end();
    lake = await mkdtemp(join(tmpdir(), 'redrive-lake-'));
  });
  afterAll(async () => {
    await database?.drop();
    await rm(lake, { recursive: true, force: true });
  });

  it('runs only the dates named, and publishes them though the snapshot fails, reporting SnapshotFailed', async () => {
    // Arrange
    const config = loadConfig({ DATABASE_URL: database.url, LAKE_URI: lake, POWERTOOLS_LOG_LEVEL: 'ERROR' });
    const failingSnapshot = () => async () => {
      throw new StagingError('users: 29 rows in the file, 30 in the source');
    };

    // Act
    const result = await runLocalExecution(
      config,
      { dates: ['2025-04-04', '2025-04-02'] },
      { concurrency: 2, retryIntervalMs: 0, logLine: () => undefined, handlers: { [STAGES.snapshot.state]: failingSnapshot } },
    );

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe(SNAPSHOT_FAILED_ERROR);
    expect(JSON.parse(result.cause!)).toEqual({ status: 'failed', error: 'StagingError' });
    expect(result.outcomes.map((o) => [o.date, o.verdict])).toEqual([
      ['2025-04-02', 'passed'],
      ['2025-04-04', 'passed'],
    ]);
  });
});
