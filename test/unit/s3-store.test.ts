import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  type GetObjectCommandOutput,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { parseLakeUri } from '../../src/core/config.js';
import {
  PreconditionFailedError,
  StagingError,
  StoreAccessDeniedError,
  StoreError,
  StoreUnavailableError,
  TerminalError,
  TransientError,
} from '../../src/core/errors.js';
import { classifyS3Error, S3Store } from '../../src/lake/s3-store.js';
import { serviceError } from '../support/aws-errors.js';
import { rejectionOf } from '../support/outcomes.js';

const s3Mock = mockClient(S3Client);

function newStore(uri = 's3://bucket/pre/fix'): S3Store {
  return new S3Store(parseLakeUri(uri), { client: new S3Client({ region: 'us-east-1' }) });
}

/** A GetObject body as the SDK hands it out, reduced to what the store reads. */
function bodyOf(bytes: Uint8Array): GetObjectCommandOutput['Body'] {
  return { transformToByteArray: async () => bytes } as unknown as GetObjectCommandOutput['Body'];
}

beforeEach(() => {
  s3Mock.reset();
});

describe('S3Store', () => {
  it('refuses a lake that is not in S3', () => {
    // Act
    const act = () => new S3Store(parseLakeUri('/tmp/lake'), { client: new S3Client({ region: 'us-east-1' }) });

    // Assess
    expect(act).toThrow(StoreError);
  });

  describe('putObject', () => {
    it('writes to the bucket under the lake prefix and returns the ETag', async () => {
      // Prepare
      s3Mock.on(PutObjectCommand).resolves({ ETag: '"etag-1"' });
      const store = newStore();

      // Act
      const out = await store.putObject('rentals/year=2025/_manifest.json', '{}', { contentType: 'application/json' });

      // Assess
      expect(out).toEqual({ etag: '"etag-1"' });
      expect(s3Mock).toReceiveCommandExactlyOnceWith(PutObjectCommand, {
        Bucket: 'bucket',
        Key: 'pre/fix/rentals/year=2025/_manifest.json',
        Body: '{}',
        ContentType: 'application/json',
      });
      const input = s3Mock.commandCalls(PutObjectCommand)[0].args[0].input;
      expect(input.IfNoneMatch).toBeUndefined();
      expect(input.IfMatch).toBeUndefined();
    });

    it('writes at the bucket root when the lake has no prefix', async () => {
      // Prepare
      s3Mock.on(PutObjectCommand).resolves({});
      const store = newStore('s3://bucket');

      // Act
      await store.putObject('a.json', 'x');

      // Assess
      expect(s3Mock).toReceiveCommandWith(PutObjectCommand, { Bucket: 'bucket', Key: 'a.json' });
    });

    it("sends IfNoneMatch '*' for a create-only write", async () => {
      // Prepare
      s3Mock.on(PutObjectCommand).resolves({ ETag: '"etag-1"' });
      const store = newStore();

      // Act
      await store.putObject('k', 'x', { ifNoneMatch: true });

      // Assess
      expect(s3Mock).toReceiveCommandWith(PutObjectCommand, { Bucket: 'bucket', Key: 'pre/fix/k', IfNoneMatch: '*' });
    });

    it('sends IfMatch with the expected ETag for a replace-only write', async () => {
      // Prepare
      s3Mock.on(PutObjectCommand).resolves({ ETag: '"etag-2"' });
      const store = newStore();

      // Act
      await store.putObject('k', 'x', { ifMatch: '"etag-1"' });

      // Assess
      expect(s3Mock).toReceiveCommandWith(PutObjectCommand, { Key: 'pre/fix/k', IfMatch: '"etag-1"' });
      expect(s3Mock.commandCalls(PutObjectCommand)[0].args[0].input.IfNoneMatch).toBeUndefined();
    });

    it.each([
      ['PreconditionFailed 412', serviceError('PreconditionFailed', 412)],
      ['any 412', serviceError('Unknown', 412)],
      ['ConditionalRequestConflict 409', serviceError('ConditionalRequestConflict', 409)],
    ])('turns %s into a PreconditionFailedError', async (_, failure) => {
      // Prepare
      s3Mock.on(PutObjectCommand).rejects(failure);
      const store = newStore();

      // Act
      const error = await rejectionOf(store.putObject('k', 'x', { ifNoneMatch: true }));

      // Assess
      expect(error).toBeInstanceOf(PreconditionFailedError);
      expect((error as Error).cause).toBe(failure);
      expect((error as Error).message).toContain('PutObject k');
    });

    it.each([
      ['SlowDown 503', serviceError('SlowDown', 503)],
      ['InternalError 500', serviceError('InternalError', 500)],
      ['a 429', serviceError('TooManyRequests', 429)],
      ['ECONNRESET', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
      ['TimeoutError', Object.assign(new Error('Connection timed out after 1000 ms'), { name: 'TimeoutError' })],
    ])('turns %s into a retryable StoreUnavailableError', async (_, failure) => {
      // Prepare
      s3Mock.on(PutObjectCommand).rejects(failure);
      const store = newStore();

      // Act
      const error = await rejectionOf(store.putObject('k', 'x'));

      // Assess
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect(error).toBeInstanceOf(TransientError);
      expect((error as StoreUnavailableError).retryable).toBe(true);
      expect((error as Error).name).toBe('StoreUnavailableError');
      expect((error as Error).cause).toBe(failure);
    });

    it.each([
      ['AccessDenied 403', serviceError('AccessDenied', 403)],
      ['NoSuchBucket 404', serviceError('NoSuchBucket', 404)],
      ['InvalidArgument 400', serviceError('InvalidArgument', 400)],
    ])('turns %s into a terminal StoreError', async (_, failure) => {
      // Prepare
      s3Mock.on(PutObjectCommand).rejects(failure);
      const store = newStore();

      // Act
      const error = await rejectionOf(store.putObject('k', 'x'));

      // Assess
      expect(error).toBeInstanceOf(StoreError);
      expect(error).toBeInstanceOf(TerminalError);
      expect((error as StoreError).retryable).toBe(false);
      expect((error as Error).name).toBe('StoreError');
      expect((error as Error).cause).toBe(failure);
    });
  });

  describe('getObject', () => {
    it('returns the bytes of the object under the prefix and their ETag', async () => {
      // Prepare
      const bytes = new TextEncoder().encode('{"files":[]}');
      s3Mock.on(GetObjectCommand, { Bucket: 'bucket', Key: 'pre/fix/m.json' }).resolves({ Body: bodyOf(bytes), ETag: '"etag-7"' });
      const store = newStore();

      // Act
      const out = await store.getObject('m.json');

      // Assess
      expect(out?.body).toEqual(bytes);
      expect(out?.etag).toBe('"etag-7"');
      expect(s3Mock).toReceiveCommandWith(GetObjectCommand, { Bucket: 'bucket', Key: 'pre/fix/m.json' });
    });

    it.each([
      ['an S3ServiceException named NoSuchKey', serviceError('NoSuchKey', 404)],
      ['the SDK NoSuchKey class', new NoSuchKey({ message: 'The specified key does not exist.', $metadata: { httpStatusCode: 404 } })],
    ])('returns undefined for a missing key (%s)', async (_, failure) => {
      // Prepare
      s3Mock.on(GetObjectCommand).rejects(failure);
      const store = newStore();

      // Act
      const out = await store.getObject('missing.json');

      // Assess
      expect(out).toBeUndefined();
    });

    it('classifies any other failure', async () => {
      // Prepare
      s3Mock.on(GetObjectCommand).rejects(serviceError('InvalidArgument', 400));
      const store = newStore();

      // Act
      const error = await rejectionOf(store.getObject('m.json'));

      // Assess
      expect(error).toBeInstanceOf(StoreError);
      expect(s3Mock).not.toReceiveCommand(ListObjectsV2Command);
    });

    // S3 refuses a GET of a missing key with 403 to a caller it does not let list the bucket (the stack's roles).
    describe('refused with 403', () => {
      const KEY = '_manifests/rentals/year=2025/month=03/day=01.json';

      it('is a missing key when a listing with the key as prefix does not show it', async () => {
        // Prepare: a listing of the prefix finds only a longer key
        s3Mock.on(GetObjectCommand).rejects(serviceError('AccessDenied', 403));
        s3Mock.on(ListObjectsV2Command).resolves({ Contents: [{ Key: `pre/fix/${KEY}.parquet` }], KeyCount: 1 });
        const store = newStore();

        // Act
        const out = await store.getObject(KEY);

        // Assess
        expect(out).toBeUndefined();
        expect(s3Mock).toReceiveCommandExactlyOnceWith(ListObjectsV2Command, { Bucket: 'bucket', Prefix: `pre/fix/${KEY}`, MaxKeys: 1 });
      });

      it('is rethrown as a terminal permission error, naming the key and the permission, when a listing shows the key', async () => {
        // Prepare
        const refusal = serviceError('AccessDenied', 403);
        s3Mock.on(GetObjectCommand).rejects(refusal);
        s3Mock.on(ListObjectsV2Command).resolves({ Contents: [{ Key: `pre/fix/${KEY}`, Size: 10 }], KeyCount: 1 });
        const store = newStore();

        // Act
        const error = await rejectionOf(store.getObject(KEY));

        // Assess
        expect(error).toBeInstanceOf(StoreAccessDeniedError);
        expect(error).toBeInstanceOf(TerminalError);
        expect(error).toMatchObject({ name: 'StoreAccessDeniedError', retryable: false, key: KEY, permission: 's3:GetObject', cause: refusal });
        expect((error as Error).message).toContain(`s3://bucket/pre/fix/${KEY}`);
        expect((error as Error).message).toContain('grant s3:GetObject');
      });
    });
  });

  describe('readStream', () => {
    it('throws a StagingError for a missing key', async () => {
      // Prepare
      s3Mock.on(GetObjectCommand).rejects(serviceError('NoSuchKey', 404));
      const store = newStore();

      // Act
      const error = await rejectionOf(store.readStream('staging/run/rentals.arrow'));

      // Assess
      expect(error).toBeInstanceOf(StagingError);
      expect((error as Error).message).toContain('staging/run/rentals.arrow');
    });
  });

  describe('readRange', () => {
    it('asks for the inclusive byte range of [start, end)', async () => {
      // Prepare
      s3Mock.on(GetObjectCommand).resolves({ Body: bodyOf(new Uint8Array(8)) });
      const store = newStore();

      // Act
      await store.readRange('f.parquet', 100, 108);

      // Assess
      expect(s3Mock).toReceiveCommandWith(GetObjectCommand, { Key: 'pre/fix/f.parquet', Range: 'bytes=100-107' });
    });
  });

  describe('head', () => {
    it('returns the size and ETag under the key without the prefix', async () => {
      // Prepare
      s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 1234, ETag: '"e"' });
      const store = newStore();

      // Act
      const info = await store.head('data/f.parquet');

      // Assess
      expect(info).toEqual({ key: 'data/f.parquet', size: 1234, etag: '"e"' });
      expect(s3Mock).toReceiveCommandWith(HeadObjectCommand, { Bucket: 'bucket', Key: 'pre/fix/data/f.parquet' });
    });

    it('returns undefined when the object does not exist', async () => {
      // Prepare
      s3Mock.on(HeadObjectCommand).rejects(serviceError('NotFound', 404));
      const store = newStore();

      // Act
      const info = await store.head('data/missing.parquet');

      // Assess
      expect(info).toBeUndefined();
    });

    it('classifies any other failure', async () => {
      // Prepare
      s3Mock.on(HeadObjectCommand).rejects(serviceError('SlowDown', 503));
      const store = newStore();

      // Act
      const error = await rejectionOf(store.head('data/f.parquet'));

      // Assess
      expect(error).toBeInstanceOf(StoreUnavailableError);
    });
  });

  describe('list', () => {
    it('follows continuation tokens across pages and strips the lake prefix', async () => {
      // Prepare
      s3Mock
        .on(ListObjectsV2Command)
        .resolvesOnce({
          Contents: [
            { Key: 'pre/fix/rentals/a.parquet', Size: 10, ETag: '"a"' },
            { Key: 'pre/fix/rentals/b.parquet', Size: 20, ETag: '"b"' },
          ],
          IsTruncated: true,
          NextContinuationToken: 'page-2',
        })
        .resolvesOnce({ Contents: [{ Key: 'pre/fix/rentals/c.parquet', Size: 30, ETag: '"c"' }], IsTruncated: false });
      const store = newStore();

      // Act
      const objects = await store.list('rentals/');

      // Assess
      expect(objects).toEqual([
        { key: 'rentals/a.parquet', size: 10, etag: '"a"' },
        { key: 'rentals/b.parquet', size: 20, etag: '"b"' },
        { key: 'rentals/c.parquet', size: 30, etag: '"c"' },
      ]);
      expect(s3Mock).toReceiveCommandTimes(ListObjectsV2Command, 2);
      expect(s3Mock).toReceiveNthCommandWith(ListObjectsV2Command, 1, { Bucket: 'bucket', Prefix: 'pre/fix/rentals/' });
      expect(s3Mock.commandCalls(ListObjectsV2Command)[0].args[0].input.ContinuationToken).toBeUndefined();
      expect(s3Mock).toReceiveNthCommandWith(ListObjectsV2Command, 2, {
        Bucket: 'bucket',
        Prefix: 'pre/fix/rentals/',
        ContinuationToken: 'page-2',
      });
    });

    it('returns an empty list for a page with no Contents', async () => {
      // Prepare
      s3Mock.on(ListObjectsV2Command).resolves({ KeyCount: 0, IsTruncated: false });
      const store = newStore();

      // Act
      const objects = await store.list('rentals/');

      // Assess
      expect(objects).toEqual([]);
    });

    it('keeps keys whole when the lake has no prefix', async () => {
      // Prepare
      s3Mock.on(ListObjectsV2Command).resolves({ Contents: [{ Key: 'rentals/a.parquet', Size: 1 }] });
      const store = newStore('s3://bucket');

      // Act
      const objects = await store.list('rentals/');

      // Assess
      expect(objects).toEqual([{ key: 'rentals/a.parquet', size: 1, etag: undefined }]);
      expect(s3Mock).toReceiveCommandWith(ListObjectsV2Command, { Prefix: 'rentals/' });
    });
  });

  describe('deleteObjects', () => {
    it('deletes 2,500 keys in three requests of at most 1,000, under the prefix', async () => {
      // Prepare
      s3Mock.on(DeleteObjectsCommand).resolves({});
      const store = newStore();
      const keys = Array.from({ length: 2_500 }, (_, i) => `staging/run/${String(i).padStart(4, '0')}`);

      // Act
      await store.deleteObjects(keys);

      // Assess
      expect(s3Mock).toReceiveCommandTimes(DeleteObjectsCommand, 3);
      const requests = s3Mock.commandCalls(DeleteObjectsCommand).map((call) => call.args[0].input);
      expect(requests.map((r) => r.Delete!.Objects!.length)).toEqual([1_000, 1_000, 500]);
      expect(requests.flatMap((r) => r.Delete!.Objects!.map((o) => o.Key))).toEqual(keys.map((k) => `pre/fix/${k}`));
      expect(requests.every((r) => r.Bucket === 'bucket' && r.Delete!.Quiet === true)).toBe(true);
    });

    it('sends nothing for no keys', async () => {
      // Prepare
      const store = newStore();

      // Act
      await store.deleteObjects([]);

      // Assess
      expect(s3Mock).not.toReceiveAnyCommand();
    });

    it('throws when the response lists a key it could not delete, and stops there', async () => {
      // Prepare
      s3Mock.on(DeleteObjectsCommand).resolvesOnce({ Errors: [{ Key: 'pre/fix/k0', Code: 'InternalError', Message: 'We encountered an internal error.' }] });
      const store = newStore();
      const keys = Array.from({ length: 1_500 }, (_, i) => `k${i}`);

      // Act
      const error = await rejectionOf(store.deleteObjects(keys));

      // Assess
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect((error as Error).message).toContain('pre/fix/k0');
      expect(s3Mock).toReceiveCommandTimes(DeleteObjectsCommand, 1);
    });

    it('throws a terminal StoreError when a key is refused for good (AccessDenied)', async () => {
      // Prepare
      s3Mock.on(DeleteObjectsCommand).resolves({ Errors: [{ Key: 'pre/fix/k0', Code: 'AccessDenied', Message: 'Access Denied' }] });
      const store = newStore();

      // Act
      const error = await rejectionOf(store.deleteObjects(['k0']));

      // Assess
      expect(error).toBeInstanceOf(StoreError);
      expect((error as StoreError).retryable).toBe(false);
    });
  });
});

describe('classifyS3Error', () => {
  it.each([
    ['PreconditionFailed 412', serviceError('PreconditionFailed', 412), PreconditionFailedError],
    ['ConditionalRequestConflict 409', serviceError('ConditionalRequestConflict', 409), PreconditionFailedError],
    ['another 409', serviceError('BucketNotEmpty', 409), StoreError],
    ['SlowDown 503', serviceError('SlowDown', 503), StoreUnavailableError],
    ['ServiceUnavailable 503', serviceError('ServiceUnavailable', 503), StoreUnavailableError],
    ['InternalError 500', serviceError('InternalError', 500), StoreUnavailableError],
    ['429', serviceError('TooManyRequests', 429), StoreUnavailableError],
    ['RequestTimeout 400', serviceError('RequestTimeout', 400), StoreUnavailableError],
    ['AccessDenied 403', serviceError('AccessDenied', 403), StoreError],
    ['NoSuchBucket 404', serviceError('NoSuchBucket', 404), StoreError],
    ['ECONNRESET', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), StoreUnavailableError],
    ['ECONNREFUSED', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4566'), { code: 'ECONNREFUSED' }), StoreUnavailableError],
    ['ETIMEDOUT', Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' }), StoreUnavailableError],
  ])('classifies %s', (_, failure, expected) => {
    // Act
    const error = classifyS3Error(failure, 'PutObject k');

    // Assess
    expect(error).toBeInstanceOf(expected);
    expect(error.cause).toBe(failure);
    expect(error.message.startsWith('PutObject k: ')).toBe(true);
  });

  it.each([new StoreError('already classified'), new StoreUnavailableError('already classified'), new PreconditionFailedError('already classified')])(
    'returns an already classified $name as it is',
    (failure) => {
      // Act
      const error = classifyS3Error(failure, 'PutObject k');

      // Assess
      expect(error).toBe(failure);
    },
  );

  it('names the S3 error code and message in its message', () => {
    // Act
    const error = classifyS3Error(serviceError('AccessDenied', 403), 'GetObject m.json');

    // Assess
    expect(error.message).toBe('GetObject m.json: AccessDenied AccessDenied from AWS');
  });
});
