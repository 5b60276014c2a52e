/**
 * Configuration from the environment, parsed and checked once at start-up. Every getter throws a
 * `ConfigError` naming the variable and the expected form; nothing downstream sees `undefined`.
 */
import { resolve } from 'node:path';
import { ConfigError } from './errors.js';
import { parseTimeZone } from './day.js';

export type LakeLocation =
  | { readonly kind: 's3'; readonly bucket: string; readonly prefix: string; readonly uri: string }
  | { readonly kind: 'fs'; readonly root: string; readonly uri: string };

/** Limits the validate stage enforces; a rate is a fraction of the day's rows (0.01 = 1%). */
export interface QualityThresholds {
  /** Rows whose rent_cost had to be nulled and quarantined. */
  readonly maxQuarantineRate: number;
  /** NULLs in any one nullable column. */
  readonly maxNullRate: number;
  /** Rows with rent_end before rent_start. */
  readonly maxNegativeDurationRate: number;
  /** Rows with a negative rent_cost. */
  readonly maxNegativeCostRate: number;
  /** Rows sharing a rental_id with another row of the day. */
  readonly maxDuplicateIds: number;
  /** Relative change of the row count against the previous published day; undefined = warn only. */
  readonly maxDayOverDayChange: number | undefined;
}

export interface LakeSettings {
  readonly lake: LakeLocation;
  readonly region: string | undefined;
  readonly endpoint: string | undefined;
  readonly timeZone: string;
  /** Rows per Arrow batch while streaming. */
  readonly batchRows: number;
  /** Most rows in one Parquet file; a bigger day is split into several files. */
  readonly rowsPerFile: number;
  /** Most rows in one Parquet row group. */
  readonly rowGroupRows: number;
  /** Most rentals one extract or transform-write invocation takes on; a bigger day is cut into hour ranges. */
  readonly maxRowsPerRange: number;
  readonly thresholds: QualityThresholds;
  /** How long a run's partition lock lasts before another run may take it over. */
  readonly lockTtlMs: number;
}

export interface Config extends LakeSettings {
  /** Postgres connection string; required only by the stages that read the source. */
  readonly databaseUrl: string | undefined;
}

type Env = Record<string, string | undefined>;

/** Every variable the configuration reads, for the README's table (a test keeps them in step). */
export const CONFIG_REFERENCE: ReadonlyArray<{ name: string; fallback: string; meaning: string }> = [
  { name: 'DATABASE_URL', fallback: 'embedded Postgres (`npm start` only)', meaning: 'Source Postgres, `postgres://user:pass@host:port/db`; `?sslmode=require` for TLS' },
  { name: 'DATABASE_SECRET_ARN', fallback: 'unset', meaning: 'In AWS: Secrets Manager secret `{ username, password, host, port, dbname }` used when `DATABASE_URL` is unset (read once per container)' },
  { name: 'DATABASE_SSLMODE', fallback: '`require`', meaning: 'TLS mode added to the connection built from `DATABASE_SECRET_ARN` (`disable`, `require`, `verify-full`)' },
  { name: 'LAKE_URI', fallback: '`./lake` (CLI); required in Lambda', meaning: '`s3://bucket/prefix` or a directory' },
  { name: 'AWS_REGION', fallback: '`AWS_DEFAULT_REGION`, else `us-east-1`', meaning: 'Region of the lake bucket' },
  { name: 'AWS_DEFAULT_REGION', fallback: '-', meaning: 'Used when `AWS_REGION` is unset' },
  { name: 'AWS_ENDPOINT_URL', fallback: 'AWS', meaning: 'S3-compatible endpoint (LocalStack, MinIO, moto); turns on path-style addressing' },
  { name: 'AWS_ENDPOINT_URL_S3', fallback: '`AWS_ENDPOINT_URL`', meaning: 'The S3 endpoint only; wins over `AWS_ENDPOINT_URL`' },
  { name: 'PARTITION_TIMEZONE', fallback: '`UTC`', meaning: 'IANA zone whose local days are the partitions' },
  { name: 'QUALITY_MAX_QUARANTINE_RATE', fallback: '`0.05`', meaning: 'Most rows per day whose rent_cost was quarantined' },
  { name: 'QUALITY_MAX_NULL_RATE', fallback: '`0.1`', meaning: 'Most NULLs in any nullable column' },
  { name: 'QUALITY_MAX_NEGATIVE_DURATION_RATE', fallback: '`0.01`', meaning: 'Most rows with rent_end before rent_start' },
  { name: 'QUALITY_MAX_NEGATIVE_COST_RATE', fallback: '`0.01`', meaning: 'Most rows with a negative rent_cost' },
  { name: 'QUALITY_MAX_DUPLICATE_IDS', fallback: '`0`', meaning: 'Most rows repeating a rental_id' },
  { name: 'QUALITY_MAX_DAY_OVER_DAY_CHANGE', fallback: 'unset: warn above 0.5', meaning: 'Largest relative change of the row count against the previous day; set it to fail instead of warn' },
  { name: 'PARTITION_LOCK_TTL_SECONDS', fallback: '`3600`', meaning: 'How long a run holds a day before another run may take it over (a crashed run cannot block a day longer)' },
  { name: 'BATCH_ROWS', fallback: '`32768`', meaning: 'Rows per Arrow batch while streaming (memory per stage grows with it)' },
  { name: 'ROW_GROUP_ROWS', fallback: '`131072`', meaning: 'Rows per Parquet row group' },
  { name: 'ROWS_PER_FILE', fallback: '`4194304`', meaning: 'Most rows per Parquet file; a bigger day is split' },
  { name: 'RANGE_MAX_ROWS', fallback: '`20000000`', meaning: 'Most rentals one extract or transform-write invocation takes on; a bigger day is cut at hour boundaries into ranges run in parallel and published as one partition (an hour is never cut)' },
];

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Parses `s3://bucket/prefix`, `file:///path` or a filesystem path. */
export function parseLakeUri(value: string, field = 'LAKE_URI'): LakeLocation {
  const expected = 's3://bucket[/prefix] or a directory path';
  const trimmed = value.trim();
  if (trimmed === '') throw new ConfigError(field, expected, value);
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(trimmed)?.[1]?.toLowerCase();
  if (scheme === 's3') {
    const rest = trimmed.slice('s3://'.length);
    const [bucket, ...segments] = rest.split('/');
    if (!BUCKET.test(bucket) || bucket.includes('..')) {
      throw new ConfigError(field, 's3://bucket[/prefix] with a valid bucket name (3-63 of a-z 0-9 . -)', value);
    }
    if (segments.at(-1) === '') segments.pop();
    if (segments.some((s) => s === '' || s === '.' || s === '..')) {
      throw new ConfigError(field, 's3://bucket/prefix with no empty, "." or ".." segments', value);
    }
    const prefix = segments.join('/');
    return { kind: 's3', bucket, prefix, uri: `s3://${bucket}${prefix ? `/${prefix}` : ''}` };
  }
  if (scheme !== undefined && scheme !== 'file') throw new ConfigError(field, expected, value);
  let path = trimmed;
  if (scheme === 'file') {
    const url = new URL(trimmed);
    if (url.hostname !== '' && url.hostname !== 'localhost') throw new ConfigError(field, 'file:///absolute/path (three slashes)', value);
    path = decodeURIComponent(url.pathname);
  }
  const root = resolve(path);
  return { kind: 'fs', root, uri: root };
}

function readNumber(env: Env, name: string, fallback: number, min: number, max: number, integer: boolean): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  const form = `${integer ? 'an integer' : 'a number'} from ${min} to ${max}`;
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new ConfigError(name, form, raw);
  }
  return value;
}

function readRate(env: Env, name: string, fallback: number): number {
  return readNumber(env, name, fallback, 0, 1, false);
}

/** Default limits: a real day made by the generator at its default anomaly rates passes them. */
export const DEFAULT_THRESHOLDS: QualityThresholds = {
  maxQuarantineRate: 0.05,
  maxNullRate: 0.1,
  maxNegativeDurationRate: 0.01,
  maxNegativeCostRate: 0.01,
  maxDuplicateIds: 0,
  maxDayOverDayChange: undefined,
};

/** Reads the quality thresholds (`QUALITY_*`). */
export function loadThresholds(env: Env): QualityThresholds {
  const change = env.QUALITY_MAX_DAY_OVER_DAY_CHANGE;
  return {
    maxQuarantineRate: readRate(env, 'QUALITY_MAX_QUARANTINE_RATE', DEFAULT_THRESHOLDS.maxQuarantineRate),
    maxNullRate: readRate(env, 'QUALITY_MAX_NULL_RATE', DEFAULT_THRESHOLDS.maxNullRate),
    maxNegativeDurationRate: readRate(env, 'QUALITY_MAX_NEGATIVE_DURATION_RATE', DEFAULT_THRESHOLDS.maxNegativeDurationRate),
    maxNegativeCostRate: readRate(env, 'QUALITY_MAX_NEGATIVE_COST_RATE', DEFAULT_THRESHOLDS.maxNegativeCostRate),
    maxDuplicateIds: readNumber(env, 'QUALITY_MAX_DUPLICATE_IDS', DEFAULT_THRESHOLDS.maxDuplicateIds, 0, Number.MAX_SAFE_INTEGER, true),
    maxDayOverDayChange:
      change === undefined || change.trim() === ''
        ? undefined
        : readNumber(env, 'QUALITY_MAX_DAY_OVER_DAY_CHANGE', 0, 0, 1000, false),
  };
}

/** Checks a Postgres connection string without connecting. */
export function parseDatabaseUrl(value: string, field = 'DATABASE_URL'): string {
  const expected = 'postgres://user:password@host:port/database';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(field, expected, '(unparsable)');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw new ConfigError(field, expected, url.protocol);
  return value;
}

/** Reads and checks the whole configuration. `defaults` fill variables the caller may leave unset. */
export function loadConfig(env: Env = process.env, defaults: { lakeUri?: string } = {}): Config {
  const lakeUri = env.LAKE_URI ?? defaults.lakeUri;
  if (lakeUri === undefined) throw new ConfigError('LAKE_URI', 's3://bucket[/prefix] or a directory path', undefined);
  const endpointVariable = env.AWS_ENDPOINT_URL_S3 !== undefined ? 'AWS_ENDPOINT_URL_S3' : 'AWS_ENDPOINT_URL';
  const endpoint = env[endpointVariable];
  if (endpoint !== undefined && !/^https?:\/\/[^/]+/.test(endpoint)) {
    throw new ConfigError(endpointVariable, 'an http(s):// URL such as http://localhost:4566', endpoint);
  }
  const rowGroupRows = readNumber(env, 'ROW_GROUP_ROWS', 131_072, 1_024, 16_777_216, true);
  return {
    databaseUrl: env.DATABASE_URL === undefined ? undefined : parseDatabaseUrl(env.DATABASE_URL),
    lake: parseLakeUri(lakeUri),
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION,
    endpoint,
    timeZone: parseTimeZone(env.PARTITION_TIMEZONE ?? 'UTC'),
    batchRows: readNumber(env, 'BATCH_ROWS', 32_768, 1, 1_048_576, true),
    rowsPerFile: readNumber(env, 'ROWS_PER_FILE', Math.max(4_194_304, rowGroupRows), rowGroupRows, 1_000_000_000, true),
    rowGroupRows,
    maxRowsPerRange: readNumber(env, 'RANGE_MAX_ROWS', 20_000_000, 1, 1_000_000_000, true),
    thresholds: loadThresholds(env),
    lockTtlMs: readNumber(env, 'PARTITION_LOCK_TTL_SECONDS', 3_600, 60, 86_400, true) * 1000,
  };
}

/** The database URL, or a ConfigError when the stage needs it and it is unset. */
export function requireDatabaseUrl(config: Config): string {
  if (config.databaseUrl === undefined) throw new ConfigError('DATABASE_URL', 'postgres://user:password@host:port/database');
  return config.databaseUrl;
}
