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

export type ConfigKey = keyof Config;

/**
 * Every default, once. Config loading, the README's configuration table, the stack's defaults and
 * its synthesized environment read them from here.
 */
export const DEFAULTS = {
  databaseSslMode: 'require',
  timeZone: 'UTC',
  batchRows: 32_768,
  rowGroupRows: 131_072,
  /** At least ROW_GROUP_ROWS. */
  rowsPerFile: 4_194_304,
  maxRowsPerRange: 20_000_000,
  lockTtlSeconds: 3_600,
  /** Limits a real day made by the generator at its default anomaly rates passes. */
  thresholds: {
    maxQuarantineRate: 0.05,
    maxNullRate: 0.1,
    maxNegativeDurationRate: 0.01,
    maxNegativeCostRate: 0.01,
    maxDuplicateIds: 0,
    maxDayOverDayChange: undefined,
  } satisfies QualityThresholds,
  /** Day-over-day change above which a warning is reported while QUALITY_MAX_DAY_OVER_DAY_CHANGE is unset. */
  dayOverDayWarnAbove: 0.5,
} as const;

/** The default quality limits (`DEFAULTS.thresholds`). */
export const DEFAULT_THRESHOLDS: QualityThresholds = DEFAULTS.thresholds;

const code = (value: string | number) => `\`${value}\``;

/** One environment variable: the configuration field it sets, its README line, and the stack prop that sets it. */
export interface Variable {
  readonly name: string;
  readonly field: ConfigKey;
  /** What applies when it is unset, as the README says it. */
  readonly fallback: string;
  readonly meaning: string;
  /** The stack prop (CDK context key, dotted for `quality` and `tuning`) whose value the stack sets it to. */
  readonly prop?: string;
}

/** Every variable the configuration reads, in the README's order. */
export const VARIABLES: readonly Variable[] = [
  {
    name: 'DATABASE_URL',
    field: 'databaseUrl',
    fallback: 'embedded Postgres (`npm start` only)',
    meaning: 'Source Postgres, `postgres://user:pass@host:port/db`; `?sslmode=require` for TLS',
  },
  {
    name: 'DATABASE_SECRET_ARN',
    field: 'databaseUrl',
    fallback: 'unset',
    meaning: 'In AWS: Secrets Manager secret `{ username, password, host, port, dbname }` used when `DATABASE_URL` is unset (read once per container)',
  },
  {
    name: 'DATABASE_SSLMODE',
    field: 'databaseUrl',
    fallback: code(DEFAULTS.databaseSslMode),
    meaning: 'TLS mode added to the connection built from `DATABASE_SECRET_ARN` (`disable`, `require`, `verify-full`)',
    prop: 'databaseSslMode',
  },
  { name: 'LAKE_URI', field: 'lake', fallback: '`./lake` (CLI); required in Lambda', meaning: '`s3://bucket/prefix` or a directory' },
  { name: 'AWS_REGION', field: 'region', fallback: '`AWS_DEFAULT_REGION`, else `us-east-1`', meaning: 'Region of the lake bucket' },
  { name: 'AWS_DEFAULT_REGION', field: 'region', fallback: '-', meaning: 'Used when `AWS_REGION` is unset' },
  { name: 'AWS_ENDPOINT_URL', field: 'endpoint', fallback: 'AWS', meaning: 'S3-compatible endpoint (LocalStack, MinIO, moto); turns on path-style addressing' },
  { name: 'AWS_ENDPOINT_URL_S3', field: 'endpoint', fallback: '`AWS_ENDPOINT_URL`', meaning: 'The S3 endpoint only; wins over `AWS_ENDPOINT_URL`' },
  {
    name: 'PARTITION_TIMEZONE',
    field: 'timeZone',
    fallback: code(DEFAULTS.timeZone),
    meaning: 'IANA zone whose local days are the partitions',
    prop: 'partitionTimeZone',
  },
  {
    name: 'QUALITY_MAX_QUARANTINE_RATE',
    field: 'thresholds',
    fallback: code(DEFAULTS.thresholds.maxQuarantineRate),
    meaning: 'Most rows per day whose rent_cost was quarantined',
    prop: 'quality.maxQuarantineRate',
  },
  {
    name: 'QUALITY_MAX_NULL_RATE',
    field: 'thresholds',
    fallback: code(DEFAULTS.thresholds.maxNullRate),
    meaning: 'Most NULLs in any nullable column',
    prop: 'quality.maxNullRate',
  },
  {
    name: 'QUALITY_MAX_NEGATIVE_DURATION_RATE',
    field: 'thresholds',
    fallback: code(DEFAULTS.thresholds.maxNegativeDurationRate),
    meaning: 'Most rows with rent_end before rent_start',
    prop: 'quality.maxNegativeDurationRate',
  },
  {
    name: 'QUALITY_MAX_NEGATIVE_COST_RATE',
    field: 'thresholds',
    fallback: code(DEFAULTS.thresholds.maxNegativeCostRate),
    meaning: 'Most rows with a negative rent_cost',
    prop: 'quality.maxNegativeCostRate',
  },
  {
    name: 'QUALITY_MAX_DUPLICATE_IDS',
    field: 'thresholds',
    fallback: code(DEFAULTS.thresholds.maxDuplicateIds),
    meaning: 'Most rows repeating a rental_id',
    prop: 'quality.maxDuplicateIds',
  },
  {
    name: 'QUALITY_MAX_DAY_OVER_DAY_CHANGE',
    field: 'thresholds',
    fallback: `unset: warn above ${DEFAULTS.dayOverDayWarnAbove}`,
    meaning: 'Largest relative change of the row count against the previous day; set it to fail instead of warn',
    prop: 'quality.maxDayOverDayChange',
  },
  {
    name: 'PARTITION_LOCK_TTL_SECONDS',
    field: 'lockTtlMs',
    fallback: code(DEFAULTS.lockTtlSeconds),
    meaning: 'How long a run holds a day before another run may take it over (a crashed run cannot block a day longer)',
    prop: 'tuning.lockTtlSeconds',
  },
  {
    name: 'BATCH_ROWS',
    field: 'batchRows',
    fallback: code(DEFAULTS.batchRows),
    meaning: 'Rows per Arrow batch while streaming (memory per stage grows with it)',
    prop: 'tuning.batchRows',
  },
  { name: 'ROW_GROUP_ROWS', field: 'rowGroupRows', fallback: code(DEFAULTS.rowGroupRows), meaning: 'Rows per Parquet row group', prop: 'tuning.rowGroupRows' },
  {
    name: 'ROWS_PER_FILE',
    field: 'rowsPerFile',
    fallback: code(DEFAULTS.rowsPerFile),
    meaning: 'Most rows per Parquet file; a bigger day is split',
    prop: 'tuning.rowsPerFile',
  },
  {
    name: 'RANGE_MAX_ROWS',
    field: 'maxRowsPerRange',
    fallback: code(DEFAULTS.maxRowsPerRange),
    meaning:
      'Most rentals one extract or transform-write invocation takes on; a bigger day is cut at hour boundaries into ranges run in parallel and published as one partition (an hour is never cut)',
    prop: 'tuning.maxRowsPerRange',
  },
];

/** The README's configuration table, made from `VARIABLES`. */
export function configurationMarkdown(): string {
  return ['| variable | default | meaning |', '|---|---|---|', ...VARIABLES.map((v) => `| \`${v.name}\` | ${v.fallback} | ${v.meaning} |`)].join('\n');
}

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
  // A URL typo is refused, not written to as a local folder: `s3:/bucket`, `s3//bucket`, `::://x`.
  if (scheme === undefined && (/^[a-zA-Z][a-zA-Z0-9+.-]+:/.test(trimmed) || trimmed.includes('://') || /^s3\/\//i.test(trimmed))) {
    throw new ConfigError(field, `${expected} (this looks like a mistyped URL)`, value);
  }
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

/** Reads the quality thresholds (`QUALITY_*`). */
export function loadThresholds(env: Env): QualityThresholds {
  const change = env.QUALITY_MAX_DAY_OVER_DAY_CHANGE;
  const d = DEFAULTS.thresholds;
  return {
    maxQuarantineRate: readRate(env, 'QUALITY_MAX_QUARANTINE_RATE', d.maxQuarantineRate),
    maxNullRate: readRate(env, 'QUALITY_MAX_NULL_RATE', d.maxNullRate),
    maxNegativeDurationRate: readRate(env, 'QUALITY_MAX_NEGATIVE_DURATION_RATE', d.maxNegativeDurationRate),
    maxNegativeCostRate: readRate(env, 'QUALITY_MAX_NEGATIVE_COST_RATE', d.maxNegativeCostRate),
    maxDuplicateIds: readNumber(env, 'QUALITY_MAX_DUPLICATE_IDS', d.maxDuplicateIds, 0, Number.MAX_SAFE_INTEGER, true),
    maxDayOverDayChange: change === undefined || change.trim() === '' ? undefined : readNumber(env, 'QUALITY_MAX_DAY_OVER_DAY_CHANGE', 0, 0, 1000, false),
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

/** How each field is read from the environment. */
const READERS: { readonly [K in ConfigKey]: (env: Env, options: LoadOptions) => Config[K] } = {
  databaseUrl: (env) => (env.DATABASE_URL === undefined ? undefined : parseDatabaseUrl(env.DATABASE_URL)),
  lake: (env, options) => {
    const lakeUri = env.LAKE_URI ?? options.lakeUri;
    if (lakeUri === undefined) throw new ConfigError('LAKE_URI', 's3://bucket[/prefix] or a directory path', undefined);
    return parseLakeUri(lakeUri);
  },
  region: (env) => env.AWS_REGION ?? env.AWS_DEFAULT_REGION,
  endpoint: (env) => {
    const name = env.AWS_ENDPOINT_URL_S3 !== undefined ? 'AWS_ENDPOINT_URL_S3' : 'AWS_ENDPOINT_URL';
    const endpoint = env[name];
    if (endpoint !== undefined && !/^https?:\/\/[^/]+/.test(endpoint)) throw new ConfigError(name, 'an http(s):// URL such as http://localhost:4566', endpoint);
    return endpoint;
  },
  timeZone: (env) => parseTimeZone(env.PARTITION_TIMEZONE ?? DEFAULTS.timeZone),
  batchRows: (env) => readNumber(env, 'BATCH_ROWS', DEFAULTS.batchRows, 1, 1_048_576, true),
  rowGroupRows: (env) => readRowGroupRows(env),
  rowsPerFile: (env) => {
    const rowGroupRows = readRowGroupRows(env);
    return readNumber(env, 'ROWS_PER_FILE', Math.max(DEFAULTS.rowsPerFile, rowGroupRows), rowGroupRows, 1_000_000_000, true);
  },
  maxRowsPerRange: (env) => readNumber(env, 'RANGE_MAX_ROWS', DEFAULTS.maxRowsPerRange, 1, 1_000_000_000, true),
  thresholds: (env) => loadThresholds(env),
  lockTtlMs: (env) => readNumber(env, 'PARTITION_LOCK_TTL_SECONDS', DEFAULTS.lockTtlSeconds, 60, 86_400, true) * 1000,
};

function readRowGroupRows(env: Env): number {
  return readNumber(env, 'ROW_GROUP_ROWS', DEFAULTS.rowGroupRows, 1_024, 16_777_216, true);
}

export interface LoadOptions {
  /** The lake when LAKE_URI is unset (the CLI's `./lake`). */
  readonly lakeUri?: string;
}

/** Every field, in the order `VARIABLES` documents them. */
export const CONFIG_KEYS = Object.keys(READERS) as ConfigKey[];

/**
 * Reads and checks the configuration: every field, or only the fields `keys` names (a stage's
 * slice: a variable no field of it reads is neither required nor checked).
 */
export function loadConfig(env?: Env, options?: LoadOptions): Config;
export function loadConfig<K extends ConfigKey>(env: Env, options: LoadOptions, keys: readonly K[]): Pick<Config, K>;
export function loadConfig(env: Env = process.env, options: LoadOptions = {}, keys: readonly ConfigKey[] = CONFIG_KEYS): Partial<Config> {
  const config: Record<string, unknown> = {};
  for (const key of keys) config[key] = READERS[key](env, options);
  return config as Partial<Config>;
}

/** The database URL, or a ConfigError when the stage needs it and it is unset. */
export function requireDatabaseUrl(config: Pick<Config, 'databaseUrl'>): string {
  if (config.databaseUrl === undefined) throw new ConfigError('DATABASE_URL', 'postgres://user:password@host:port/database');
  return config.databaseUrl;
}
