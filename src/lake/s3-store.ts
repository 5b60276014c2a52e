/**
 * A lake in an S3 bucket (or any S3-compatible endpoint: LocalStack, MinIO, moto). Path-style
 * addressing when `AWS_ENDPOINT_URL` is set; large objects go up as multipart uploads.
 *
 * A missing key: S3 answers a read of a key that does not exist with 404 only to a caller allowed
 * `s3:ListBucket` on the bucket for that request; to any other it answers 403 AccessDenied, as it
 * does to a caller not allowed to read a key that exists. Every read that can meet a missing key
 * goes through `isMissingKey`, which settles a 403 with a listing of the key.
 */
import { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { LakeLocation } from '../core/config.js';
import { awsRequestHandler } from '../core/aws-http.js';
import { PreconditionFailedError, StagingError, StoreAccessDeniedError, StoreError, StoreUnavailableError } from '../core/errors.js';
import type { ObjectInfo, ObjectStore, PutOptions } from './store.js';

const RETRYABLE_CODES: ReadonlySet<string> = new Set([
  'SlowDown',
  'ServiceUnavailable',
  'InternalError',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'ThrottlingException',
  'TimeoutError',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
]);

/** A 404 for a key: the SDK names it NoSuchKey (GET, CopyObject's source) or NotFound (HEAD: no body). */
const MISSING_KEY: ReadonlySet<string> = new Set(['NoSuchKey', 'NotFound']);

/**
 * 403 codes that are no refusal by a policy but the credentials or the clock. Any other 403 is
 * one: AccessDenied for a GET, and for a HEAD whatever name the SDK gives a 403 without a body.
 */
const NOT_A_POLICY_REFUSAL: ReadonlySet<string> = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'RequestTimeTooSkewed',
  'AccountProblem',
  'AllAccessDisabled',
  'InvalidObjectState',
]);

function statusOf(error: unknown): number | undefined {
  return error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined;
}

function isPolicyRefusal(error: unknown): boolean {
  return statusOf(error) === 403 && !NOT_A_POLICY_REFUSAL.has((error as { name?: string }).name ?? '');
}

/** Sorts an S3 SDK failure into the project's transient / terminal errors. */
export function classifyS3Error(error: unknown, action: string): Error {
  if (error instanceof StoreError || error instanceof StoreUnavailableError || error instanceof PreconditionFailedError) {
    return error;
  }
  const name = (error as { name?: string })?.name ?? '';
  const code = (error as { code?: string })?.code ?? '';
  const status = statusOf(error);
  const message = `${action}: ${name || code} ${(error as Error)?.message ?? String(error)}`.trim();
  if (status === 412 || name === 'PreconditionFailed') return new PreconditionFailedError(message, { cause: error });
  if (status === 409 && name === 'ConditionalRequestConflict') return new PreconditionFailedError(message, { cause: error });
  if ((status !== undefined && (status >= 500 || status === 429)) || RETRYABLE_CODES.has(name) || RETRYABLE_CODES.has(code)) {
    return new StoreUnavailableError(message, { cause: error });
  }
  if (status === undefined && !(error instanceof S3ServiceException)) {
    // No HTTP answer at all: a network failure the SDK gave up retrying.
    return new StoreUnavailableError(message, { cause: error });
  }
  return new StoreError(message, { cause: error });
}

export class S3Store implements ObjectStore {
  readonly location: LakeLocation & { kind: 's3' };
  readonly client: S3Client;

  constructor(location: LakeLocation, options: { region?: string; endpoint?: string; client?: S3Client }) {
    if (location.kind !== 's3') throw new StoreError(`S3Store needs an s3:// lake, got ${location.uri}`);
    this.location = location;
    this.client =
      options.client ??
      new S3Client({
        region: options.region ?? 'us-east-1',
        endpoint: options.endpoint,
        forcePathStyle: options.endpoint !== undefined,
        maxAttempts: 5,
        requestHandler: awsRequestHandler(),
      });
  }

  private fullKey(key: string): string {
    return this.location.prefix ? `${this.location.prefix}/${key}` : key;
  }

  private async send<T>(action: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw classifyS3Error(error, action);
    }
  }

  /**
   * True when `error`, the failure of `action` on `key`, means that `key` does not exist: a 404, or
   * a 403 refusal (see the module comment) that a listing with the key as prefix confirms. When the
   * listing shows the key, the refusal is real: throws a `StoreAccessDeniedError` naming the key and
   * the `permission` to grant. False for any other failure, which the caller classifies.
   */
  private async isMissingKey(error: unknown, key: string, action: string, permission: string): Promise<boolean> {
    if (MISSING_KEY.has((error as { name?: string }).name ?? '')) return true;
    if (!isPolicyRefusal(error)) return false;
    const full = this.fullKey(key);
    const where = `s3://${this.location.bucket}/${full}`;
    let listed: string | undefined;
    try {
      // The key itself sorts first among the keys it prefixes: one is enough.
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.location.bucket, Prefix: full, MaxKeys: 1 }));
      listed = page.Contents?.[0]?.Key;
    } catch (listing) {
      if (!isPolicyRefusal(listing)) throw classifyS3Error(listing, `ListObjectsV2 ${key} (after ${action} was refused)`);
      throw new StoreAccessDeniedError(
        key,
        's3:ListBucket',
        `${action}: access denied to ${where}, and so was the listing that tells a missing key from a refused one: ` +
          `grant s3:ListBucket on arn:aws:s3:::${this.location.bucket} for the prefix ${full} (and ${permission}, should the key exist)`,
        { cause: listing },
      );
    }
    if (listed !== full) return true;
    throw new StoreAccessDeniedError(key, permission, `${action}: access denied to ${where}, which exists: grant ${permission}`, { cause: error });
  }

  async putObject(key: string, body: Uint8Array | string, options: PutOptions = {}): Promise<{ etag: string | undefined }> {
    const out = await this.send(`PutObject ${key}`, () =>
      this.client.send(
        new PutObjectCommand({
          Bucket: this.location.bucket,
          Key: this.fullKey(key),
          Body: body,
          ContentType: options.contentType,
          IfNoneMatch: options.ifNoneMatch ? '*' : undefined,
          IfMatch: options.ifMatch,
        }),
      ),
    );
    return { etag: out.ETag };
  }

  async upload(key: string, body: Readable | AsyncIterable<Uint8Array>, contentType: string): Promise<{ bytes: number }> {
    let bytes = 0;
    const counted = (body instanceof Readable ? body : Readable.from(body)).map((chunk: Uint8Array) => {
      bytes += chunk.byteLength;
      return chunk;
    });
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.location.bucket, Key: this.fullKey(key), Body: counted, ContentType: contentType },
      partSize: 8 * 1024 * 1024,
      queueSize: 2,
      leavePartsOnError: false,
    });
    await this.send(`Upload ${key}`, () => upload.done());
    return { bytes };
  }

  async getObject(key: string): Promise<{ body: Uint8Array; etag: string | undefined } | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.location.bucket, Key: this.fullKey(key) }));
      return { body: await out.Body!.transformToByteArray(), etag: out.ETag };
    } catch (error) {
      if (await this.isMissingKey(error, key, `GetObject ${key}`, 's3:GetObject')) return undefined;
      throw classifyS3Error(error, `GetObject ${key}`);
    }
  }

  async readStream(key: string): Promise<AsyncIterable<Uint8Array>> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.location.bucket, Key: this.fullKey(key) }));
      return out.Body as Readable;
    } catch (error) {
      if (await this.isMissingKey(error, key, `GetObject ${key}`, 's3:GetObject')) {
        throw new StagingError(`${key} does not exist in ${this.location.uri}`, { cause: error });
      }
      throw classifyS3Error(error, `GetObject ${key}`);
    }
  }

  async readRange(key: string, start: number, end: number): Promise<Uint8Array> {
    const action = `GetObject ${key} bytes ${start}-${end - 1}`;
    let out: GetObjectCommandOutput;
    try {
      out = await this.client.send(new GetObjectCommand({ Bucket: this.location.bucket, Key: this.fullKey(key), Range: `bytes=${start}-${end - 1}` }));
    } catch (error) {
      if (await this.isMissingKey(error, key, action, 's3:GetObject')) {
        throw new StoreError(`${action}: ${key} does not exist in ${this.location.uri}`, { cause: error });
      }
      throw classifyS3Error(error, action);
    }
    return out.Body!.transformToByteArray();
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.location.bucket, Key: this.fullKey(key) }));
      return { key, size: out.ContentLength ?? 0, etag: out.ETag };
    } catch (error) {
      if (await this.isMissingKey(error, key, `HeadObject ${key}`, 's3:GetObject')) return undefined;
      throw classifyS3Error(error, `HeadObject ${key}`);
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    const strip = this.location.prefix ? this.location.prefix.length + 1 : 0;
    let token: string | undefined;
    do {
      const page = await this.send(`ListObjectsV2 ${prefix}`, () =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.location.bucket, Prefix: this.fullKey(prefix), ContinuationToken: token })),
      );
      for (const item of page.Contents ?? []) {
        out.push({ key: item.Key!.slice(strip), size: item.Size ?? 0, etag: item.ETag });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  async promote(from: string, to: string): Promise<void> {
    const source = `${this.location.bucket}/${this.fullKey(from)}`.split('/').map(encodeURIComponent).join('/');
    try {
      await this.client.send(new CopyObjectCommand({ Bucket: this.location.bucket, Key: this.fullKey(to), CopySource: source }));
    } catch (error) {
      const action = `CopyObject ${from} -> ${to}`;
      if (!(await this.isMissingKey(error, from, action, `s3:GetObject on ${from} and s3:PutObject on ${to}`))) throw classifyS3Error(error, action);
      if (await this.head(to)) return;
      throw new StagingError(`${from} does not exist in ${this.location.uri}, nor ${to}`, { cause: error });
    }
  }

  async deleteObjects(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const chunk = keys.slice(i, i + 1000);
      const out = await this.send(`DeleteObjects (${chunk.length})`, () =>
        this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.location.bucket,
            Delete: { Objects: chunk.map((key) => ({ Key: this.fullKey(key) })), Quiet: true },
          }),
        ),
      );
      if (out.Errors && out.Errors.length > 0) {
        const first = out.Errors[0];
        const message = `DeleteObjects ${first.Key}: ${first.Code} ${first.Message ?? ''} (${out.Errors.length} key(s) refused)`.trim();
        throw RETRYABLE_CODES.has(first.Code ?? '') ? new StoreUnavailableError(message) : new StoreError(message);
      }
    }
  }
}
