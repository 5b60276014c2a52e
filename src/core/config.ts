/**
 * Configuration from the environment, parsed and checked once at start-up. Every getter throws a
 * `ConfigError` naming the variable and the expected form; nothing downstream sees `undefined`.
 */
import { readFileSync } from 'node:fs';
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
  /** Days before yesterday the scheduled run re-checks against the source, republishing the stale ones (0: none). */
  readonly republishLookbackDays: number;
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
  databaseSslMode: 'verify-full',
  timeZone: 'UTC',
  batchRows: 32_768,
  rowGroupRows: 131_072,
  /** At least ROW_GROUP_ROWS. */
  rowsPerFile: 4_194_304,
  maxRowsPerRange: 20_000_000,
  lockTtlSeconds: 120,
  republishLookbackDays: 7,
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
    meaning: 'Source Postgres, `postgres://user:pass@host:port/db`; `?sslmode=verify-full` for TLS (`&sslrootcert=<file>` for a CA of your own)',
  },
  {
    name: 'DATABASE_SECRET_ARN',
    field: 'databaseUrl',
    fallback: 'unset',
    meaning:
      "In AWS: Secrets Manager secret `{ username, password, host?, port?, dbname? }` (the RDS form, or RDS's managed secret with only `username` and `password`) used when `DATABASE_URL` is unset; read once per container, and again when the database refuses its password (a rotation)",
  },
  {
    name: 'DATABASE_HOST',
    field: 'databaseUrl',
    fallback: "the secret's `host`",
    meaning:
      "Host of the database reached through `DATABASE_SECRET_ARN`; wins over the secret's (an RDS Proxy endpoint, say). Required with RDS's managed secret",
    prop: 'databaseHost',
  },
  {
    name: 'DATABASE_PORT',
    field: 'databaseUrl',
    fallback: "the secret's `port`, else `5432`",
    meaning: "Port of the database reached through `DATABASE_SECRET_ARN`; wins over the secret's",
    prop: 'databasePort',
  },
  {
    name: 'DATABASE_NAME',
    field: 'databaseUrl',
    fallback: "the secret's `dbname`, else `postgres`",
    meaning: "Database reached through `DATABASE_SECRET_ARN`; wins over the secret's",
    prop: 'databaseName',
  },
  {
    name: 'DATABASE_SSLMODE',
    field: 'databaseUrl',
    fallback: code(DEFAULTS.databaseSslMode),
    meaning:
      'TLS of the connection built from `DATABASE_SECRET_ARN`: `verify-full` checks the certificate and the host name (`require` does the same with pg 8); `disable` only for a database without TLS on a private network',
    prop: 'databaseSslMode',
  },
  {
    name: 'DATABASE_SSLROOTCERT',
    field: 'databaseUrl',
    fallback: "the runtime's CAs",
    meaning:
      "PEM file of the CAs that sign the database's certificate, for the connection built from `DATABASE_SECRET_ARN` (read once); with `DATABASE_URL`, add `sslrootcert=<file>` to it instead. In Lambda the stack trusts the RDS CAs (`NODE_EXTRA_CA_CERTS`)",
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
    meaning:
      "Length of a day's lease, renewed every third of it while a stage works; a holder gone without giving the day back blocks it at most this long (a provably dead one not at all)",
    prop: 'tuning.lockTtlSeconds',
  },
  {
    name: 'REPUBLISH_LOOKBACK_DAYS',
    field: 'republishLookbackDays',
    fallback: code(DEFAULTS.republishLookbackDays),
    meaning:
      'Days before yesterday the scheduled run re-checks against the source (one count per published day); a day whose partition is stale (the row count differs, or a row was updated after its snapshot) is published again. `0` turns it off',
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

/** TLS modes of the connection built from the secret; pg 8 checks the certificate and the host name under `require` too. */
export const SSL_MODES = ['disable', 'require', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** How the stages reach the source through `DATABASE_SECRET_ARN` (`DATABASE_URL` says it all itself). */
export interface SourceSettings {
  readonly secretArn: string | undefined;
  /** Where the database is, over what the secret says (RDS's managed secret says nothing). */
  readonly host: string | undefined;
  readonly port: number | undefined;
  readonly database: string | undefined;
  readonly sslMode: SslMode;
  /** The PEM text of `DATABASE_SSLROOTCERT`: the only CAs trusted when set, the runtime's otherwise. */
  readonly sslRootCert: string | undefined;
}

function readText(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** Reads the `DATABASE_*` variables of the secret's connection, and the CA file once. */
export function loadSourceSettings(env: Env): SourceSettings {
  const sslMode = env.DATABASE_SSLMODE?.trim() || DEFAULTS.databaseSslMode;
  if (!(SSL_MODES as readonly string[]).includes(sslMode)) throw new ConfigError('DATABASE_SSLMODE', SSL_MODES.join(', '), sslMode);
  const certFile = readText(env, 'DATABASE_SSLROOTCERT');
  let sslRootCert: string | undefined;
  if (certFile !== undefined) {
    const expected = 'a readable PEM file of CA certificates (-----BEGIN CERTIFICATE-----)';
    try {
      sslRootCert = readFileSync(certFile, 'utf8');
    } catch {
      throw new ConfigError('DATABASE_SSLROOTCERT', expected, certFile);
    }
    if (!sslRootCert.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError('DATABASE_SSLROOTCERT', expected, certFile);
  }
  return {
    secretArn: readText(env, 'DATABASE_SECRET_ARN'),
    host: readText(env, 'DATABASE_HOST'),
    port: readText(env, 'DATABASE_PORT') === undefined ? undefined : readNumber(env, 'DATABASE_PORT', 0, 1, 65_535, true),
    database: readText(env, 'DATABASE_NAME'),
    sslMode: sslMode as SslMode,
    sslRootCert,
  };
}

/** Most days the scheduled run may look back: each is a count of its rows in the source. */
const MAX_LOOKBACK_DAYS = 366;

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
  lockTtlMs: (env) => readNumber(env, 'PARTITION_LOCK_TTL_SECONDS', DEFAULTS.lockTtlSeconds, 10, 3_600, true) * 1000,
  republishLookbackDays: (env) => readNumber(env, 'REPUBLISH_LOOKBACK_DAYS', DEFAULTS.republishLookbackDays, 0, MAX_LOOKBACK_DAYS, true),
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
