/**
 * Every environment variable of the configuration, declared once: its name, the configuration
 * field it sets, its default, its bounds, the stack prop that sets it, and what it means. The
 * loaders (`config.ts`), the README's configuration table (`npm run docs`) and the stack's
 * environment for the functions (`infra/function-environment.ts`) all read these records.
 */
import type { ConfigKey, QualityThresholds } from './config.js';

/** Bounds of a numeric variable: checked at start-up (the `ConfigError` states them) and shown in the README. */
export interface NumberBounds {
  readonly min: number;
  readonly max: number;
  readonly integer: boolean;
  /** Another variable whose value is a lower bound too, and raises the default to it. */
  readonly atLeast?: string;
}

/** One environment variable. */
export interface Variable {
  readonly name: string;
  readonly field: ConfigKey;
  /** The value when it is unset; none when unset means "not given" (or what `fallback` says). */
  readonly default?: number | string;
  /** What applies when it is unset, as the README says it, where `default` alone does not say it. */
  readonly fallback?: string;
  readonly bounds?: NumberBounds;
  /** The only values it takes. */
  readonly choices?: readonly string[];
  readonly meaning: string;
  /** The stack prop (CDK context key, dotted for `quality` and `tuning`) whose value the stack sets it to. */
  readonly prop?: string;
}

/** Day-over-day change above which a warning is reported while QUALITY_MAX_DAY_OVER_DAY_CHANGE is unset. */
const DAY_OVER_DAY_WARN_ABOVE = 0.5;

const RATE = { min: 0, max: 1, integer: false } as const;

/** TLS modes of the connection built from the secret; pg 8 checks the certificate and the host name under `require` too. */
export const SSL_MODES = ['disable', 'require', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** The records, by variable name, in the README's order. */
export const VARIABLE = {
  DATABASE_URL: {
    field: 'databaseUrl',
    fallback: 'embedded Postgres (`npm start` only)',
    meaning: 'Source Postgres, `postgres://user:pass@host:port/db`; `?sslmode=verify-full` for TLS (`&sslrootcert=<file>` for a CA of your own)',
  },
  DATABASE_SECRET_ARN: {
    field: 'databaseUrl',
    fallback: 'unset',
    meaning:
      "In AWS: Secrets Manager secret `{ username, password, host?, port?, dbname? }` (the RDS form, or RDS's managed secret with only `username` and `password`) used when `DATABASE_URL` is unset; read once per container, and again when the database refuses its password (a rotation)",
  },
  DATABASE_HOST: {
    field: 'databaseUrl',
    fallback: "the secret's `host`",
    meaning:
      "Host of the database reached through `DATABASE_SECRET_ARN`; wins over the secret's (an RDS Proxy endpoint, say). Required with RDS's managed secret",
    prop: 'databaseHost',
  },
  DATABASE_PORT: {
    field: 'databaseUrl',
    fallback: "the secret's `port`, else `5432`",
    bounds: { min: 1, max: 65_535, integer: true },
    meaning: "Port of the database reached through `DATABASE_SECRET_ARN`; wins over the secret's",
    prop: 'databasePort',
  },
  DATABASE_NAME: {
    field: 'databaseUrl',
    fallback: "the secret's `dbname`, else `postgres`",
    meaning: "Database reached through `DATABASE_SECRET_ARN`; wins over the secret's",
    prop: 'databaseName',
  },
  DATABASE_SSLMODE: {
    field: 'databaseUrl',
    default: 'verify-full',
    choices: SSL_MODES,
    meaning:
      'TLS of the connection built from `DATABASE_SECRET_ARN`: `verify-full` checks the certificate and the host name (`require` does the same with pg 8); `disable` only for a database without TLS on a private network',
    prop: 'databaseSslMode',
  },
  DATABASE_SSLROOTCERT: {
    field: 'databaseUrl',
    fallback: "the runtime's CAs",
    meaning:
      "PEM file of the CAs that sign the database's certificate, for the connection built from `DATABASE_SECRET_ARN` (read once); with `DATABASE_URL`, add `sslrootcert=<file>` to it instead. In Lambda the stack trusts the RDS CAs (`NODE_EXTRA_CA_CERTS`)",
  },
  LAKE_URI: { field: 'lake', fallback: '`./lake` (CLI); required in Lambda', meaning: '`s3://bucket/prefix` or a directory' },
  AWS_REGION: { field: 'region', fallback: '`AWS_DEFAULT_REGION`, else `us-east-1`', meaning: 'Region of the lake bucket' },
  AWS_DEFAULT_REGION: { field: 'region', fallback: '-', meaning: 'Used when `AWS_REGION` is unset' },
  AWS_ENDPOINT_URL: { field: 'endpoint', fallback: 'AWS', meaning: 'S3-compatible endpoint (LocalStack, MinIO, moto); turns on path-style addressing' },
  AWS_ENDPOINT_URL_S3: { field: 'endpoint', fallback: '`AWS_ENDPOINT_URL`', meaning: 'The S3 endpoint only; wins over `AWS_ENDPOINT_URL`' },
  PARTITION_TIMEZONE: { field: 'timeZone', default: 'UTC', meaning: 'IANA zone whose local days are the partitions', prop: 'partitionTimeZone' },
  QUALITY_MAX_QUARANTINE_RATE: {
    field: 'thresholds',
    default: 0.05,
    bounds: RATE,
    meaning: 'Most rows per day whose rent_cost was quarantined',
    prop: 'quality.maxQuarantineRate',
  },
  QUALITY_MAX_NULL_RATE: { field: 'thresholds', default: 0.1, bounds: RATE, meaning: 'Most NULLs in any nullable column', prop: 'quality.maxNullRate' },
  QUALITY_MAX_NEGATIVE_DURATION_RATE: {
    field: 'thresholds',
    default: 0.01,
    bounds: RATE,
    meaning: 'Most rows with rent_end before rent_start',
    prop: 'quality.maxNegativeDurationRate',
  },
  QUALITY_MAX_NEGATIVE_COST_RATE: {
    field: 'thresholds',
    default: 0.01,
    bounds: RATE,
    meaning: 'Most rows with a negative rent_cost',
    prop: 'quality.maxNegativeCostRate',
  },
  QUALITY_MAX_DUPLICATE_IDS: {
    field: 'thresholds',
    default: 0,
    bounds: { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true },
    meaning: 'Most rows repeating a rental_id',
    prop: 'quality.maxDuplicateIds',
  },
  QUALITY_MAX_DAY_OVER_DAY_CHANGE: {
    field: 'thresholds',
    fallback: `unset: warn above ${DAY_OVER_DAY_WARN_ABOVE}`,
    bounds: { min: 0, max: 1000, integer: false },
    meaning: 'Largest relative change of the row count against the previous day; set it to fail instead of warn',
    prop: 'quality.maxDayOverDayChange',
  },
  QUALITY_MIN_DAY_ROWS: {
    field: 'thresholds',
    fallback: 'unset: warn when a day has no rows',
    bounds: { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true },
    meaning: 'Fewest rows a published day may have; set it to fail instead of warn (1: an empty day fails)',
    prop: 'quality.minDayRows',
  },
  PARTITION_LOCK_TTL_SECONDS: {
    field: 'lockTtlMs',
    default: 120,
    bounds: { min: 10, max: 3_600, integer: true },
    meaning:
      "Length of a day's lease, renewed every third of it while a stage works; a holder gone without giving the day back blocks it at most this long (a provably dead one not at all)",
    prop: 'tuning.lockTtlSeconds',
  },
  REPUBLISH_LOOKBACK_DAYS: {
    field: 'republishLookbackDays',
    default: 7,
    // At most a year: each day looked back at is a scan of its rows in the source (the change signal).
    bounds: { min: 0, max: 366, integer: true },
    meaning:
      "Days before yesterday the scheduled run re-checks against the source (one scan of each published day, the change signal); a day whose rows were inserted, updated or deleted since it was published is published again, and a day never published after the lake's first day is published. `0` turns it off",
  },
  BATCH_ROWS: {
    field: 'batchRows',
    default: 32_768,
    bounds: { min: 1, max: 1_048_576, integer: true },
    meaning: 'Rows per Arrow batch while streaming (memory per stage grows with it)',
    prop: 'tuning.batchRows',
  },
  ROW_GROUP_ROWS: {
    field: 'rowGroupRows',
    default: 131_072,
    bounds: { min: 1_024, max: 16_777_216, integer: true },
    meaning: 'Rows per Parquet row group',
    prop: 'tuning.rowGroupRows',
  },
  ROWS_PER_FILE: {
    field: 'rowsPerFile',
    default: 4_194_304,
    bounds: { min: 1_024, max: 1_000_000_000, integer: true, atLeast: 'ROW_GROUP_ROWS' },
    meaning: 'Most rows per Parquet file; a bigger day is split',
    prop: 'tuning.rowsPerFile',
  },
  COMPACT_ABOVE_FILES: {
    field: 'compactAboveFiles',
    default: 8,
    bounds: { min: 1, max: 10_000, integer: true },
    meaning:
      'An append that leaves a partition with more data files than this compacts it right after its publish (files of `ROWS_PER_FILE` rows, every row kept); `etl compact` does it on demand',
    prop: 'tuning.compactAboveFiles',
  },
  OPEN_RENTAL_MAX_MINUTES: {
    field: 'openRentalMaxMinutes',
    default: 720,
    bounds: { min: 0, max: 10_080, integer: true },
    meaning:
      'On a day still in progress, a rental without an end that started less than this many minutes before the snapshot is counted as open, not as an anomaly (its NULL end, station and cost are left out of the NULL rates)',
    prop: 'tuning.openRentalMaxMinutes',
  },
  RANGE_MAX_ROWS: {
    field: 'maxRowsPerRange',
    default: 20_000_000,
    bounds: { min: 1, max: 1_000_000_000, integer: true },
    meaning:
      'Most rentals one extract or transform-write invocation takes on; a bigger day is cut at hour boundaries into ranges run in parallel and published as one partition (an hour is never cut)',
    prop: 'tuning.maxRowsPerRange',
  },
  GLUE_DATABASE: {
    field: 'glueDatabase',
    fallback: 'unset: no Glue (the stack sets its database)',
    meaning:
      "Glue database whose Iceberg tables (`rentals_iceberg`, `users_iceberg`, `bikes_iceberg`) every commit moves to the table's new metadata file (`UpdateTable` with `VersionId`); the file catalog stays the record",
    prop: 'glueDatabaseName',
  },
  ICEBERG_KEEP_SUPERSEDED_HOURS: {
    field: 'keepSupersededMs',
    default: 0,
    bounds: { min: 0, max: 168, integer: true },
    meaning:
      'Hours the files a publish supersedes stay (Iceberg time travel and engine queries that overlap a publish stay safe; a glob over a day may then see both versions); `0` removes them at publish',
    prop: 'tuning.keepSupersededHours',
  },
} as const satisfies Record<string, Omit<Variable, 'name'>>;

export type VariableName = keyof typeof VARIABLE;

/** The variables whose value is a number (they have `bounds`). */
export type NumberVariable = { [N in VariableName]: (typeof VARIABLE)[N] extends { bounds: NumberBounds } ? N : never }[VariableName];

/** Every variable the configuration reads, in the README's order. */
export const VARIABLES: readonly Variable[] = (Object.keys(VARIABLE) as VariableName[]).map((name) => ({ name, ...VARIABLE[name] }));

type Props = { [N in VariableName]: (typeof VARIABLE)[N] extends { prop: infer P extends string } ? P : never }[VariableName];

type After<P, Group extends string> = P extends `${Group}.${infer K}` ? K : never;

/** The keys of a stack prop object (`quality`, `tuning`) that variables are set from. */
export type PropKeys<Group extends string> = After<Props, Group>;

/** The keys of the stack prop object `group` (`quality`, `tuning`), from the records that name it. */
export function propKeysOf<Group extends string>(group: Group): PropKeys<Group>[] {
  return VARIABLES.flatMap((v) => (v.prop?.startsWith(`${group}.`) ? [v.prop.slice(group.length + 1) as PropKeys<Group>] : []));
}

/**
 * Every default, read from the records: config loading falls back to them, the stack derives its
 * own defaults from them, and the validate stage reads `dayOverDayWarnAbove`.
 */
export const DEFAULTS = {
  databaseSslMode: VARIABLE.DATABASE_SSLMODE.default,
  timeZone: VARIABLE.PARTITION_TIMEZONE.default,
  batchRows: VARIABLE.BATCH_ROWS.default,
  rowGroupRows: VARIABLE.ROW_GROUP_ROWS.default,
  /** At least ROW_GROUP_ROWS. */
  rowsPerFile: VARIABLE.ROWS_PER_FILE.default,
  maxRowsPerRange: VARIABLE.RANGE_MAX_ROWS.default,
  compactAboveFiles: VARIABLE.COMPACT_ABOVE_FILES.default,
  openRentalMaxMinutes: VARIABLE.OPEN_RENTAL_MAX_MINUTES.default,
  lockTtlSeconds: VARIABLE.PARTITION_LOCK_TTL_SECONDS.default,
  republishLookbackDays: VARIABLE.REPUBLISH_LOOKBACK_DAYS.default,
  keepSupersededHours: VARIABLE.ICEBERG_KEEP_SUPERSEDED_HOURS.default,
  /** Limits a real day made by the generator at its default anomaly rates passes. */
  thresholds: {
    maxQuarantineRate: VARIABLE.QUALITY_MAX_QUARANTINE_RATE.default,
    maxNullRate: VARIABLE.QUALITY_MAX_NULL_RATE.default,
    maxNegativeDurationRate: VARIABLE.QUALITY_MAX_NEGATIVE_DURATION_RATE.default,
    maxNegativeCostRate: VARIABLE.QUALITY_MAX_NEGATIVE_COST_RATE.default,
    maxDuplicateIds: VARIABLE.QUALITY_MAX_DUPLICATE_IDS.default,
    maxDayOverDayChange: undefined,
    minDayRows: undefined,
  } satisfies Record<PropKeys<'quality'>, number | undefined> & QualityThresholds,
  dayOverDayWarnAbove: DAY_OVER_DAY_WARN_ABOVE,
} as const;

const code = (value: string | number) => `\`${value}\``;
const figure = (n: number) => n.toLocaleString('en-US');

/** What a variable accepts, as the README's bounds column says it: its range or its choices. */
export function boundsText(variable: Pick<Variable, 'bounds' | 'choices'>): string {
  const { bounds, choices } = variable;
  if (choices) return choices.map(code).join(', ');
  if (!bounds) return '-';
  const kind = bounds.integer ? 'an integer' : 'a number';
  const min = bounds.atLeast ? code(bounds.atLeast) : figure(bounds.min);
  if (bounds.max === Number.MAX_SAFE_INTEGER) return `${kind} from ${min} up`;
  return `${kind} from ${min} to ${figure(bounds.max)}`;
}

/** The README's configuration table, made from the records. */
export function configurationMarkdown(): string {
  const fallbackOf = (v: Variable) => v.fallback ?? (v.default === undefined ? '-' : code(v.default));
  return [
    '| variable | default | bounds | meaning |',
    '|---|---|---|---|',
    ...VARIABLES.map((v) => `| \`${v.name}\` | ${fallbackOf(v)} | ${boundsText(v)} | ${v.meaning} |`),
  ].join('\n');
}
