/**
 * A stage's Lambda handler holds the day's lease with the liveness its entry file passes: plan-day
 * in AWS tells a gone holder by its Step Functions execution (`executionLiveness`), and takes such
 * a holder's day over before the lease expires.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.js';
import { parseDay } from '../../src/core/day.js';
import { FsStore } from '../../src/lake/fs-store.js';
import { openStore } from '../../src/lake/open.js';
import { acquireLock, readLock } from '../../src/lake/lease.js';
import { lambdaHandler } from '../../src/pipeline/handler.js';
import { stage } from '../../src/pipeline/plan-day/index.js';
import { sourceConnector } from '../../src/source/connect.js';
import { createTestDatabase } from '../support/databases.js';

const DAY = parseDay('2025-08-01');

describe('the Lambda handler of plan-day', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let lake: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    lake = await mkdtemp(join(tmpdir(), 'lambda-liveness-'));
  });
  afterAll(async () => {
    await database?.drop();
    await rm(lake, { recursive: true, force: true });
  });

  it('takes over a day whose holder its entry says is gone, before the lease expires', async () => {
    // Arrange: another execution holds the day for an hour; this process looks alive to a local check
    const env = { LAKE_URI: lake, DATABASE_URL: database.url, PARTITION_LOCK_TTL_SECONDS: '60', POWERTOOLS_LOG_LEVEL: 'ERROR' };
    const store = new FsStore(loadConfig({ LAKE_URI: lake }).lake);
    const gone = 'arn:aws:states:us-east-1:123456789012:execution:Pipeline:gone';
    await acquireLock(store, DAY, { owner: gone, runId: '20250801T000000000Z-0000dead', ttlMs: 3_600_000 });
    const askedAbout: string[] = [];
    const handler = lambdaHandler(
      stage,
      {
        lake: openStore,
        source: sourceConnector,
        liveness: async (lock) => {
          askedAbout.push(lock.owner);
          return lock.owner === gone;
        },
      },
      env,
    );

    // Act
    const planned = (await handler({ date: DAY.iso, owner: 'arn:aws:states:us-east-1:123456789012:execution:Pipeline:new' })) as { runId: string };

    // Assess
    expect(askedAbout).toEqual([gone]);
    expect((await readLock(store, DAY))?.lock.runId).toBe(planned.runId);
  });
});
