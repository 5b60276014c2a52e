/**
 * What an operator watches: the alarms of the pipeline, each notifying the alarm topic, and one
 * CloudWatch dashboard with the pipeline's metrics (`src/pipeline/metrics.ts`: rows, quarantined
 * rows, bytes, files, duration per stage, days published and failed) beside those alarms.
 *
 * Alarms: executions failed, aborted or timed out; a day given up (`DaysFailed`); per function, a
 * duration near its timeout; Lambda throttling for 15 minutes on end; a schedule invocation that
 * could not be delivered (its dead-letter queue is not empty); and, while the schedule is on, no
 * day published for 26 hours once a first day has been.
 *
 * A function's errors alarm no one: the state machine retries the transient ones (another run
 * holding the day, `PartitionBusyError`, when the schedule and a backfill overlap), and a day that
 * fails for good is released and counted in `DaysFailed`, or fails its execution. Throttling is the
 * connection cap at work (reserved concurrency) while it lasts minutes; longer, days wait too long.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import {
  Alarm,
  AlarmRule,
  AlarmState,
  AlarmStatusWidget,
  ComparisonOperator,
  CompositeAlarm,
  Dashboard,
  GraphWidget,
  type IAlarm,
  MathExpression,
  Metric,
  TreatMissingData,
  type IMetric,
  type IWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { METRIC, METRICS_NAMESPACE } from '../../src/pipeline/metrics.js';

/** A function of the pipeline, named as its stage and task state are. */
export interface MonitoredFunction {
  /** The stage's name (the `stage` dimension of its metrics). */
  readonly stage: string;
  /** Its task state (the alarms' construct ids). */
  readonly state: string;
  readonly function: IFunction;
  readonly timeout: Duration;
}

export interface PipelineMonitoringProps {
  readonly stateMachine: IStateMachine;
  readonly functions: readonly MonitoredFunction[];
  /** The dead-letter queue of the schedule's target. */
  readonly scheduleDeadLetters: IQueue;
  /** The `service` dimension of the pipeline's metrics (`POWERTOOLS_SERVICE_NAME` of the functions). */
  readonly metricsService: string;
  /** Where every alarm notifies. */
  readonly topic: ITopic;
  /** Whether a day is expected every day (the schedule is on): adds the freshness alarm. */
  readonly expectDailyPublish: boolean;
  /** @default 26 hours */
  readonly freshness?: Duration;
  /** Share of a function's timeout above which a run counts as near it. @default 0.9 */
  readonly nearTimeoutShare?: number;
}

const FIVE_MINUTES = Duration.minutes(5);

export class PipelineMonitoring extends Construct {
  /** Every alarm, those that notify no one (the freshness alarm's parts) included. */
  readonly alarms: IAlarm[] = [];
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: PipelineMonitoringProps) {
    super(scope, id);
    const { stateMachine, functions, topic } = props;
    const action = new SnsAction(topic);
    const alarm = (
      alarmId: string,
      description: string,
      options: { metric: IMetric; threshold: number; missing?: TreatMissingData; below?: boolean; periods?: number; silent?: boolean },
    ) => {
      const created = new Alarm(this, alarmId, {
        alarmDescription: description,
        metric: options.metric,
        threshold: options.threshold,
        evaluationPeriods: options.periods ?? 1,
        datapointsToAlarm: options.periods ?? 1,
        comparisonOperator: options.below ? ComparisonOperator.LESS_THAN_THRESHOLD : ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: options.missing ?? TreatMissingData.NOT_BREACHING,
      });
      if (!options.silent) created.addAlarmAction(action);
      this.alarms.push(created);
      return created;
    };
    const sum = { period: FIVE_MINUTES, statistic: 'Sum' };

    // --- Executions
    alarm('ExecutionsFailedAlarm', 'A pipeline execution failed: see the DaysFailed cause or the execution history', {
      metric: stateMachine.metricFailed(sum),
      threshold: 1,
    });
    alarm('ExecutionsAbortedAlarm', 'A pipeline execution was stopped (StopExecution): its days may hold their leases until they expire', {
      metric: stateMachine.metricAborted(sum),
      threshold: 1,
    });
    alarm('ExecutionsTimedOutAlarm', 'A pipeline execution timed out', { metric: stateMachine.metricTimedOut(sum), threshold: 1 });

    // Labelled by stage on the dashboard; an alarm's metric has no label (a label makes it a metric-math alarm).
    const pipelineMetric = (metricName: string, stage: string, statistic: string, period: Duration, labelled = true) =>
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service: props.metricsService, stage },
        statistic,
        period,
        label: labelled ? stage : undefined,
      });

    // --- Days: a day given up after its stages' retries (release-day counts it).
    alarm('DaysFailedAlarm', "A day failed for good and was released: see its report and the day's child execution (etl status --date D)", {
      metric: pipelineMetric(METRIC.daysFailed, 'release-day', 'Sum', FIVE_MINUTES, false),
      threshold: 1,
    });

    // --- Functions
    const share = props.nearTimeoutShare ?? 0.9;
    for (const fn of functions) {
      alarm(
        `${fn.state}NearTimeoutAlarm`,
        `A ${fn.stage} invocation ran longer than ${Math.round(share * 100)}% of its ${fn.timeout.toSeconds()} s timeout: give it more memory or cut days into smaller ranges`,
        {
          metric: fn.function.metricDuration({ period: FIVE_MINUTES, statistic: 'Maximum' }),
          threshold: Math.floor(fn.timeout.toMilliseconds() * share),
        },
      );
    }

    // Throttled invocations of every function together (a metric-math sum), in each of three 5-minute periods.
    const throttles = new MathExpression({
      expression: `SUM([${functions.map((_, i) => `t${i}`).join(',')}])`,
      usingMetrics: Object.fromEntries(functions.map((fn, i) => [`t${i}`, fn.function.metricThrottles(sum)])),
      period: FIVE_MINUTES,
      label: 'Throttled invocations, all functions',
    });
    alarm(
      'ThrottledAlarm',
      "Lambda throttled the pipeline's functions for 15 minutes on end: days wait for database connections (maxDatabaseConnections) or the account's concurrency",
      { metric: throttles, threshold: 1, periods: 3 },
    );

    // --- Schedule
    const undelivered = props.scheduleDeadLetters.metricApproximateNumberOfMessagesVisible({ period: FIVE_MINUTES, statistic: 'Maximum' });
    alarm('ScheduleDeliveryFailedAlarm', 'EventBridge Scheduler could not start the daily execution: see the message in the dead-letter queue', {
      metric: undelivered,
      threshold: 1,
    });

    // --- Freshness: one datapoint per hour with a publish; 26 hours without any is 26 breaching periods.
    // Right after a deploy nothing was ever published: the stale part alone would be in alarm at once,
    // so the alarm that notifies also needs the guard, OK from the first publish on (missing data then
    // keeps its state) and INSUFFICIENT_DATA until then.
    if (props.expectDailyPublish) {
      const freshness = props.freshness ?? Duration.hours(26);
      const published = pipelineMetric(METRIC.daysPublished, 'validate', 'Sum', Duration.hours(1), false);
      const stale = alarm('FreshnessStaleAlarm', `No day was published for ${freshness.toHours()} hours (part of the Freshness alarm; notifies no one)`, {
        metric: published,
        threshold: 1,
        below: true,
        missing: TreatMissingData.BREACHING,
        periods: freshness.toHours(),
        silent: true,
      });
      const publishedOnce = alarm(
        'FreshnessGuardAlarm',
        'OK once a first day was published, INSUFFICIENT_DATA until then (part of the Freshness alarm; notifies no one)',
        {
          metric: published,
          threshold: 1,
          below: true,
          missing: TreatMissingData.IGNORE,
          silent: true,
        },
      );
      const fresh = new CompositeAlarm(this, 'FreshnessAlarm', {
        alarmDescription: `No day was published for ${freshness.toHours()} hours, after a first one was (no alarm after a deploy until then)`,
        alarmRule: AlarmRule.allOf(AlarmRule.fromAlarm(stale, AlarmState.ALARM), AlarmRule.fromAlarm(publishedOnce, AlarmState.OK)),
      });
      fresh.addAlarmAction(action);
      this.alarms.push(fresh);
    }

    // --- Dashboard
    const day = Duration.days(1);
    const perStage = (metricName: string, stages: readonly string[], statistic = 'Sum', period = day) =>
      stages.map((stage) => pipelineMetric(metricName, stage, statistic, period));
    const stageNames = functions.map((f) => f.stage);
    const graph = (title: string, left: IMetric[], width = 8): IWidget => new GraphWidget({ title, left, width, height: 6 });
    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: `${Stack.of(this).stackName}-Pipeline`,
      defaultInterval: Duration.days(14),
    });
    this.dashboard.addWidgets(new AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24, height: 6 }));
    this.dashboard.addWidgets(
      graph('Days published and failed (per day)', [
        pipelineMetric(METRIC.daysPublished, 'validate', 'Sum', day),
        pipelineMetric(METRIC.daysFailed, 'release-day', 'Sum', day),
      ]),
      graph('Executions (per hour)', [
        stateMachine.metricSucceeded({ period: Duration.hours(1), statistic: 'Sum' }),
        stateMachine.metricFailed({ period: Duration.hours(1), statistic: 'Sum' }),
        stateMachine.metricAborted({ period: Duration.hours(1), statistic: 'Sum' }),
        stateMachine.metricTimedOut({ period: Duration.hours(1), statistic: 'Sum' }),
      ]),
      graph('Schedule deliveries failed (dead-letter queue)', [undelivered]),
    );
    this.dashboard.addWidgets(
      graph('Rows: source (extract), written, published (per day)', perStage(METRIC.rows, ['extract', 'transform-write', 'validate']), 6),
      graph('Quarantined rows (per day)', perStage(METRIC.quarantinedRows, ['transform-write', 'validate']), 6),
      graph('Bytes: staged, written, published (per day)', perStage(METRIC.bytes, ['extract', 'transform-write', 'validate']), 6),
      graph('Parquet files: written, published (per day)', perStage(METRIC.files, ['transform-write', 'validate']), 6),
    );
    this.dashboard.addWidgets(
      graph('Stage duration, average (ms)', perStage(METRIC.stageDuration, stageNames, 'Average', Duration.hours(1)), 6),
      graph('Stage duration, maximum (ms)', perStage(METRIC.stageDuration, stageNames, 'Maximum', Duration.hours(1)), 6),
      graph('Publish window, maximum (ms)', perStage(METRIC.publishWindow, ['validate'], 'Maximum', Duration.hours(1)), 6),
      graph(
        'Lambda errors and throttles',
        [
          ...functions.map((f) => f.function.metricErrors({ period: Duration.hours(1), statistic: 'Sum', label: `${f.stage} errors` })),
          ...functions.map((f) => f.function.metricThrottles({ period: Duration.hours(1), statistic: 'Sum', label: `${f.stage} throttles` })),
        ],
        6,
      ),
    );
  }
}
