/**
 * The lake as a command opens it. An S3 lake is tried first with one request, no retries and short
 * timeouts, so that missing AWS credentials, an unreachable endpoint, a wrong region or a missing
 * bucket are configuration errors (exit 2) found in a few seconds, instead of the pipeline's
 * retries giving up after most of a minute. Only the CLI pays for this request: the Lambdas open
 * their store directly (`src/lake/open.ts`).
 */
import type { LakeSettings } from '../src/core/config.js';
import { ConfigError } from '../src/core/errors.js';
import { openStore } from '../src/lake/open.js';
import type { ObjectStore } from '../src/lake/store.js';

type Settings = Pick<LakeSettings, 'lake' | 'region' | 'endpoint'>;

/** How long the check waits for credentials, and for the endpoint to answer. */
export const LAKE_CHECK_TIMEOUT_MS = 3_000;

/** Where the SDK finds credentials: what to set when there are none. */
const CREDENTIALS_FIX =
  'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile (AWS_PROFILE; `aws configure` or `aws sso login`), or an instance or task role';

/** Error names S3 answers with when the credentials are wrong or may not list the bucket. */
const CREDENTIAL_ERRORS = new Set([
  'AccessDenied',
  'Forbidden',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'InvalidClientTokenId',
]);

async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms / 1000} s`)), ms);
    timer.unref();
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Checks that an S3 lake can be reached: credentials resolve, and one ListObjectsV2 (max-keys 1) of
 * the lake's prefix answers. Throws a `ConfigError` naming what is missing and how to fix it; lets
 * through what a retry may fix (a 5xx, throttling, 429), which the run's own retries handle.
 */
export async function checkLake(settings: Settings, timeoutMs = LAKE_CHECK_TIMEOUT_MS): Promise<void> {
  if (settings.lake.kind !== 's3') return;
  const { bucket, prefix, uri } = settings.lake;
  const { ListObjectsV2Command, S3Client, S3ServiceException } = await import('@aws-sdk/client-s3');
  const region = settings.region ?? 'us-east-1';
  const endpoint = settings.endpoint ?? `https://s3.${region}.amazonaws.com`;
  const client = new S3Client({
    region,
    endpoint: settings.endpoint,
    forcePathStyle: settings.endpoint !== undefined,
    maxAttempts: 1,
    requestHandler: { connectionTimeout: timeoutMs, requestTimeout: timeoutMs },
  });
  try {
    try {
      await withTimeout(client.config.credentials(), timeoutMs, 'looking for credentials');
    } catch (error) {
      throw new ConfigError('AWS credentials', CREDENTIALS_FIX, `none found for ${uri}: ${(error as Error).message}`);
    }
    try {
      await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix ? `${prefix}/` : undefined, MaxKeys: 1 }), {
        abortSignal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const name = (error as { name?: string }).name ?? '';
      const code = (error as { code?: string }).code ?? '';
      const status = error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined;
      const detail = `${name && name !== 'Error' ? name : code}: ${(error as Error).message}`;
      if (status === undefined && !(error instanceof S3ServiceException)) {
        throw new ConfigError(
          'S3 endpoint',
          `an S3 endpoint answering within ${timeoutMs / 1000} s (check the network, or start your S3-compatible server and set AWS_ENDPOINT_URL to it)`,
          `${endpoint}: ${detail}`,
        );
      }
      if (name === 'NoSuchBucket') throw new ConfigError('LAKE_URI', 'an existing bucket (create it, or correct the name)', `${uri}: ${detail}`);
      if (name === 'PermanentRedirect' || name === 'AuthorizationHeaderMalformed' || status === 301) {
        throw new ConfigError('AWS_REGION', `the region of bucket ${bucket}`, `${region}: ${detail}`);
      }
      if (status === 403 || CREDENTIAL_ERRORS.has(name)) {
        throw new ConfigError('AWS credentials', `credentials allowed to list, read and write ${uri}: ${CREDENTIALS_FIX}`, detail);
      }
      // Any other refusal (a 404 without NoSuchBucket, say) is an endpoint that is not the S3 it should be.
      if (status !== undefined && status >= 400 && status < 500 && status !== 429) {
        throw new ConfigError('S3 endpoint', `an S3 endpoint that lists ${uri} (check AWS_ENDPOINT_URL and LAKE_URI)`, `${endpoint}: HTTP ${status} ${detail}`);
      }
    }
  } finally {
    client.destroy();
  }
}

/**
 * Checks that a directory lake can be written before a command writes it: creates the folder and
 * its `.tmp/` (a run would at once) and writes and removes one file there, so that a read-only
 * folder, a read-only file system or a path through a file is one `ConfigError` naming the folder
 * (exit 2) before anything runs, not a failed execution. An S3 lake is `checkLake`'s.
 */
export async function checkWritableLake(settings: Pick<LakeSettings, 'lake'>): Promise<void> {
  if (settings.lake.kind !== 'fs') return;
  const { root } = settings.lake;
  const { mkdir, rm, writeFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const probe = join(root, '.tmp', `.writable-${process.pid}`);
  try {
    await mkdir(join(root, '.tmp'), { recursive: true });
    await writeFile(probe, '');
    await rm(probe, { force: true });
  } catch (error) {
    const { code, path } = error as NodeJS.ErrnoException;
    const why =
      code === 'ENOTDIR' || code === 'EEXIST'
        ? 'a file is in the way'
        : code === 'EROFS'
          ? 'a read-only file system'
          : code === 'EACCES' || code === 'EPERM'
            ? 'not permitted'
            : code;
    throw new ConfigError(
      'LAKE_URI',
      'a folder this user can write (or create), or set LAKE_URI to one',
      `${root}: cannot write${path && path !== probe ? ` ${path}` : ''} (${why})`,
    );
  }
}

/** Opens the lake `LAKE_URI` names, after `checkLake`. */
export async function openLake(settings: Settings): Promise<ObjectStore> {
  await checkLake(settings);
  return openStore(settings);
}
