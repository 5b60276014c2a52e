/**
 * What the stack costs, counted from its synthesized template (the fixed monthly part: custom
 * metrics, alarms, the dashboard, interface endpoints per subnet, a secret it creates) and from the
 * bench's stage figures (the variable part per million rows a day). Prices are an assumption,
 * written down with their region and date in `PRICES`: nothing here asks AWS.
 */
import { METRIC } from '../src/pipeline/metrics.js';
import { STAGE_LIST } from '../src/pipeline/stages.js';

/** List prices assumed (us-east-1, USD, as written down on `asOf`; check the AWS pricing pages). */
export const PRICES = {
  region: 'us-east-1',
  asOf: '2026-12-06',
  /** Per custom metric a month (the first 10,000 metrics of an account). */
  customMetric: 0.3,
  /** Per metric a standard-resolution alarm reads, a month (a metric-math alarm pays for each of its metrics). */
  alarmMetric: 0.1,
  compositeAlarm: 0.5,
  /** Per dashboard a month, beyond the three an account has free. */
  dashboard: 3,
  /** Per interface endpoint and availability zone (subnet) an hour. */
  interfaceEndpointHour: 0.01,
  /** Per secret a month. */
  secret: 0.4,
  /** Lambda on arm64, per GB-second and per million requests. */
  lambdaGbSecond: 0.0000133334,
  lambdaMillionRequests: 0.2,
  /** Step Functions standard workflows, per thousand state transitions. */
  thousandTransitions: 0.025,
  /** S3 Standard, per thousand PUT-class requests. */
  thousandPuts: 0.005,
} as const;

/** Memory at which a Lambda function gets one full vCPU (AWS Lambda documentation, "Memory and computing power"). */
export const MB_PER_VCPU = 1_769;

/**
 * The estimated Lambda duration of a call measured at `seconds`, `cpuSeconds` of them on a CPU, at
 * `memoryMb`: Lambda gives a function CPU in proportion to its memory, so the CPU part stretches by
 * the share of a vCPU the memory buys (a stage's JavaScript runs on one thread: more than one vCPU
 * does not shorten it); the waiting (the database, I/O) is kept as measured.
 */
export function lambdaSeconds(seconds: number, cpuSeconds: number, memoryMb: number): number {
  return cpuSeconds * Math.max(1, MB_PER_VCPU / memoryMb) + Math.max(0, seconds - cpuSeconds);
}

const HOURS_A_MONTH = 730;
const DAYS_A_MONTH = 30;

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

/** One line of the fixed monthly costs: how many, of what, at which unit price. */
export interface CostLine {
  readonly item: string;
  readonly count: number;
  readonly unitPrice: number;
  readonly monthly: number;
}

const line = (item: string, count: number, unitPrice: number): CostLine => ({ item, count, unitPrice, monthly: count * unitPrice });

/**
 * The custom metrics the functions emit (`STAGE_MEASURES` in `src/pipeline/metrics.ts`): a metric
 * is a name with its `service` and `stage` dimensions, so each (stage, name) pair is one.
 */
export const CUSTOM_METRICS: readonly (readonly [stage: string, metric: string])[] = [
  ...STAGE_LIST.map((spec) => [spec.name, METRIC.stageDuration] as const),
  ['plan', METRIC.plannedDays],
  ['snapshot', METRIC.rows],
  ['snapshot', METRIC.bytes],
  ['plan-day', METRIC.rows],
  ['plan-day', METRIC.ranges],
  ['extract', METRIC.rows],
  ['extract', METRIC.bytes],
  ...[METRIC.rows, METRIC.quarantinedRows, METRIC.files, METRIC.bytes].map((metric) => ['transform-write', metric] as const),
  ...[METRIC.daysPublished, METRIC.rows, METRIC.quarantinedRows, METRIC.files, METRIC.bytes, METRIC.publishWindow].map(
    (metric) => ['validate', metric] as const,
  ),
  ['release-day', METRIC.daysFailed],
];

/** The fixed monthly costs of a synthesized template (`Template.toJSON().Resources`). */
export function fixedMonthlyCosts(resources: Resources): CostLine[] {
  const ofType = (type: string) => Object.values(resources).filter((r) => r.Type === type);
  const alarmMetrics = ofType('AWS::CloudWatch::Alarm')
    .map((alarm) => (alarm.Properties?.Metrics as { MetricStat?: unknown }[] | undefined)?.filter((m) => m.MetricStat !== undefined).length ?? 1)
    .reduce((a, b) => a + b, 0);
  const endpointZones = ofType('AWS::EC2::VPCEndpoint')
    .filter((endpoint) => endpoint.Properties?.VpcEndpointType === 'Interface')
    .map((endpoint) => ((endpoint.Properties?.SubnetIds as unknown[] | undefined) ?? []).length)
    .reduce((a, b) => a + b, 0);
  return [
    line('custom metrics (stage and name)', CUSTOM_METRICS.length, PRICES.customMetric),
    line('metrics read by alarms', alarmMetrics, PRICES.alarmMetric),
    line('composite alarms', ofType('AWS::CloudWatch::CompositeAlarm').length, PRICES.compositeAlarm),
    line('dashboards (beyond the 3 free)', ofType('AWS::CloudWatch::Dashboard').length, PRICES.dashboard),
    line('interface endpoints × subnets (hours)', endpointZones * HOURS_A_MONTH, PRICES.interfaceEndpointHour),
    line('secrets the stack creates', ofType('AWS::SecretsManager::Secret').length, PRICES.secret),
  ];
}

/** A day's stage times as the bench measured them (`docs/performance.json`). */
export interface StageTimes {
  readonly rows: number;
  /** Each stage's call: wall seconds and, in results written since the bench measures it, CPU seconds. */
  readonly stages: readonly { readonly stage: string; readonly seconds: number; readonly cpuSeconds?: number }[];
}

/** State transitions of one day's child execution and its share of the parent (PlanDay, the range Map and its tasks, Validate, DayPassed). */
const TRANSITIONS_A_DAY = 10;
/** S3 PUT-class requests of one day (staging, data, quarantine, report, manifest, lock writes and deletes). */
const PUTS_A_DAY = 15;

/**
 * The variable cost of a month of days of `rowsPerDay` rows, the Lambda part scaled linearly from
 * the bench's stage times at each stage's memory size, its CPU time stretched as `lambdaSeconds`
 * says (bench seconds are a local machine's, not Lambda's: an estimate).
 */
export function variableMonthlyCost(day: StageTimes, rowsPerDay: number): { readonly gbSeconds: number; readonly lines: CostLine[] } {
  const gbSeconds =
    DAYS_A_MONTH *
    day.stages
      .map((measured) => {
        const spec = STAGE_LIST.find((s) => s.name === measured.stage);
        if (!spec) throw new Error(`bench stage ${measured.stage} is no stage of the registry`);
        // Results written before the bench measured CPU time: their seconds as they are.
        const duration = measured.cpuSeconds === undefined ? measured.seconds : lambdaSeconds(measured.seconds, measured.cpuSeconds, spec.lambda.memoryMb);
        return duration * (rowsPerDay / day.rows) * (spec.lambda.memoryMb / 1024);
      })
      .reduce((a, b) => a + b, 0);
  const invocations = DAYS_A_MONTH * (day.stages.length + 1);
  return {
    gbSeconds,
    lines: [
      line('Lambda GB-seconds', gbSeconds, PRICES.lambdaGbSecond),
      line('Lambda requests', invocations, PRICES.lambdaMillionRequests / 1_000_000),
      line('Step Functions transitions', DAYS_A_MONTH * TRANSITIONS_A_DAY, PRICES.thousandTransitions / 1000),
      line('S3 PUT-class requests', DAYS_A_MONTH * PUTS_A_DAY, PRICES.thousandPuts / 1000),
    ],
  };
}
