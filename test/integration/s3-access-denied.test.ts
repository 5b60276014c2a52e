/**
 * The stages against S3 as it answers the stack's roles: a GET or HEAD of a key that does not exist
 * is refused with 403 AccessDenied, not 404. S3 answers 404 for a missing key only to a caller
 * allowed `s3:ListBucket` on the bucket for that request; the roles may list only under
 * `s3:prefix` conditions, which a GET does not carry. moto answers 404 to everyone (it enforces no
 * IAM), so a middleware on the real client rewrites moto's 404 for a missing key into the answer S3
 * gives these roles, before the SDK reads it; listings pass through. Driven through it: the plan's
 * lookback over never-published days, a first-ever day through the deployed definition (the
 * snapshots' manifests, the day's and the day before's never found) and a scheduled execution.
 */
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seed } from '../../src/source/synthetic/load.js';
import { loadConfig } from '../../src/core/config.js';
import { parseDay } from '../../src/core/day.js';
import { ReadableLogger } from '../../src/core/log.js';
import { manifestKey } from '../../src/lake/layout.js';
import { lockKey } from '../../src/lake/lease.js';
import { readManifest } from '../../src/lake/manifest.js';
import { S3Store } from '../../src/lake/s3-store.js';
import type { RunPlan } from '../../src/pipeline/contracts.js';
import { loadStage } from '../../src/pipeline/implementations.js';
import { runLocalExecution } from '../../src/pipeline/local-execution.js';
import { runStage } from '../../src/pipeline/stage.js';
import { STAGES } from '../../src/pipeline/stages.js';
import { withClient } from '../../src/source/connect.js';
import { createTestDatabase } from '../support/databases.js';
import { rejectionOf } from '../support/outcomes.js';
import { runDay } from '../support/run-day.js';
import { createBucket, s3Endpoint, s3Env, useS3Credentials } from '../support/s3.js';

const PER_DAY = 300;
/** Seeded, never published before a test publishes them. */
const SEEDED = { from: parseDay('2025-07-01'), to: parseDay('2025-07-06') };
/** Small days: the quality limits are not what this suite is about. */
const LOOSE_QUALITY = {
  QUALITY_MAX_NEGATIVE_DURATION_RATE: '1',
  QUALITY_MAX_NEGATIVE_COST_RATE: '1',
  QUALITY_MAX_QUARANTINE_RATE: '1',
  QUALITY_MAX_NULL_RATE: '1',
};

/** The commands whose 404 for a missing key S3 turns into a 403 for a caller without ListBucket. */
const KEY_READS = new Set(['GetObjectCommand', 'HeadObjectCommand', 'CopyObjectCommand']);
const ACCESS_DENIED = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>';

type RawResponse = { statusCode: number; reason?: string; headers: Record<string, string>; body: unknown };

/**
 * A client of the test endpoint that answers a read of a missing key as S3 answers a caller not
 * allowed to list the bucket: HTTP 403 with an AccessDenied body (a HEAD's answer has no body).
 * It rewrites the raw response, inside the SDK's deserializer, so the error is the SDK's own.
 * `refused` collects the keys it refused (a CopyObject's is its destination).
 */
function clientDenyingMissingKeys(endpoint: string): { client: S3Client; refused: string[] } {
  const client = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true });
  const refused: string[] = [];
  const deny = (next: (args: unknown) => Promise<{ response: RawResponse }>, context: { commandName?: string }) => async (args: unknown) => {
    const out = await next(args);
    if (KEY_READS.has(context.commandName ?? '') && out.response.statusCode === 404) {
      refused.push((args as { input: { Key: string } }).input.Key);
      const head = context.commandName === 'HeadObjectCommand';
      out.response.statusCode = 403;
      out.response.reason = 'Forbidden';
      out.response.headers = { ...out.response.headers, 'content-type': 'application/xml' };
      out.response.body = Readable.from(head ? [] : [Buffer.from(ACCESS_DENIED)]);
    }
    return out;
  };
  client.middlewareStack.addRelativeTo(deny as never, { relation: 'after', toMiddleware: 'deserializerMiddleware', name: 'denyMissingKeys' });
  return { client, refused };
}

describe.skipIf(!s3Endpoint)('stages against S3 that answers 403 for a missing key', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let bucket: string;
  let client: S3Client;
  /** The keys refused so far (full keys, `lake/` prefix included). */
  let refused: string[];
  /** The lake as the stages see it: missing keys refused. */
  let store: S3Store;
  const config = (extra: Record<string, string> = {}) =>
    loadConfig({
      ...s3Env(s3Endpoint!),
      DATABASE_URL: database.url,
      LAKE_URI: `s3://${bucket}/lake`,
      POWERTOOLS_LOG_LEVEL: 'WARN',
      ...LOOSE_QUALITY,
      ...extra,
    });

  beforeAll(async () => {
    useS3Credentials(s3Endpoint!);
    bucket = await createBucket(s3Endpoint!);
    database = await createTestDatabase();
    ({ client, refused } = clientDenyingMissingKeys(s3Endpoint!));
    store = new S3Store(config().lake, { client });
    const source = new pg.Client(database.url);
    await source.connect();
    await seed(source, { ...SEEDED, rentalsPerDay: PER_DAY, seed: 21 });
    await source.end();
  }, 120_000);

  afterAll(async () => {
    client?.destroy();
    await database?.drop();
  });

  it('models S3: a GET or HEAD of a missing key is refused with 403, and a listing with the key as prefix passes', async () => {
    // Act
    const get = await rejectionOf(client.send(new GetObjectCommand({ Bucket: bucket, Key: 'lake/missing.json' })));
    const head = await rejectionOf(client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'lake/missing.json' })));
    const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'lake/missing.json', MaxKeys: 1 }));

    // Assess
    expect(get).toBeInstanceOf(S3ServiceException);
    expect(get).toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    expect((head as S3ServiceException).$metadata.httpStatusCode).toBe(403);
    expect(listed.KeyCount).toBe(0);
  });

  it("plan: the schedule's lookback reads never-published days as unpublished", async () => {
    // Arrange: yesterday is 2025-07-03; the lookback's three days before it were never published
    const plan = await loadStage('plan');
    const resources = {
      config: config({ REPUBLISH_LOOKBACK_DAYS: '3' }),
      log: new ReadableLogger(STAGES.plan.name, () => undefined),
      store,
      withSource: <T>(work: (c: pg.Client) => Promise<T>) => withClient(database.url, work),
    };

    // Act
    const planned = (await runStage(plan, { scheduledTime: '2025-07-04T03:00:00Z' }, resources, { ttlMs: 60_000 })) as RunPlan;

    // Assess
    expect(refused).toEqual(expect.arrayContaining(['2025-06-30', '2025-07-01', '2025-07-02'].map((date) => `lake/${manifestKey(parseDay(date))}`)));
    expect(planned.dates).toEqual(['2025-07-03']);
    expect(planned.skipped?.map((s) => [s.date, s.kind])).toEqual([
      ['2025-06-30', 'unpublished'],
      ['2025-07-01', 'unpublished'],
      ['2025-07-02', 'unpublished'],
    ]);
  });

  it("a first-ever day runs whole through the definition: its manifest and the day before's are never found, and the day is published", async () => {
    // Arrange
    const day = parseDay('2025-07-04');

    // Act
    const published = await runDay(store, database.url, day);

    // Assess
    expect(refused).toContain(`lake/${manifestKey(day)}`);
    expect(published.rows).toBe(PER_DAY);
    expect((await readManifest(store, day))?.manifest.runId).toBe(published.runId);
    expect(await store.getObject(lockKey(day))).toBeUndefined();
  });

  it("a scheduled execution reads its lookback's never-published day as missing and publishes it with yesterday", async () => {
    // Arrange: yesterday is 2025-07-06; 2025-07-05, after the lake's first day, was never published
    const settings = config({ REPUBLISH_LOOKBACK_DAYS: '1' });

    // Act
    const result = await runLocalExecution(
      settings,
      { scheduledTime: '2025-07-07T03:00:00Z' },
      { concurrency: 1, store, retryIntervalMs: 0, logLine: () => undefined },
    );

    // Assess
    expect(refused).toContain(`lake/${manifestKey(parseDay('2025-07-05'))}`);
    expect(result.status, `${result.error}: ${result.cause} ${result.outcomes.map((o) => o.error).join(' ')}`).toBe('SUCCEEDED');
    expect(result.outcomes.map((o) => [o.date, o.verdict, o.reason?.kind])).toEqual([
      ['2025-07-05', 'passed', 'missing'],
      ['2025-07-06', 'passed', 'new'],
    ]);
    for (const date of ['2025-07-05', '2025-07-06']) expect((await readManifest(store, parseDay(date)))?.manifest.rows).toBe(PER_DAY);
  });
});
