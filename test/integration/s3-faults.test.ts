/**
 * Faults that only a real S3 API has, injected into real requests to the S3-compatible endpoint
 * with SDK middleware: a failed multipart completion and throttling (503 SlowDown).
 */
import { ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { ConfiguredRetryStrategy } from '@smithy/util-retry';
import { Readable } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLakeUri } from '../../src/core/config.js';
import { parseDay } from '../../src/core/day.js';
import { StoreUnavailableError } from '../../src/core/errors.js';
import { seed } from '../../src/source/synthetic/load.js';
import { readManifest } from '../../src/lake/manifest.js';
import { S3Store } from '../../src/lake/s3-store.js';
import { serviceError } from '../support/aws-errors.js';
import { createTestDatabase } from '../support/databases.js';
import { runDay } from '../support/run-day.js';
import { createBucket, s3Endpoint, useS3Credentials } from '../support/s3.js';

const DAY = parseDay('2025-09-01');

describe.skipIf(!s3Endpoint)('S3 faults', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let bucket: string;

  /**
   * A store whose client fails `command` per `shouldFail`, at a middleware `step`. It retries as
   * the project's client does (5 attempts), 10 ms apart instead of the SDK's backoff of seconds:
   * the retries are what is tested, not their waits.
   */
  function storeFailing(
    command: string,
    step: 'initialize' | 'deserialize',
    shouldFail: (input: { Key: string }, attempt: string | undefined) => boolean,
    error: () => Error,
  ) {
    const client = new S3Client({ region: 'us-east-1', endpoint: s3Endpoint, forcePathStyle: true, retryStrategy: new ConfiguredRetryStrategy(5, () => 10) });
    const inject = (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
      // Inside the SDK's retries the request carries which attempt it is (`attempt=2; max=5`).
      const { input, request } = args as { input: { Key: string }; request?: { headers: Record<string, string> } };
      if (context.commandName === command && shouldFail(input, request?.headers['amz-sdk-request'])) throw error();
      return next(args);
    };
    // The same middleware at either step: before the SDK's retries (initialize) or inside them (deserialize).
    client.middlewareStack.add(inject as never, { step, name: 'injectFault' } as never);
    return new S3Store(parseLakeUri(`s3://${bucket}/lake`), { client });
  }

  beforeAll(async () => {
    useS3Credentials(s3Endpoint!);
    bucket = await createBucket(s3Endpoint!);
    database = await createTestDatabase();
    const client = new pg.Client(database.url);
    await client.connect();
    await seed(client, { from: DAY, to: DAY, rentalsPerDay: 20_000, seed: 3 });
    await client.end();
  }, 120_000);

  afterAll(async () => {
    await database?.drop();
  });

  it('a multipart completion that fails aborts the upload: no part and no object stays behind', async () => {
    // Prepare: 12 MB, more than one 5 MB part
    const faulty = storeFailing(
      'CompleteMultipartUploadCommand',
      'initialize',
      () => true,
      () => serviceError('InternalError', 500),
    );
    const healthy = new S3Store(parseLakeUri(`s3://${bucket}/lake`), { region: 'us-east-1', endpoint: s3Endpoint });
    const chunks = Array.from({ length: 12 }, (_, i) => new Uint8Array(1024 * 1024).fill(i));

    // Act
    const failure = await faulty.upload('_staging/multipart/big.arrows.zst', Readable.from(chunks), 'application/zstd').catch((e: unknown) => e);
    const uploads = await healthy.client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));

    // Assess
    expect(failure).toBeInstanceOf(StoreUnavailableError);
    expect(uploads.Uploads ?? []).toEqual([]);
    expect(await healthy.head('_staging/multipart/big.arrows.zst')).toBeUndefined();
  });

  it('a staged upload failing through every retry leaves the day as it was and its staging empty, and a rerun succeeds', async () => {
    // Prepare
    const healthy = new S3Store(parseLakeUri(`s3://${bucket}/lake`), { region: 'us-east-1', endpoint: s3Endpoint });
    await runDay(healthy, database.url, DAY);
    const before = await readManifest(healthy, DAY);
    let failures = 0;
    const faulty = storeFailing(
      'PutObjectCommand',
      'initialize',
      (input) => input.Key.includes('/_staging/') && ++failures > 0,
      () => serviceError('InternalError', 500),
    );

    // Act
    const failure = await runDay(faulty, database.url, DAY).catch((e: unknown) => e);
    const after = await readManifest(healthy, DAY);
    const rerun = await runDay(healthy, database.url, DAY);

    // Assess: extract was tried by the state machine and failed each time
    expect(failures).toBeGreaterThan(1);
    expect(failure).toMatchObject({ name: StoreUnavailableError.name });
    expect(after?.manifest).toEqual(before?.manifest);
    expect(await healthy.list('_staging/')).toEqual([]);
    expect(rerun.rows).toBe(20_000);
  });

  it('throttling (503 SlowDown) is retried with backoff inside the function', async () => {
    // Prepare: the first two PutObject requests are throttled
    const puts: Array<{ key: string; attempt: string | undefined }> = [];
    const store = storeFailing(
      'PutObjectCommand',
      'deserialize',
      (input, attempt) => puts.push({ key: input.Key, attempt }) <= 2,
      () => serviceError('SlowDown', 503),
    );

    // Act
    const result = await runDay(store, database.url, DAY);

    // Assess: the client sent the first object three times in a row, not the state machine's retry of the stage
    expect(puts.slice(0, 3)).toEqual([1, 2, 3].map((n) => ({ key: puts[0].key, attempt: expect.stringMatching(new RegExp(`^attempt=${n};`)) })));
    expect(result.verdict).toBe('passed');
  });

  it('persistent throttling surfaces as a transient error for the state machine to retry, and the day stays valid', async () => {
    // Prepare: a published day, then the manifest write throttled every time
    const healthy = new S3Store(parseLakeUri(`s3://${bucket}/lake`), { region: 'us-east-1', endpoint: s3Endpoint });
    await runDay(healthy, database.url, DAY);
    const before = await readManifest(healthy, DAY);
    expect(before?.manifest.rows).toBe(20_000);
    const store = storeFailing(
      'PutObjectCommand',
      'deserialize',
      () => true,
      () => serviceError('SlowDown', 503),
    );

    // Act
    const failure = await runDay(store, database.url, DAY).catch((e: unknown) => e);

    // Assess
    expect(failure).toMatchObject({ name: StoreUnavailableError.name });
    expect((failure as Error).message).toMatch(/SlowDown/);
    expect((await readManifest(healthy, DAY))?.manifest).toEqual(before?.manifest);
  });
});
