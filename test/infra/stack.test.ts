/**
 * The stack's resources and their settings, read from the synthesized template.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { stackPropsFromContext } from '../../infra/context.js';
import { STACK_DEFAULTS } from '../../infra/lake-etl-stack.js';
import { createApp } from '../../infra/create-app.js';
import { STAGE_LIST } from '../../src/pipeline/stages.js';
import { thrownBy } from '../support/outcomes.js';
import { buildStack, logicalId } from './support.js';

const { template } = buildStack();

// biome-ignore lint/suspicious/noExplicitAny: template properties are read as the loose JSON they are.
type Fn = { Properties: Record<string, any> };
function lambda(prefix: string): Fn {
  return template.toJSON().Resources[logicalId(template, 'AWS::Lambda::Function', prefix)] as Fn;
}

describe('resources', () => {
  it('has a function per stage, one state machine, one schedule and its dead-letter queue, one alarm topic and dashboard, the Glue tables, the lake and access-log buckets', () => {
    template.resourceCountIs('AWS::Lambda::Function', STAGE_LIST.length);
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    template.resourceCountIs('AWS::Scheduler::Schedule', 1);
    template.resourceCountIs('AWS::SQS::Queue', 1);
    template.resourceCountIs('AWS::SNS::Topic', 1);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    template.resourceCountIs('AWS::Glue::Database', 1);
    template.resourceCountIs('AWS::Glue::Table', 6);
    template.resourceCountIs('AWS::S3::Bucket', 2);
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
  });

  it('uses an existing bucket and secret when given, creating neither', () => {
    // Arrange / Act
    const { template: imported } = buildStack({
      existingBucketName: 'my-lake',
      databaseSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-1234-AbCdEf',
    });
    // Assess
    imported.resourceCountIs('AWS::S3::Bucket', 0);
    imported.resourceCountIs('AWS::SecretsManager::Secret', 0);
    imported.hasOutput('LakeUri', { Value: 's3://my-lake/lake' });
  });
});

describe('lake bucket', () => {
  const lakeBucket = logicalId(template, 'AWS::S3::Bucket', 'LakeBucket');

  it('blocks public access, encrypts, versions and logs access', () => {
    template.hasResource('AWS::S3::Bucket', {
      Properties: Match.objectLike({
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        VersioningConfiguration: { Status: 'Enabled' },
        LoggingConfiguration: Match.objectLike({ DestinationBucketName: Match.anyValue() }),
      }),
      DeletionPolicy: 'Retain',
    });
    expect(Object.keys(template.findResources('AWS::S3::Bucket', { Properties: { VersioningConfiguration: { Status: 'Enabled' } } }))).toEqual([lakeBucket]);
  });

  it('denies every request that does not use TLS', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: lakeBucket },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 's3:*', Principal: { AWS: '*' }, Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('expires staged objects after 3 days, old versions after 30, and aborts stale uploads', () => {
    const rules = (template.toJSON().Resources[lakeBucket] as Fn).Properties.LifecycleConfiguration.Rules as Record<string, unknown>[];
    expect(rules).toContainEqual(expect.objectContaining({ Id: 'expire-staging', Prefix: 'lake/_staging/', ExpirationInDays: 3, Status: 'Enabled' }));
    expect(rules).toContainEqual(expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 30 }, Status: 'Enabled' }));
    expect(rules).toContainEqual(expect.objectContaining({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' }));
    // Only staging, reports and quarantine files expire as current objects: published data never ages out.
    expect(rules.filter((r) => 'ExpirationInDays' in r).map((r) => r.Prefix)).toEqual(['lake/_staging/', 'lake/_reports/', 'lake/_quarantine/']);
  });

  it('expires validation reports and quarantine files after a year by default, or after reportRetentionDays', () => {
    // Arrange
    const expiring = (built: typeof template) => {
      const id = Object.keys(built.findResources('AWS::S3::Bucket', { Properties: { VersioningConfiguration: { Status: 'Enabled' } } }))[0];
      const rules = (built.toJSON().Resources[id] as Fn).Properties.LifecycleConfiguration.Rules as Record<string, unknown>[];
      return rules.filter((r) => r.Id === 'expire-reports' || r.Id === 'expire-quarantine').map((r) => [r.Prefix, r.ExpirationInDays, r.Status]);
    };
    // Act
    const kept = expiring(buildStack({ reportRetentionDays: 90, lakePrefix: '' }).template);
    // Assess
    expect(expiring(template)).toEqual([
      ['lake/_reports/', 365, 'Enabled'],
      ['lake/_quarantine/', 365, 'Enabled'],
    ]);
    expect(kept).toEqual([
      ['_reports/', 90, 'Enabled'],
      ['_quarantine/', 90, 'Enabled'],
    ]);
    expect(stackPropsFromContext((key) => (key === 'reportRetentionDays' ? '730' : undefined)).props.reportRetentionDays).toBe(730);
  });
});

describe('functions', () => {
  const sizes = {
    PlanFunction: { MemorySize: 256, Timeout: 300 },
    SnapshotFunction: { MemorySize: 1024, Timeout: 300 },
    PlanDayFunction: { MemorySize: 256, Timeout: 300 },
    ExtractFunction: { MemorySize: 1024, Timeout: 600 },
    TransformWriteFunction: { MemorySize: 2048, Timeout: 900 },
    ValidateFunction: { MemorySize: 1024, Timeout: 900 },
    ReleaseDayFunction: { MemorySize: 128, Timeout: 30 },
  };

  it('sizes every function of the registry', () => {
    expect(Object.keys(sizes).sort()).toEqual(STAGE_LIST.map((spec) => `${spec.state}Function`).sort());
  });

  for (const [prefix, size] of Object.entries(sizes)) {
    it(`${prefix}: nodejs24.x on arm64, traced, source maps, own log group with a retention, sized`, () => {
      const fn = lambda(prefix).Properties;
      expect(fn).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], TracingConfig: { Mode: 'Active' }, Handler: 'index.handler', ...size });
      expect(fn.Environment.Variables.NODE_OPTIONS).toBe('--enable-source-maps');
      // Node.js 20+ runtimes load the Amazon CAs (RDS's among them) only when told to: TLS to RDS needs them.
      expect(fn.Environment.Variables.NODE_EXTRA_CA_CERTS).toBe('/var/runtime/ca-cert.pem');
      const logGroup = fn.LoggingConfig.LogGroup.Ref as string;
      expect(template.toJSON().Resources[logGroup]).toMatchObject({ Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 30 } });
    });
  }

  it('gives each function the configuration of its slice, and nothing else', () => {
    // POWERTOOLS_SERVICE_NAME: the deployment, as the `service` dimension of every function's metrics.
    const RUNTIME_ENV = { NODE_OPTIONS: '--enable-source-maps', NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem', POWERTOOLS_SERVICE_NAME: 'TestStack' };
    const lakeUri = { 'Fn::Join': ['', ['s3://', { Ref: logicalId(template, 'AWS::S3::Bucket', 'LakeBucket') }, '/lake']] };
    expect(lambda('PlanFunction').Properties.Environment.Variables).toEqual({
      ...RUNTIME_ENV,
      LAKE_URI: lakeUri,
      PARTITION_TIMEZONE: 'UTC',
      DATABASE_SECRET_ARN: { Ref: logicalId(template, 'AWS::SecretsManager::Secret', 'DatabaseSecret') },
    });
    // The functions that commit an Iceberg table move its Glue table: they get the database.
    expect(lambda('ValidateFunction').Properties.Environment.Variables).toEqual({ ...RUNTIME_ENV, LAKE_URI: lakeUri, GLUE_DATABASE: 'test_stack' });
    expect(lambda('ReleaseDayFunction').Properties.Environment.Variables).toEqual({ ...RUNTIME_ENV, LAKE_URI: lakeUri, GLUE_DATABASE: 'test_stack' });
    expect(lambda('ExtractFunction').Properties.Environment.Variables).toEqual({
      ...RUNTIME_ENV,
      LAKE_URI: lakeUri,
      PARTITION_TIMEZONE: 'UTC',
      DATABASE_SECRET_ARN: { Ref: logicalId(template, 'AWS::SecretsManager::Secret', 'DatabaseSecret') },
    });
    expect(lambda('PlanDayFunction').Properties.Environment.Variables).toEqual({
      ...lambda('ExtractFunction').Properties.Environment.Variables,
      GLUE_DATABASE: 'test_stack',
    });
    expect(lambda('TransformWriteFunction').Properties.Environment.Variables).toEqual({
      ...RUNTIME_ENV,
      LAKE_URI: lakeUri,
      PARTITION_TIMEZONE: 'UTC',
    });
  });

  it("passes the database's host, port and name to the functions that connect (RDS's managed secret holds only the credentials)", () => {
    // Act
    const { template: managed } = buildStack({ databaseHost: 'db.abc.eu-west-1.rds.amazonaws.com', databasePort: 5433, databaseName: 'rentals' });
    const env = (prefix: string) => (managed.toJSON().Resources[logicalId(managed, 'AWS::Lambda::Function', prefix)] as Fn).Properties.Environment.Variables;

    // Assess
    for (const prefix of ['PlanDayFunction', 'ExtractFunction']) {
      expect(env(prefix)).toMatchObject({ DATABASE_HOST: 'db.abc.eu-west-1.rds.amazonaws.com', DATABASE_PORT: '5433', DATABASE_NAME: 'rentals' });
    }
    expect(env('ValidateFunction')).not.toHaveProperty('DATABASE_HOST');
  });

  it('passes tuning and quality limits through, and rejects bad ones at synth with the cold-start parser', () => {
    // Act
    const { template: tuned } = buildStack({
      partitionTimeZone: 'Europe/Berlin',
      quality: { maxNullRate: 0.2 },
      tuning: { rowsPerFile: 1_000_000, rowGroupRows: 100_000, maxRowsPerRange: 5_000_000, keepSupersededHours: 24 },
    });
    const env = (prefix: string) => (tuned.toJSON().Resources[logicalId(tuned, 'AWS::Lambda::Function', prefix)] as Fn).Properties.Environment.Variables;
    // Assess
    expect(env('ValidateFunction')).toMatchObject({ QUALITY_MAX_NULL_RATE: '0.2' });
    expect(env('TransformWriteFunction')).toMatchObject({ PARTITION_TIMEZONE: 'Europe/Berlin' });
    expect(env('TransformWriteFunction')).toMatchObject({ ROWS_PER_FILE: '1000000', ROW_GROUP_ROWS: '100000' });
    expect(env('PlanDayFunction')).toMatchObject({ RANGE_MAX_ROWS: '5000000' });
    // Superseded files are kept by the functions that remove them (those that commit rentals).
    for (const prefix of ['PlanDayFunction', 'ValidateFunction', 'ReleaseDayFunction'])
      expect(env(prefix)).toMatchObject({ ICEBERG_KEEP_SUPERSEDED_HOURS: '24' });
    expect(env('SnapshotFunction')).not.toHaveProperty('ICEBERG_KEEP_SUPERSEDED_HOURS');
    // A function gets only the variables its stage reads
    expect(env('ExtractFunction')).not.toHaveProperty('ROWS_PER_FILE');
    expect(env('TransformWriteFunction')).not.toHaveProperty('QUALITY_MAX_NULL_RATE');
    expect(() => buildStack({ tuning: { maxRowsPerRange: 0 } })).toThrow(/RANGE_MAX_ROWS/);
    expect(() => buildStack({ tuning: { keepSupersededHours: 1_000 } })).toThrow(/ICEBERG_KEEP_SUPERSEDED_HOURS/);
    expect(() => buildStack({ quality: { maxNullRate: 2 } })).toThrow(/QUALITY_MAX_NULL_RATE/);
    expect(() => buildStack({ partitionTimeZone: 'Mars/Olympus' })).toThrow(/PARTITION_TIMEZONE/);
    expect(() => buildStack({ databasePort: 70_000 })).toThrow(/DATABASE_PORT: expected an integer from 1 to 65535/);
  });

  it('puts only the database functions (needs.database in the registry) in the VPC, with the given subnets and security group', () => {
    // Act
    const { template: private_ } = buildStack({
      vpcId: 'vpc-0123456789abcdef0',
      subnetIds: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'],
      securityGroupId: 'sg-0123456789abcdef0',
    });
    const vpcConfigs = Object.entries(private_.findResources('AWS::Lambda::Function'))
      .filter(([, r]) => (r as Fn).Properties.VpcConfig)
      .map(([id, r]) => [id.replace(/[0-9A-F]{8}$/, ''), (r as Fn).Properties.VpcConfig]);
    // Assess
    const vpcConfig = { SubnetIds: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'], SecurityGroupIds: ['sg-0123456789abcdef0'] };
    expect(vpcConfigs.sort()).toEqual(
      STAGE_LIST.filter((spec) => spec.needs.database)
        .map((spec) => [`${spec.state}Function`, vpcConfig])
        .sort(),
    );
    expect(() => buildStack({ vpcId: 'vpc-0123456789abcdef0' })).toThrow(/subnetIds/);
  });
});

describe('schedule', () => {
  it('starts the state machine daily with the scheduled time, read in UTC by default', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(30 2 * * ? *)',
      ScheduleExpressionTimezone: 'UTC',
      State: 'ENABLED',
      Target: Match.objectLike({
        Arn: { Ref: logicalId(template, 'AWS::StepFunctions::StateMachine', 'Pipeline') },
        Input: JSON.stringify({ scheduledTime: '<aws.scheduler.scheduled-time>' }),
      }),
    });
  });

  it('takes the cron expression and its time zone from props', () => {
    const { template: custom } = buildStack({
      partitionTimeZone: 'Europe/Berlin',
      scheduleCron: 'cron(0 4 * * ? *)',
      scheduleTimeZone: 'Europe/Berlin',
      scheduleEnabled: false,
    });
    custom.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 4 * * ? *)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
      State: 'DISABLED',
    });
    expect(() => buildStack({ scheduleTimeZone: 'Nowhere/Land' })).toThrow(/scheduleTimeZone/);
  });
});

describe('alarm', () => {
  it('fires on one failed execution and notifies the topic', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/States',
      MetricName: 'ExecutionsFailed',
      Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: logicalId(template, 'AWS::StepFunctions::StateMachine', 'Pipeline') } }],
      Statistic: 'Sum',
      Threshold: 1,
      EvaluationPeriods: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: logicalId(template, 'AWS::SNS::Topic', 'AlarmTopic') }],
    });
  });

  it('subscribes the e-mail address only when one is configured, over a TLS-only topic', () => {
    template.resourceCountIs('AWS::SNS::Subscription', 0);
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    buildStack({ alarmEmail: 'ops@example.com' }).template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
  });
});

describe('state machine resource', () => {
  it('logs to a group under /aws/vendedlogs/states/, which needs no CloudWatch Logs resource policy', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: '/aws/vendedlogs/states/TestStack-Pipeline' });
  });

  it('is a standard workflow that logs everything but execution data and is traced', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: false }),
    });
  });
});

describe('outputs and context', () => {
  it('outputs what deploy scripts and people need', () => {
    for (const name of [
      'BucketName',
      'LakeUri',
      'StateMachineArn',
      'PlanFunctionName',
      'SnapshotFunctionName',
      'PlanDayFunctionName',
      'ExtractFunctionName',
      'TransformWriteFunctionName',
      'ValidateFunctionName',
      'ReleaseDayFunctionName',
      'DatabaseSecretArn',
      'AlarmTopicArn',
      'DashboardName',
      'GlueDatabaseName',
    ]) {
      template.hasOutput(name, {});
    }
  });

  it('means by an unset prop its declared default: setting each to its STACK_DEFAULTS value changes nothing', () => {
    // Prepare: every prop STACK_DEFAULTS declares (the stack name is the app's, not a prop).
    const { stackName: _app, ...defaults } = STACK_DEFAULTS;
    expect(Object.keys(defaults).length).toBeGreaterThan(5);

    // Act
    const { template: explicit } = buildStack(defaults);

    // Assess
    expect(explicit.toJSON()).toEqual(template.toJSON());
  });

  it('names the stack STACK_DEFAULTS.stackName without context', () => {
    // Act
    const { stack } = createApp({ context: { 'aws:cdk:bundling-stacks': [] } });

    // Assess
    expect(stack.stackName).toBe('PgLakeEtl');
  });

  it('refuses a context key it does not read, and a quality or tuning key that is no setting, naming it', () => {
    // Act
    const typo = thrownBy(() => createApp({ context: { 'aws:cdk:bundling-stacks': [], backfilConcurrency: 8 } }));
    const quality = thrownBy(() => buildStack({ quality: { maxNulRate: 0.2 } as never }));
    const tuning = thrownBy(() => buildStack({ tuning: { batchSize: 10 } as never }));

    // Assess
    expect((typo as Error).message).toMatch(/^context backfilConcurrency: no such key \(known: stackName, .*backfillConcurrency/);
    expect((quality as Error).message).toMatch(/^quality\.maxNulRate: no such setting \(known: maxQuarantineRate, maxNullRate/);
    expect((tuning as Error).message).toMatch(/^tuning\.batchSize: no such setting/);
  });

  it('parses context given as strings on the command line', () => {
    const values: Record<string, string> = {
      backfillConcurrency: '8',
      rangeConcurrency: '6',
      scheduleEnabled: 'false',
      subnetIds: 'subnet-a, subnet-b',
      quality: '{"maxNullRate":0.2}',
      alarmEmail: '',
      logRetentionDays: '90',
      databaseHost: 'db.internal',
      databasePort: '5433',
    };
    const { props } = stackPropsFromContext((key) => values[key]);
    expect(props).toMatchObject({
      databaseHost: 'db.internal',
      databasePort: 5433,
      backfillConcurrency: 8,
      rangeConcurrency: 6,
      scheduleEnabled: false,
      subnetIds: ['subnet-a', 'subnet-b'],
      quality: { maxNullRate: 0.2 },
      logRetention: 90,
    });
    expect(props.alarmEmail).toBeUndefined();
    expect(() => stackPropsFromContext((key) => (key === 'backfillConcurrency' ? 'four' : undefined))).toThrow(/backfillConcurrency/);
    expect(() => stackPropsFromContext((key) => (key === 'logRetentionDays' ? '31' : undefined))).toThrow(/logRetentionDays/);
  });
});
