/**
 * The lake the benchmark's runs write to (`--lake`): a local directory, or an S3 bucket on an
 * S3-compatible endpoint. For S3 that is `AWS_ENDPOINT_URL` (`AWS_ENDPOINT_URL_S3` wins, as in the
 * configuration) when set, else a moto server the benchmark starts on a free port and stops at the
 * end. Every measured run gets a fresh, empty lake: a directory, or a bucket of its own with
 * `LAKE_URI=s3://<bucket>/lake`.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { CreateBucketCommand, DeleteBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { parseLakeUri } from '../../src/core/config.js';
import { FsStore } from '../../src/lake/fs-store.js';
import { S3Store } from '../../src/lake/s3-store.js';
import type { ObjectStore } from '../../src/lake/store.js';
import { startMoto, type RunningMoto } from '../moto.js';

export const LAKE_KINDS = ['dir', 's3'] as const;

/** No S3 endpoint to bench against: none configured, and moto would not start. */
export class LakeUnavailableError extends Error {
  override readonly name = 'LakeUnavailableError';
}
export type LakeKind = (typeof LAKE_KINDS)[number];

export interface BenchLake {
  readonly kind: LakeKind;
  /** Where the lakes are, for the report: `local directory`, or `S3 at <endpoint> (...)`. */
  readonly description: string;
  /** What a process needs in its environment, besides `LAKE_URI`, to reach the lake: the S3 endpoint, region and credentials. */
  readonly env: Readonly<Record<string, string>>;
  /** A fresh, empty lake for one measured run; returns its `LAKE_URI`. A directory lake is `name` under `scratchDir`. */
  create(name: string, scratchDir: string): Promise<string>;
  /** The object store of a lake `create` returned, to read what a run published. */
  store(lakeUri: string): ObjectStore;
  /** Deletes the buckets made so far (a directory lake goes with its scratch directory). */
  clear(): Promise<void>;
  /** Clears, then stops what `openLake` started. */
  close(): Promise<void>;
}

/** Lakes in local directories. */
export function directoryLake(): BenchLake {
  return {
    kind: 'dir',
    description: 'local-directory lake',
    env: {},
    create: async (name, scratchDir) => join(scratchDir, name),
    store: (lakeUri) => new FsStore(parseLakeUri(lakeUri)),
    clear: async () => undefined,
    close: async () => undefined,
  };
}

/** An S3-compatible endpoint and what a client needs to talk to it. */
export interface S3Endpoint {
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** The endpoint of the environment's `AWS_*` variables, with moto's test values for what is unset; undefined without an endpoint. */
export function s3EndpointFromEnv(env: Record<string, string | undefined>): S3Endpoint | undefined {
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL;
  if (!endpoint) return undefined;
  return {
    endpoint,
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    accessKeyId: env.AWS_ACCESS_KEY_ID || 'test',
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY || 'test',
  };
}

/** Lakes in buckets of their own on `s3`, each created with CreateBucket; `stop` runs on close (the moto server). */
export function s3Lake(s3: S3Endpoint, description: string, stop: () => Promise<void> = async () => undefined): BenchLake {
  const client = new S3Client({
    region: s3.region,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  const buckets: string[] = [];
  const clear = async (): Promise<void> => {
    for (const bucket of buckets.splice(0)) {
      const root = new S3Store(parseLakeUri(`s3://${bucket}`), { client });
      await root.deleteObjects((await root.list('')).map((object) => object.key));
      await client.send(new DeleteBucketCommand({ Bucket: bucket }));
    }
  };
  return {
    kind: 's3',
    description,
    // Both endpoint variables: the configuration prefers AWS_ENDPOINT_URL_S3, which the bench's own environment may set.
    env: {
      AWS_ENDPOINT_URL: s3.endpoint,
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_REGION: s3.region,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    },
    async create(name) {
      const bucket = `bench-${name
        .toLowerCase()
        .replace(/[^a-z0-9-]/g, '-')
        .slice(0, 40)}-${randomBytes(4).toString('hex')}`;
      await client.send(new CreateBucketCommand({ Bucket: bucket }));
      buckets.push(bucket);
      return `s3://${bucket}/lake`;
    },
    store: (lakeUri) => new S3Store(parseLakeUri(lakeUri), { client }),
    clear,
    async close() {
      try {
        await clear();
      } finally {
        client.destroy();
        await stop();
      }
    },
  };
}

/** Starts moto; throws, saying what to install or set, when it does not come up. */
async function startBenchMoto(): Promise<RunningMoto> {
  const moto = await startMoto();
  if ('failure' in moto) {
    throw new LakeUnavailableError(
      `--lake s3: no AWS_ENDPOINT_URL set, and ${moto.failure}. Install moto (pip install 'moto[server]') or set AWS_ENDPOINT_URL to an S3-compatible endpoint.`,
    );
  }
  return moto;
}

/** The lake of `--lake kind`: directories, or buckets on the environment's S3 endpoint or on a moto server started here. */
export async function openLake(kind: LakeKind, env: Record<string, string | undefined>, log: (line: string) => void): Promise<BenchLake> {
  if (kind === 'dir') return directoryLake();
  const configured = s3EndpointFromEnv(env);
  if (configured) return s3Lake(configured, `S3 lake at ${configured.endpoint} (AWS_ENDPOINT_URL)`);
  log('starting python3 -m moto.server for the S3 lake (set AWS_ENDPOINT_URL to use your own endpoint)');
  const moto = await startBenchMoto();
  const s3 = s3EndpointFromEnv({ AWS_ENDPOINT_URL: moto.endpoint });
  if (!s3) throw new Error('unreachable: moto endpoint');
  return s3Lake(s3, `S3 lake at ${moto.endpoint} (moto started by the bench, on the same cores)`, moto.stop);
}
