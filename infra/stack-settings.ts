/**
 * The stack's props resolved into settings: the defaults of those that have one (`STACK_DEFAULTS`;
 * `cdk.json` holds overrides only), filled in and checked before any resource is built.
 */
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { DEFAULTS } from '../src/core/config.js';
import { propKeysOf } from '../src/core/config-variables.js';
import { parseTimeZone } from '../src/core/day.js';
import { vpcEndpointServices } from './constructs/database-access.js';
import type { VpcEndpointService } from './constructs/vpc-endpoints.js';
import { checkGlueDatabaseName } from './constructs/lake-tables.js';
import type { LakeEtlStackProps } from './lake-etl-stack.js';
import { defaultScheduleCron, skippedScheduleTime } from './schedule.js';

/**
 * Defaults of the props that have one (`cdk.json` holds overrides only). Those the functions share
 * (the partition time zone) are the configuration's own defaults (`DEFAULTS`).
 */
export const STACK_DEFAULTS = {
  stackName: 'PgLakeEtl',
  lakePrefix: 'lake',
  partitionTimeZone: DEFAULTS.timeZone,
  /**
   * The schedule is read in UTC, which no clock change skips; its default cron is derived from the
   * partition time zone (`defaultScheduleCron`: 02:30 there in standard time).
   */
  scheduleTimeZone: 'UTC',
  scheduleEnabled: true,
  backfillConcurrency: 4,
  rangeConcurrency: 4,
  reserveConcurrency: true,
  vpcEndpoints: false,
  logRetention: RetentionDays.ONE_MONTH,
  reportRetentionDays: 365,
} as const;

/** `PgLakeEtl` → `pg_lake_etl`: a name Glue and Athena take as it is. */
export function snakeCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_');
}

/** A prop object (`quality`, `tuning`) may hold only the keys its type names: a typo is an error, not a silent default. */
function checkKnownKeys(prop: string, value: object | undefined, known: readonly string[]): void {
  for (const key of Object.keys(value ?? {})) {
    if (!known.includes(key)) throw new Error(`${prop}.${key}: no such setting (known: ${known.join(', ')})`);
  }
}

/** The props with their defaults filled in, checked before any resource is built. */
export interface Settings {
  /** Key prefix of the lake without slashes at either end; '' for the bucket root. */
  readonly lakePrefix: string;
  /** `lakePrefix/`, or '' at the bucket root. */
  readonly root: string;
  readonly partitionTimeZone: string;
  readonly scheduleCron: string;
  readonly scheduleTimeZone: string;
  readonly scheduleEnabled: boolean;
  readonly backfillConcurrency: number;
  readonly rangeConcurrency: number;
  readonly reserveConcurrency: boolean;
  readonly vpcEndpoints: readonly VpcEndpointService[];
  readonly logRetention: RetentionDays;
  readonly reportRetentionDays: number;
  /** The Glue database of the lake's tables (the functions move its Iceberg tables: `GLUE_DATABASE`). */
  readonly glueDatabaseName: string;
}

/** Fills in the defaults (`STACK_DEFAULTS`) and refuses what cannot be deployed: unknown settings, bad time zones, a skipped schedule. */
export function resolveSettings(props: LakeEtlStackProps, stackName: string): Settings {
  if (props.existingBucketName && props.bucketName) throw new Error('Give existingBucketName or bucketName, not both');
  checkKnownKeys('quality', props.quality, propKeysOf('quality'));
  checkKnownKeys('tuning', props.tuning, propKeysOf('tuning'));
  const lakePrefix = (props.lakePrefix ?? STACK_DEFAULTS.lakePrefix).replace(/^\/+|\/+$/g, '');
  // Checked here, and given to the functions as written (they check it again at cold start).
  const partitionTimeZone = props.partitionTimeZone ?? STACK_DEFAULTS.partitionTimeZone;
  parseTimeZone(partitionTimeZone);
  const scheduleTimeZone = parseTimeZone(props.scheduleTimeZone ?? STACK_DEFAULTS.scheduleTimeZone, 'scheduleTimeZone');
  const scheduleCron = props.scheduleCron ?? defaultScheduleCron(partitionTimeZone);
  const skipped = skippedScheduleTime(scheduleCron, scheduleTimeZone);
  if (skipped) {
    throw new Error(
      `scheduleCron ${scheduleCron}: ${skipped} does not exist in ${scheduleTimeZone} (a clock change skips it), and EventBridge Scheduler ` +
        `skips such a run; leave scheduleTimeZone at UTC or choose a time no clock change skips`,
    );
  }
  return {
    lakePrefix,
    root: lakePrefix === '' ? '' : `${lakePrefix}/`,
    partitionTimeZone,
    scheduleCron,
    scheduleTimeZone,
    scheduleEnabled: props.scheduleEnabled ?? STACK_DEFAULTS.scheduleEnabled,
    backfillConcurrency: props.backfillConcurrency ?? STACK_DEFAULTS.backfillConcurrency,
    rangeConcurrency: props.rangeConcurrency ?? STACK_DEFAULTS.rangeConcurrency,
    reserveConcurrency: props.reserveConcurrency ?? STACK_DEFAULTS.reserveConcurrency,
    vpcEndpoints: vpcEndpointServices(props.vpcEndpoints ?? STACK_DEFAULTS.vpcEndpoints),
    logRetention: props.logRetention ?? STACK_DEFAULTS.logRetention,
    reportRetentionDays: props.reportRetentionDays ?? STACK_DEFAULTS.reportRetentionDays,
    glueDatabaseName: checkGlueDatabaseName(props.glueDatabaseName ?? snakeCase(stackName)),
  };
}
