/**
 * The pipeline's CloudWatch metrics, one EMF record per stage invocation (Powertools Metrics),
 * emitted at the Lambda handler only: local runs call `runStage` directly and print none.
 *
 * Every record has the dimensions `service` (the deployment: the stack sets
 * `POWERTOOLS_SERVICE_NAME` to its name) and `stage`, the metric `StageDuration`, and the counts
 * its stage's output carries (`STAGE_MEASURES`); the day and the run go in as properties, not
 * dimensions, so a record is found per day with Logs Insights without a metric per day.
 * The stack reads `METRICS_NAMESPACE` and `METRIC` to build its alarms and dashboard.
 */
import type { SnapshotResult } from './snapshot/snapshot.js';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MetricUnit as Unit } from '@aws-lambda-powertools/metrics/types';
import type { DayPlan, ExtractOutput, RunPlan, TransformOutput, ValidateOutput } from './contracts.js';
import type { STAGES, StageKey } from './stages.js';

/** The CloudWatch namespace of the pipeline's metrics. */
export const METRICS_NAMESPACE = 'PgLakeEtl';

/** The variable naming the deployment (the `service` dimension); the stack sets it to its name. */
export const METRICS_SERVICE_VARIABLE = 'POWERTOOLS_SERVICE_NAME';

/** The `service` dimension when no deployment is named (tests, a function deployed by hand). */
export const DEFAULT_METRICS_SERVICE = 'pg-lake-etl';

/** The metric names, for the handler and for the stack's alarms and dashboard. */
export const METRIC = {
  /** Wall time of one invocation, failed ones included (ms). */
  stageDuration: 'StageDuration',
  /** A day published (validate): the freshness alarm watches it. */
  daysPublished: 'DaysPublished',
  /** A day given up after its lease was taken (release-day). */
  daysFailed: 'DaysFailed',
  /** Days an execution planned (plan). */
  plannedDays: 'PlannedDays',
  /** Source rows counted (plan-day), extracted (extract), written (transform-write), published (validate). */
  rows: 'Rows',
  /** Rows with a value quarantined (transform-write per range, validate per day). */
  quarantinedRows: 'QuarantinedRows',
  /** Bytes staged (extract), written (transform-write), published (validate). */
  bytes: 'Bytes',
  /** Parquet files written (transform-write) and published (validate). */
  files: 'Files',
  /** Hour ranges a day was cut into (plan-day). */
  ranges: 'Ranges',
  /** How long a glob reader could see the day half replaced: first file promoted to last superseded one removed (validate, ms). */
  publishWindow: 'PublishWindow',
} as const;

type MetricName = (typeof METRIC)[keyof typeof METRIC];
type Measure = readonly [name: MetricName, unit: Unit, value: number];
type StageName = (typeof STAGES)[StageKey]['name'];

const count = (name: MetricName, value: number): Measure => [name, MetricUnit.Count, value];
const bytes = (value: number): Measure => [METRIC.bytes, MetricUnit.Bytes, value];
const sum = (items: readonly ({ bytes: number } | undefined)[]) => items.reduce((total, item) => total + (item?.bytes ?? 0), 0);

/** What each stage's output says in metrics: the counts of the day (or of its hour range). */
export const STAGE_MEASURES: { readonly [N in StageName]: (output: never) => Measure[] } = {
  plan: (o: RunPlan) => [count(METRIC.plannedDays, o.dates.length)],
  snapshot: (o: SnapshotResult) => Object.values(o.tables).flatMap((t) => [count(METRIC.rows, t.rows), bytes(t.bytes)]),
  'plan-day': (o: DayPlan) => [count(METRIC.rows, o.plannedRows), count(METRIC.ranges, o.ranges.length)],
  extract: (o: ExtractOutput) => [count(METRIC.rows, o.sourceCount), bytes(o.staging.rentals.bytes)],
  'transform-write': (o: TransformOutput) => [
    count(METRIC.rows, o.metrics.rows),
    count(METRIC.quarantinedRows, o.metrics.quarantined),
    count(METRIC.files, o.files.length),
    bytes(sum(o.files)),
  ],
  validate: (o: ValidateOutput) => [
    count(METRIC.daysPublished, 1),
    count(METRIC.rows, o.rows),
    count(METRIC.quarantinedRows, o.quarantined),
    count(METRIC.files, o.files),
    bytes(o.bytes),
    [METRIC.publishWindow, MetricUnit.Milliseconds, o.publishWindowMs],
  ],
  'release-day': () => [count(METRIC.daysFailed, 1)],
};

/** The day, run and hour range an event or output names, as EMF properties. */
function dayProperties(...values: unknown[]): Record<string, string> {
  const properties: Record<string, string> = {};
  for (const value of values) {
    if (typeof value !== 'object' || value === null) continue;
    const { date, runId, hours } = value as Record<string, unknown>;
    if (typeof date === 'string') properties.date = date;
    if (typeof runId === 'string') properties.runId = runId;
    if (typeof hours === 'object' && hours !== null) properties.hours = JSON.stringify(hours);
  }
  return properties;
}

/** Runs one invocation of a stage and emits its record. */
export type MeasuredRun = <O>(event: unknown, run: () => Promise<O>) => Promise<O>;

/**
 * The metrics of the stage `name` in this function: made once at cold start; each call runs an
 * invocation and prints its EMF record to stdout after it ends, whether it returned or threw.
 */
export function stageMetrics(name: string, env: Record<string, string | undefined>): MeasuredRun {
  if (!Object.hasOwn(STAGE_MEASURES, name)) throw new Error(`stage ${name} has no entry in STAGE_MEASURES (src/pipeline/metrics.ts)`);
  const measure = STAGE_MEASURES[name as StageName] as (output: unknown) => Measure[];
  const metrics = new Metrics({
    namespace: METRICS_NAMESPACE,
    serviceName: env[METRICS_SERVICE_VARIABLE] || DEFAULT_METRICS_SERVICE,
    defaultDimensions: { stage: name },
  });
  return async <O>(event: unknown, run: () => Promise<O>): Promise<O> => {
    const started = performance.now();
    let output: O | undefined;
    let outcome = 'error';
    try {
      output = await run();
      outcome = 'ok';
      for (const [metric, unit, value] of measure(output)) metrics.addMetric(metric, unit, value);
      return output;
    } finally {
      metrics.addMetric(METRIC.stageDuration, MetricUnit.Milliseconds, Math.round(performance.now() - started));
      for (const [key, value] of Object.entries({ ...dayProperties(event, output), outcome })) metrics.addMetadata(key, value);
      metrics.publishStoredMetrics();
    }
  };
}
