/**
 * What an operator is told and shown: the alarms (each notifying the alarm topic), the schedule's
 * dead-letter queue, the freshness alarm on the metric the validate stage emits, and the
 * dashboard that shows the pipeline's metrics beside the alarms.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { METRIC, METRICS_NAMESPACE } from '../../src/pipeline/metrics.js';
import { STAGE_LIST } from '../../src/pipeline/stages.js';
import { buildStack, logicalId } from './support.js';

const { stack, template } = buildStack();
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>;
const topic = { Ref: logicalId(template, 'AWS::SNS::Topic', 'AlarmTopic') };
const stateMachine = { Ref: logicalId(template, 'AWS::StepFunctions::StateMachine', 'Pipeline') };
const functionId = (state: string) => logicalId(template, 'AWS::Lambda::Function', `${state}Function`);

describe('alarms', () => {
  it.each(['ExecutionsFailed', 'ExecutionsAborted', 'ExecutionsTimedOut'])('%s: one execution in 5 minutes notifies the alarm topic', (metricName) => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/States',
      MetricName: metricName,
      Dimensions: [{ Name: 'StateMachineArn', Value: stateMachine }],
      Statistic: 'Sum',
      Period: 300,
      Threshold: 1,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [topic],
    });
  });

  for (const spec of STAGE_LIST) {
    it(`${spec.name}: alarms on a duration above 90% of its timeout`, () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/Lambda',
        MetricName: 'Duration',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionId(spec.state) } }],
        Statistic: 'Maximum',
        Threshold: spec.lambda.timeoutSeconds * 1000 * 0.9,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        AlarmActions: [topic],
      });
    });
  }

  it("does not alarm on a function's errors, which the state machine retries (PartitionBusyError while the schedule and a backfill overlap)", () => {
    // Assess: no alarm reads Errors, alone or in metric math.
    expect(JSON.stringify(template.findResources('AWS::CloudWatch::Alarm'))).not.toContain('"Errors"');
  });

  it('alarms on a day given up (DaysFailed, counted by release-day) in 5 minutes', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: METRICS_NAMESPACE,
      MetricName: METRIC.daysFailed,
      Dimensions: Match.arrayEquals([
        { Name: 'service', Value: stack.stackName },
        { Name: 'stage', Value: 'release-day' },
      ]),
      Statistic: 'Sum',
      Period: 300,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [topic],
    });
  });

  it('alarms when Lambda throttles the functions, all of them summed, in three 5-minute periods on end', () => {
    // Arrange
    const [throttled] = Object.values(
      template.findResources('AWS::CloudWatch::Alarm', { Properties: { AlarmDescription: Match.stringLikeRegexp('throttled') } }),
    ) as {
      Properties: {
        Metrics: { Id: string; Expression?: string; MetricStat?: { Metric: { MetricName: string; Dimensions: unknown[] }; Stat: string; Period: number } }[];
      } & Record<string, unknown>;
    }[];
    const metrics = throttled.Properties.Metrics;
    const expression = metrics.find((m) => m.Expression !== undefined);
    const inputs = metrics.filter((m) => m.MetricStat !== undefined);
    // Assess
    expect(throttled.Properties).toMatchObject({ EvaluationPeriods: 3, DatapointsToAlarm: 3, Threshold: 1, AlarmActions: [topic] });
    expect(expression?.Expression).toBe(`SUM([${inputs.map((m) => m.Id).join(',')}])`);
    expect(inputs.map((m) => [m.MetricStat?.Metric.MetricName, m.MetricStat?.Stat, m.MetricStat?.Period])).toEqual(
      STAGE_LIST.map(() => ['Throttles', 'Sum', 300]),
    );
    expect(inputs.map((m) => m.MetricStat?.Metric.Dimensions).sort()).toEqual(
      STAGE_LIST.map((spec) => [{ Name: 'FunctionName', Value: { Ref: functionId(spec.state) } }]).sort(),
    );
  });

  it('sends a schedule invocation Scheduler could not deliver to an encrypted, TLS-only dead-letter queue, whose depth alarms', () => {
    // Arrange
    const queue = logicalId(template, 'AWS::SQS::Queue', 'ScheduleDeadLetters');
    // Assess
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Target: Match.objectLike({ DeadLetterConfig: { Arn: { 'Fn::GetAtt': [queue, 'Arn'] } }, RetryPolicy: Match.objectLike({ MaximumRetryAttempts: 10 }) }),
    });
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 86_400 });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queue, 'QueueName'] } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [topic],
    });
  });

  describe('freshness', () => {
    const published = {
      Namespace: METRICS_NAMESPACE,
      MetricName: METRIC.daysPublished,
      Dimensions: Match.arrayEquals([
        { Name: 'service', Value: stack.stackName },
        { Name: 'stage', Value: 'validate' },
      ]),
      Statistic: 'Sum',
      Period: 3600,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
    };
    const stale = logicalId(template, 'AWS::CloudWatch::Alarm', 'MonitoringFreshnessStaleAlarm');
    const guard = logicalId(template, 'AWS::CloudWatch::Alarm', 'MonitoringFreshnessGuardAlarm');
    const composite = Object.values(template.findResources('AWS::CloudWatch::CompositeAlarm'))[0] as { Properties: Record<string, unknown> };

    /**
     * The composite's rule as CloudWatch evaluates it, for the states of its two parts: the rule is
     * `(ALARM("<arn>") AND OK("<arn>"))` with the parts' ARNs joined in.
     */
    function compositeFires(states: Record<string, 'ALARM' | 'OK' | 'INSUFFICIENT_DATA'>): boolean {
      const [, parts] = (composite.Properties.AlarmRule as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
      const rule = parts.map((p) => (typeof p === 'string' ? p : (p as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0])).join('');
      const terms = [...rule.matchAll(/(ALARM|OK|INSUFFICIENT_DATA)\("([^"]+)"\)/g)];
      expect(rule.replace(/(ALARM|OK|INSUFFICIENT_DATA)\("[^"]+"\)/g, 'X')).toBe('(X AND X)');
      return terms.every(([, state, id]) => states[id] === state);
    }

    it('stale part: no day published for 26 hours, missing data counting as none published; it notifies no one', () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        ...published,
        EvaluationPeriods: 26,
        DatapointsToAlarm: 26,
        TreatMissingData: 'breaching',
        AlarmActions: Match.absent(),
      });
      expect((resources[stale].Properties as Record<string, unknown>).TreatMissingData).toBe('breaching');
    });

    it('guard: OK from the first day published on (missing data keeps the state), INSUFFICIENT_DATA before; it notifies no one', () => {
      expect(resources[guard].Properties).toMatchObject({ ...published, Dimensions: expect.any(Array), EvaluationPeriods: 1, TreatMissingData: 'ignore' });
      expect(resources[guard].Properties.AlarmActions).toBeUndefined();
    });

    it('notifies the alarm topic when stale after a first publish, and not after a deploy before any', () => {
      expect(composite.Properties.AlarmActions).toEqual([topic]);
      // Right after the first deploy: nothing published, the stale part in alarm, the guard without data.
      expect(compositeFires({ [stale]: 'ALARM', [guard]: 'INSUFFICIENT_DATA' })).toBe(false);
      // A day published, then 26 hours without one.
      expect(compositeFires({ [stale]: 'ALARM', [guard]: 'OK' })).toBe(true);
      expect(compositeFires({ [stale]: 'OK', [guard]: 'OK' })).toBe(false);
    });
  });

  it('watches the metrics of the deployment it belongs to: the functions name it as the metrics service', () => {
    for (const spec of STAGE_LIST) {
      const variables = (resources[functionId(spec.state)].Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(variables.POWERTOOLS_SERVICE_NAME, spec.name).toBe(stack.stackName);
    }
  });

  it('has no freshness alarm while the schedule is off (nothing is expected then), the others still', () => {
    // Act
    const { template: unscheduled } = buildStack({ scheduleEnabled: false });
    // Assess
    expect(Object.keys(unscheduled.findResources('AWS::CloudWatch::Alarm', { Properties: { MetricName: METRIC.daysPublished } }))).toEqual([]);
    unscheduled.resourceCountIs('AWS::CloudWatch::CompositeAlarm', 0);
    expect(Object.keys(unscheduled.findResources('AWS::CloudWatch::Alarm'))).toHaveLength(
      Object.keys(template.findResources('AWS::CloudWatch::Alarm')).length - 2,
    );
  });

  it("every alarm notifies the alarm topic, but the freshness alarm's two parts, which only its composite reads", () => {
    const alarms = Object.entries(template.findResources('AWS::CloudWatch::Alarm')) as [string, { Properties: { AlarmActions?: unknown[] } }][];
    // Executions 3, days failed, near timeout per function, throttled, schedule delivery, the freshness parts 2.
    expect(alarms).toHaveLength(3 + 1 + STAGE_LIST.length + 1 + 1 + 2);
    for (const [id, alarm] of alarms) {
      if (/^MonitoringFreshness(Stale|Guard)Alarm/.test(id)) expect(alarm.Properties.AlarmActions, id).toBeUndefined();
      else expect(alarm.Properties.AlarmActions, id).toEqual([topic]);
    }
    template.resourceCountIs('AWS::CloudWatch::CompositeAlarm', 1);
  });
});

describe('dashboard', () => {
  const body = (): string => {
    const dashboard = Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0] as { Properties: { DashboardBody: unknown } };
    // The body is a Fn::Join of JSON text and references; the text is what is checked.
    const parts = (dashboard.Properties.DashboardBody as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
    return parts.map((p) => (typeof p === 'string' ? p : JSON.stringify(p))).join('');
  };

  it('is one dashboard named after the stack', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: `${stack.stackName}-Pipeline` });
  });

  it('shows every alarm', () => {
    const text = body();
    for (const id of Object.keys({ ...template.findResources('AWS::CloudWatch::Alarm'), ...template.findResources('AWS::CloudWatch::CompositeAlarm') }))
      expect(text, id).toContain(id);
    expect(text).toContain('"type":"alarm"');
  });

  it('graphs rows, quarantined rows, bytes, files, days published and failed, and the duration of every stage', () => {
    const text = body();
    for (const metric of [METRIC.rows, METRIC.quarantinedRows, METRIC.bytes, METRIC.files, METRIC.daysPublished, METRIC.daysFailed, METRIC.publishWindow]) {
      expect(text, metric).toContain(`["${METRICS_NAMESPACE}","${metric}","service","${stack.stackName}","stage",`);
    }
    for (const spec of STAGE_LIST) {
      expect(text, spec.name).toContain(`["${METRICS_NAMESPACE}","${METRIC.stageDuration}","service","${stack.stackName}","stage","${spec.name}"`);
    }
  });
});
