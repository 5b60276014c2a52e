/**
 * Configuration from the environment, parsed and checked once at start-up. Every getter throws a
 * `ConfigError` naming the variable and the expected form; nothing downstream sees `undefined`.
 * What each variable is (its default, bounds and stack prop) is declared in `config-variables.ts`.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from './errors.js';
import { parseTimeZone } from './day.js';
import { DEFAULTS, SSL_MODES, VARIABLE, type NumberVariable, type SslMode, type VariableName } from './config-variables.js';

export { boundsText, configurationMarkdown, DEFAULTS, SSL_MODES, VARIABLES, type SslMode, type Variable } from './config-variables.js';

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
  /** Fewest rows a published day may have; undefined = warn only, when a day has none. */
  readonly minDayRows: number | undefined;
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
  /** Most data files an append leaves in a partition before it compacts it. */
  readonly compactAboveFiles: number;
  /** On a day in progress, how recently (minutes before the snapshot) a rental without an end started to count as open. */
  readonly openRentalMaxMinutes: number;
  readonly thresholds: QualityThresholds;
  /** How long a run's partition lock lasts before another run may take it over. */
  readonly lockTtlMs: number;
  /** Days before yesterday the scheduled run re-checks against the source, republishing the stale ones (0: none). */
  readonly republishLookbackDays: number;
  /** The Glue database whose Iceberg tables follow the lake's (`GLUE_DATABASE`); undefined: no Glue. */
  readonly glueDatabase: string | undefined;
  /** How long files a publish supersedes stay for Iceberg readers (0: removed at publish). */
  readonly keepSupersededMs: number;
}

export interface Config extends LakeSettings {
  /** Postgres connection string; required only by the stages that read the source. */
  readonly databaseUrl: string | undefined;
}

type Env = Record<string, string | undefined>;

export type ConfigKey = keyof Config;

/** The default quality limits (`DEFAULTS.thresholds`). */
export const DEFAULT_THRESHOLDS: QualityThresholds = DEFAULTS.thresholds;

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

/** A number variable's value: a number when its record has a default, else number | undefined. */
type NumberOf<N extends NumberVariable> = (typeof VARIABLE)[N] extends { default: number } ? number : number | undefined;

/**
 * Reads number variable `name` within its record's bounds, or its default when unset or blank.
 * `atLeast` is the value of the variable its bounds name as a lower bound, which raises the default too.
 */
function readNumber<N extends NumberVariable>(env: Env, name: N, atLeast?: number): NumberOf<N> {
  const variable = VARIABLE[name] as { readonly default?: number; readonly bounds: { min: number; max: number; integer: boolean } };
  const { max, integer } = variable.bounds;
  const min = Math.max(variable.bounds.min, atLeast ?? Number.NEGATIVE_INFINITY);
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return (variable.default === undefined ? undefined : Math.max(variable.default, min)) as NumberOf<N>;
  const value = Number(raw);
  const form = `${integer ? 'an integer' : 'a number'} from ${min} to ${max}`;
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new ConfigError(name, form, raw);
  }
  return value;
}

/** Reads the quality thresholds (`QUALITY_*`). */
export function loadThresholds(env: Env): QualityThresholds {
  return {
    maxQuarantineRate: readNumber(env, 'QUALITY_MAX_QUARANTINE_RATE'),
    maxNullRate: readNumber(env, 'QUALITY_MAX_NULL_RATE'),
    maxNegativeDurationRate: readNumber(env, 'QUALITY_MAX_NEGATIVE_DURATION_RATE'),
    maxNegativeCostRate: readNumber(env, 'QUALITY_MAX_NEGATIVE_COST_RATE'),
    maxDuplicateIds: readNumber(env, 'QUALITY_MAX_DUPLICATE_IDS'),
    maxDayOverDayChange: readNumber(env, 'QUALITY_MAX_DAY_OVER_DAY_CHANGE'),
    minDayRows: readNumber(env, 'QUALITY_MIN_DAY_ROWS'),
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

function readText(env: Env, name: VariableName): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** Reads the `DATABASE_*` variables of the secret's connection, and the CA file once. */
export function loadSourceSettings(env: Env): SourceSettings {
  const sslMode = readText(env, 'DATABASE_SSLMODE') ?? DEFAULTS.databaseSslMode;
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
    port: readNumber(env, 'DATABASE_PORT'),
    database: readText(env, 'DATABASE_NAME'),
    sslMode: sslMode as SslMode,
    sslRootCert,
  };
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
  batchRows: (env) => readNumber(env, 'BATCH_ROWS'),
  rowGroupRows: (env) => readNumber(env, 'ROW_GROUP_ROWS'),
  rowsPerFile: (env) => readNumber(env, 'ROWS_PER_FILE', readNumber(env, VARIABLE.ROWS_PER_FILE.bounds.atLeast)),
  maxRowsPerRange: (env) => readNumber(env, 'RANGE_MAX_ROWS'),
  compactAboveFiles: (env) => readNumber(env, 'COMPACT_ABOVE_FILES'),
  openRentalMaxMinutes: (env) => readNumber(env, 'OPEN_RENTAL_MAX_MINUTES'),
  thresholds: (env) => loadThresholds(env),
  lockTtlMs: (env) => readNumber(env, 'PARTITION_LOCK_TTL_SECONDS') * 1000,
  republishLookbackDays: (env) => readNumber(env, 'REPUBLISH_LOOKBACK_DAYS'),
  glueDatabase: (env) => {
    const name = readText(env, 'GLUE_DATABASE');
    if (name !== undefined && !/^[a-z0-9_]{1,255}$/.test(name)) throw new ConfigError('GLUE_DATABASE', 'lowercase letters, digits and underscores', name);
    return name;
  },
  keepSupersededMs: (env) => readNumber(env, 'ICEBERG_KEEP_SUPERSEDED_HOURS') * 3_600_000,
};

export interface LoadOptions {
  /** The lake when LAKE_URI is unset (the CLI's `./lake`). */
  readonly lakeUri?: string;
}

/** Every field, in the order the records document them. */
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
