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
    it(`${spec.name}: alarms on any error and on a duration above 90% of its timeout`, () => {
      const dimensions = [{ Name: 'FunctionName', Value: { Ref: functionId(spec.state) } }];
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: dimensions,
        Statistic: 'Sum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        AlarmActions: [topic],
      });
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/Lambda',
        MetricName: 'Duration',
        Dimensions: dimensions,
        Statistic: 'Maximum',
        Threshold: spec.lambda.timeoutSeconds * 1000 * 0.9,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        AlarmActions: [topic],
      });
    });
  }

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

  it('alarms when no day was published for 26 hours, missing data counting as none published', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: METRICS_NAMESPACE,
      MetricName: METRIC.daysPublished,
      Dimensions: Match.arrayEquals([
        { Name: 'service', Value: stack.stackName },
        { Name: 'stage', Value: 'validate' },
      ]),
      Statistic: 'Sum',
      Period: 3600,
      EvaluationPeriods: 26,
      DatapointsToAlarm: 26,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
      AlarmActions: [topic],
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
    expect(Object.keys(unscheduled.findResources('AWS::CloudWatch::Alarm'))).toHaveLength(
      Object.keys(template.findResources('AWS::CloudWatch::Alarm')).length - 1,
    );
  });

  it('every alarm notifies the alarm topic', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as { Properties: { AlarmActions: unknown[] } }[];
    expect(alarms).toHaveLength(3 + 2 * STAGE_LIST.length + 2);
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toEqual([topic]);
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
    for (const id of Object.keys(template.findResources('AWS::CloudWatch::Alarm'))) expect(text, id).toContain(id);
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
