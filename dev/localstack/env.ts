/**
 * The one place the LocalStack flow's defaults live: where LocalStack answers and as whom (account,
 * region, credentials), the compose file, and how this machine and the Lambdas inside LocalStack
 * reach the compose stack's Postgres. `deploy.ts`, `etl remote --localstack` and the tests read
 * them from here; a test checks `docker-compose.yml` against them.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AwsClientSettings } from '../../cli/remote-execution.js';
import { ConfigError } from '../../src/core/errors.js';

/** Repository root: the working directory of the commands `deploy.ts` runs. */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The compose file of `npm run local:up` / `local:down`, relative to the repository root. */
export const COMPOSE_FILE = 'dev/localstack/docker-compose.yml';

/** Name of the stack `cdklocal deploy` creates (the app's default `stackName`, checked by a test). */
export const STACK_NAME = 'PgLakeEtl';

/**
 * LocalStack's defaults: the edge endpoint published by the compose file, and the account, region
 * and credentials `cdklocal` uses (credentials `test` map to account 000000000000).
 */
export const LOCALSTACK = {
  endpoint: 'http://localhost:4566',
  account: '000000000000',
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
} as const;

/** Oldest LocalStack with the nodejs24.x Lambda runtime the functions use. */
export const MIN_LOCALSTACK_VERSION = '4.11.0';

/** The compose stack's Postgres. */
export const LOCAL_POSTGRES = {
  user: 'etl',
  /** Reachable from this machine only (the port is bound to 127.0.0.1). */
  password: 'etl-local-only',
  database: 'rentals',
  /** Service name and port on the compose network, which LocalStack runs the Lambdas in (`LAMBDA_DOCKER_NETWORK`). */
  serviceHost: 'postgres',
  servicePort: 5432,
  /** Port published on 127.0.0.1 for seeding from this machine. */
  hostPort: 5433,
} as const;

/** Secrets Manager secret (in LocalStack) the extract function reads the database from. */
export const DATABASE_SECRET_NAME = 'pg-lake-etl/local/database';

type Env = Record<string, string | undefined>;

/** LocalStack's endpoint: `AWS_ENDPOINT_URL` when set, else `http://localhost:4566`. */
export function localstackEndpoint(env: Env = process.env): string {
  const value = env.AWS_ENDPOINT_URL?.trim();
  if (!value) return LOCALSTACK.endpoint;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError('AWS_ENDPOINT_URL', 'the URL of LocalStack, e.g. http://localhost:4566', value);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError('AWS_ENDPOINT_URL', 'an http:// or https:// URL', value);
  return value.replace(/\/+$/, '');
}

/**
 * The S3 endpoint `cdklocal` uploads assets through: `AWS_ENDPOINT_URL_S3` when set, else
 * `s3.localhost.localstack.cloud` on LocalStack's port (cdklocal's own default). cdklocal refuses
 * AWS_ENDPOINT_URL without it, and LocalStack tells S3 requests apart by the `s3` label of the host
 * (`<bucket>.s3.localhost.localstack.cloud`); `*.localhost.localstack.cloud` resolves to 127.0.0.1
 * through public DNS.
 */
export function localstackS3Endpoint(env: Env = process.env): string {
  const value = env.AWS_ENDPOINT_URL_S3?.trim();
  if (value) return value;
  const edge = new URL(localstackEndpoint(env));
  return `${edge.protocol}//s3.localhost.localstack.cloud:${edge.port || (edge.protocol === 'https:' ? '443' : '80')}`;
}

/** Client settings for LocalStack: its endpoint, region us-east-1 and the `test` credentials, whatever AWS profile is active. */
export function localstackClientSettings(env: Env = process.env): AwsClientSettings {
  return { endpoint: localstackEndpoint(env), region: LOCALSTACK.region, credentials: { ...LOCALSTACK.credentials } };
}

/** `DATABASE_URL` of the compose Postgres as seen from this machine (seeding). */
export function seedDatabaseUrl(): string {
  const pg = LOCAL_POSTGRES;
  return `postgres://${pg.user}:${pg.password}@127.0.0.1:${pg.hostPort}/${pg.database}`;
}

/** The RDS-style secret the extract function reads: the compose Postgres as seen from a Lambda container. */
export function lambdaDatabaseSecret(): { username: string; password: string; host: string; port: number; dbname: string } {
  const pg = LOCAL_POSTGRES;
  return { username: pg.user, password: pg.password, host: pg.serviceHost, port: pg.servicePort, dbname: pg.database };
}

/** Whether a LocalStack version such as `4.14.0` or `4.14.1.dev12` is at least `min` (`major.minor.patch`). */
export function versionAtLeast(version: string, min: string): boolean {
  const parts = (v: string) => {
    const match = /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(v.trim());
    if (!match) throw new ConfigError('LocalStack version', 'major.minor[.patch]', v);
    return [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)];
  };
  const [a, b] = [parts(version), parts(min)];
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] > b[i];
  return true;
}
