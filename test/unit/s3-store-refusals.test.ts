/**
 * Telling a missing key from a refused read on every read path of `S3Store`. S3 answers a read of
 * a missing key with 403 AccessDenied to a caller it does not let list the bucket (the stack's
 * roles); the store then lists the key: absent is missing, present a `StoreAccessDeniedError`.
 * (getObject's two outcomes are in s3-store.test.ts.)
 */
import { CopyObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { parseLakeUri } from '../../src/core/config.js';
import { StagingError, StoreAccessDeniedError, StoreError, StoreUnavailableError } from '../../src/core/errors.js';
import { S3Store } from '../../src/lake/s3-store.js';
import { rejectionOf } from '../support/outcomes.js';

const s3Mock = mockClient(S3Client);

function serviceError(name: string, status: number): S3ServiceException {
  return new S3ServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status }, message: `${name} from S3` });
}

function newStore(): S3Store {
  return new S3Store(parseLakeUri('s3://bucket/pre/fix'), { client: new S3Client({ region: 'us-east-1' }) });
}

beforeEach(() => {
  s3Mock.reset();
});

describe('a read refused with 403', () => {
  const KEY = '_manifests/rentals/year=2025/month=03/day=01.json';

  it('is a permission error naming s3:ListBucket when the listing is refused too', async () => {
    // Prepare
    s3Mock.on(GetObjectCommand).rejects(serviceError('AccessDenied', 403));
    s3Mock.on(ListObjectsV2Command).rejects(serviceError('AccessDenied', 403));
    const store = newStore();

    // Act
    const error = await rejectionOf(store.getObject(KEY));

    // Assess
    expect(error).toBeInstanceOf(StoreAccessDeniedError);
    expect(error).toMatchObject({ key: KEY, permission: 's3:ListBucket' });
    expect((error as Error).message).toContain(`s3:ListBucket on arn:aws:s3:::bucket for the prefix pre/fix/${KEY}`);
  });

  it('is retryable when the listing fails transiently', async () => {
    // Prepare
    s3Mock.on(GetObjectCommand).rejects(serviceError('AccessDenied', 403));
    s3Mock.on(ListObjectsV2Command).rejects(serviceError('SlowDown', 503));
    const store = newStore();

    // Act
    const error = await rejectionOf(store.getObject(KEY));

    // Assess
    expect(error).toBeInstanceOf(StoreUnavailableError);
  });

  it('is not a refusal by policy when the credentials or the clock are wrong: no listing, a terminal StoreError', async () => {
    // Prepare
    s3Mock.on(GetObjectCommand).rejects(serviceError('ExpiredToken', 403));
    const store = newStore();

    // Act
    const error = await rejectionOf(store.getObject(KEY));

    // Assess
    expect(error).toBeInstanceOf(StoreError);
    expect(error).not.toBeInstanceOf(StoreAccessDeniedError);
    expect(s3Mock).not.toReceiveCommand(ListObjectsV2Command);
  });

  it.each([
    ['absent', [], undefined],
    ['present', [{ Key: `pre/fix/${KEY}` }], StoreAccessDeniedError],
  ] as const)('HEAD (a 403 without a body) of a key the listing finds %s', async (_, contents, expected) => {
    // Prepare: the SDK names a bodiless 403 after no code
    s3Mock.on(HeadObjectCommand).rejects(serviceError('Unknown', 403));
    s3Mock.on(ListObjectsV2Command).resolves({ Contents: [...contents] });
    const store = newStore();

    // Act
    const outcome = await store.head(KEY).then(
      (info) => ({ info }),
      (error: unknown) => ({ error }),
    );

    // Assess
    if (expected) expect('error' in outcome && outcome.error).toBeInstanceOf(expected);
    else expect(outcome).toEqual({ info: undefined });
  });

  it('readStream of a key the listing does not show is a StagingError', async () => {
    // Prepare
    s3Mock.on(GetObjectCommand).rejects(serviceError('AccessDenied', 403));
    s3Mock.on(ListObjectsV2Command).resolves({ KeyCount: 0 });
    const store = newStore();

    // Act
    const error = await rejectionOf(store.readStream('_staging/run/rentals.arrows'));

    // Assess
    expect(error).toBeInstanceOf(StagingError);
  });

  it('readRange of a key the listing does not show is a terminal StoreError saying it does not exist', async () => {
    // Prepare
    s3Mock.on(GetObjectCommand).rejects(serviceError('AccessDenied', 403));
    s3Mock.on(ListObjectsV2Command).resolves({ KeyCount: 0 });
    const store = newStore();

    // Act
    const error = await rejectionOf(store.readRange('f.parquet', 0, 8));

    // Assess
    expect(error).toBeInstanceOf(StoreError);
    expect((error as Error).message).toContain('f.parquet does not exist');
  });

  it('promote whose source the listing does not show is done when the destination exists (an earlier attempt copied it)', async () => {
    // Prepare
    s3Mock.on(CopyObjectCommand).rejects(serviceError('AccessDenied', 403));
    s3Mock.on(ListObjectsV2Command).resolves({ KeyCount: 0 });
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 8 });
    const store = newStore();

    // Act
    await store.promote('_staging/run/f.parquet', 'rentals/f.parquet');

    // Assess
    expect(s3Mock).toReceiveCommandWith(ListObjectsV2Command, { Prefix: 'pre/fix/_staging/run/f.parquet' });
    expect(s3Mock).toReceiveCommandWith(HeadObjectCommand, { Key: 'pre/fix/rentals/f.parquet' });
  });

  it('promote whose source the listing shows is a permission error naming both keys', async () => {
    // Prepare
    s3Mock.on(CopyObjectCommand).rejects(serviceError('AccessDenied', 403));
    s3Mock.on(ListObjectsV2Command).resolves({ Contents: [{ Key: 'pre/fix/_staging/run/f.parquet' }] });
    const store = newStore();

    // Act
    const error = await rejectionOf(store.promote('_staging/run/f.parquet', 'rentals/f.parquet'));

    // Assess
    expect(error).toBeInstanceOf(StoreAccessDeniedError);
    expect((error as StoreAccessDeniedError).permission).toBe('s3:GetObject on _staging/run/f.parquet and s3:PutObject on rentals/f.parquet');
  });
});
