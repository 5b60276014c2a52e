/**
 * Stack props from CDK context (`cdk.json` or `npx cdk deploy -c key=value`). Every key is a prop
 * of `LakeEtlStackProps` with the same name; values given with `-c` arrive as strings and are
 * parsed here. An empty string means "not set"; a key the app does not know is an error. The
 * defaults live with the stack (`STACK_DEFAULTS`) and the functions' configuration records
 * (`src/core/config-variables.ts`), so `cdk.json` holds overrides only.
 */
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { LakeEtlStackProps, StageTuning } from './lake-etl-stack.js';
import { SSL_MODES, type QualityThresholds, type SslMode } from '../src/core/config.js';

/** The context keys this app reads. */
export const CONTEXT_KEYS = [
  'stackName',
  'existingBucketName',
  'bucketName',
  'lakePrefix',
  'partitionTimeZone',
  'scheduleCron',
  'scheduleTimeZone',
  'scheduleEnabled',
  'appendSchedule',
  'databaseSecretArn',
  'databaseSecretKeyArn',
  'databaseSslMode',
  'databaseHost',
  'databasePort',
  'databaseName',
  'vpcId',
  'subnetIds',
  'securityGroupId',
  'vpcEndpoints',
  'routeTableIds',
  'vpcCidr',
  'maxDatabaseConnections',
  'reserveConcurrency',
  'lambdaConcurrencyQuota',
  'glueDatabaseName',
  'backfillConcurrency',
  'rangeConcurrency',
  'alarmEmail',
  'logRetentionDays',
  'reportRetentionDays',
  'quality',
  'tuning',
] as const;

export type ContextKey = (typeof CONTEXT_KEYS)[number];

/**
 * Context keys set for this app that it does not read (a typo such as `-c backfilConcurrency=8`);
 * the CDK's own keys (`aws:cdk:...`, `@aws-cdk/...` feature flags) are not ours to judge.
 */
export function unknownContextKeys(context: Record<string, unknown>): string[] {
  return Object.keys(context).filter((key) => !key.includes(':') && !key.startsWith('@') && !(CONTEXT_KEYS as readonly string[]).includes(key));
}

function fail(key: string, expected: string, value: unknown): never {
  throw new Error(`context ${key}: expected ${expected}, got ${JSON.stringify(value)}`);
}

function text(key: string, value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') fail(key, 'a string', value);
  return value.trim() === '' ? undefined : value.trim();
}

function integer(key: string, value: unknown): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || n < 1) fail(key, 'a positive integer', value);
  return n;
}

function flag(key: string, value: unknown): boolean | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  return fail(key, 'true or false', value);
}

function list(key: string, value: unknown): string[] | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : fail(key, 'a list or a comma-separated string', value);
  const out = items.map((item) => (typeof item === 'string' ? item.trim() : fail(key, 'strings', value))).filter((item) => item !== '');
  return out.length > 0 ? out : undefined;
}

/** `true`/`false`, or a list (`-c vpcEndpoints=secretsmanager,states`). */
function flagOrList(key: string, value: unknown): boolean | string[] | undefined {
  if (value === true || value === false || value === 'true' || value === 'false') return flag(key, value);
  return list(key, value);
}

function cidr(key: string, value: unknown): string | undefined {
  const block = text(key, value);
  if (block !== undefined && !/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(block)) fail(key, 'an IPv4 CIDR such as 10.0.0.0/16', value);
  return block;
}

function object<T>(key: string, value: unknown): T | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const parsed =
    typeof value === 'string'
      ? (() => {
          try {
            return JSON.parse(value) as unknown;
          } catch {
            return fail(key, 'a JSON object', value);
          }
        })()
      : value;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) fail(key, 'a JSON object', value);
  return parsed as T;
}

function sslMode(key: string, value: unknown): SslMode | undefined {
  const mode = text(key, value);
  if (mode === undefined) return undefined;
  if (!(SSL_MODES as readonly string[]).includes(mode)) fail(key, `${SSL_MODES.slice(0, -1).join(', ')} or ${SSL_MODES.at(-1)}`, value);
  return mode as SslMode;
}

function retention(key: string, value: unknown): RetentionDays | undefined {
  const days = integer(key, value);
  if (days === undefined) return undefined;
  if (!(Object.values(RetentionDays) as unknown[]).includes(days)) fail(key, 'a CloudWatch Logs retention in days (1, 3, 5, 7, 14, 30, 60, 90, ...)', value);
  return days as RetentionDays;
}

/** Reads the stack's name and props from `get` (e.g. `(key) => app.node.tryGetContext(key)`). */
export function stackPropsFromContext(get: (key: ContextKey) => unknown): { stackName: string | undefined; props: LakeEtlStackProps } {
  return {
    stackName: text('stackName', get('stackName')),
    props: {
      existingBucketName: text('existingBucketName', get('existingBucketName')),
      bucketName: text('bucketName', get('bucketName')),
      // '' is a valid prefix (the bucket root), so it is kept as given.
      lakePrefix: typeof get('lakePrefix') === 'string' ? (get('lakePrefix') as string) : undefined,
      partitionTimeZone: text('partitionTimeZone', get('partitionTimeZone')),
      scheduleCron: text('scheduleCron', get('scheduleCron')),
      scheduleTimeZone: text('scheduleTimeZone', get('scheduleTimeZone')),
      scheduleEnabled: flag('scheduleEnabled', get('scheduleEnabled')),
      appendSchedule: text('appendSchedule', get('appendSchedule')),
      databaseSecretArn: text('databaseSecretArn', get('databaseSecretArn')),
      databaseSecretKeyArn: text('databaseSecretKeyArn', get('databaseSecretKeyArn')),
      databaseSslMode: sslMode('databaseSslMode', get('databaseSslMode')),
      databaseHost: text('databaseHost', get('databaseHost')),
      databasePort: integer('databasePort', get('databasePort')),
      databaseName: text('databaseName', get('databaseName')),
      vpcId: text('vpcId', get('vpcId')),
      subnetIds: list('subnetIds', get('subnetIds')),
      securityGroupId: text('securityGroupId', get('securityGroupId')),
      // The names are checked by the stack (`vpcEndpointServices`), which names the known ones.
      vpcEndpoints: flagOrList('vpcEndpoints', get('vpcEndpoints')) as LakeEtlStackProps['vpcEndpoints'],
      routeTableIds: list('routeTableIds', get('routeTableIds')),
      vpcCidr: cidr('vpcCidr', get('vpcCidr')),
      maxDatabaseConnections: integer('maxDatabaseConnections', get('maxDatabaseConnections')),
      reserveConcurrency: flag('reserveConcurrency', get('reserveConcurrency')),
      lambdaConcurrencyQuota: integer('lambdaConcurrencyQuota', get('lambdaConcurrencyQuota')),
      glueDatabaseName: text('glueDatabaseName', get('glueDatabaseName')),
      backfillConcurrency: integer('backfillConcurrency', get('backfillConcurrency')),
      rangeConcurrency: integer('rangeConcurrency', get('rangeConcurrency')),
      alarmEmail: text('alarmEmail', get('alarmEmail')),
      logRetention: retention('logRetentionDays', get('logRetentionDays')),
      reportRetentionDays: integer('reportRetentionDays', get('reportRetentionDays')),
      quality: object<Partial<QualityThresholds>>('quality', get('quality')),
      tuning: object<StageTuning>('tuning', get('tuning')),
    },
  };
}
