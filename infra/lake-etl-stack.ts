/**
 * The whole pipeline in one stack: the lake bucket, the functions of the stages, the state machine
 * that chains them, a daily schedule, the Glue tables over the lake, and the alarms and dashboard
 * an operator watches. Everything a deployment may want to change is a prop (`context.ts` reads
 * the same names from CDK context); nothing here is business logic.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CfnOutput, Duration, RemovalPolicy, Stack, TimeZone, type StackProps } from 'aws-cdk-lib';
import type { Policy } from 'aws-cdk-lib/aws-iam';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Bucket, type IBucket } from 'aws-cdk-lib/aws-s3';
import { Schedule, ScheduleExpression, ScheduleTargetInput, ContextAttribute } from 'aws-cdk-lib/aws-scheduler';
import { StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { QualityThresholds, SslMode } from '../src/core/config.js';
import type { PropKeys } from '../src/core/config-variables.js';
import { buildDatabaseNetwork, buildDatabaseSecret, buildVpcEndpoints } from './constructs/database-access.js';
import type { VpcEndpointService } from './constructs/vpc-endpoints.js';
import type { EtlFunction } from './constructs/etl-function.js';
import { LakeBucket } from './constructs/lake-bucket.js';
import { LakeTables } from './constructs/lake-tables.js';
import { PipelineMonitoring } from './constructs/pipeline-monitoring.js';
import { buildStageFunctions } from './constructs/stage-functions.js';
import { checkConcurrencyQuota, connectionBudget } from './database-connections.js';
import { FEATURE_FLAGS } from './feature-flags.js';
import { resolveSettings, type Settings } from './stack-settings.js';
import { STAGE_LIST, type StageKey } from '../src/pipeline/stages.js';
import { ANY_RESOURCE_FINDING, acknowledge, wildcardFindingsOf, wildcardResourceFinding } from './nag.js';
import { buildPipelineDefinition, EXECUTION_TIMEOUT, type PipelineFunctions } from './state-machine.js';

/** Repository root: entries, `package-lock.json` and `node_modules` are found from here. */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export { STACK_DEFAULTS } from './stack-settings.js';

/**
 * Row counts of the streaming stages and the length of a day's lease: each key is the stack prop
 * of one variable (`tuning.batchRows` sets `BATCH_ROWS`; the README's configuration table lists them).
 */
export type StageTuning = { readonly [K in PropKeys<'tuning'>]?: number };

export interface LakeEtlStackProps extends StackProps {
  /** Use this existing bucket instead of creating one. Its versioning, lifecycle and encryption stay as they are (use SSE-S3). */
  readonly existingBucketName?: string;
  /** Name of the bucket the stack creates. @default - generated */
  readonly bucketName?: string;
  /** Key prefix of the lake in the bucket; '' for the bucket root. @default 'lake' */
  readonly lakePrefix?: string;
  /** IANA time zone whose calendar days the partitions are (`PARTITION_TIMEZONE`). @default 'UTC' */
  readonly partitionTimeZone?: string;
  /**
   * EventBridge Scheduler cron expression of the daily run; a time a clock change of
   * `scheduleTimeZone` skips is refused (Scheduler would skip that day's run).
   * @default - 02:30 in the partition time zone's standard time, as a UTC cron (`defaultScheduleCron`)
   */
  readonly scheduleCron?: string;
  /** Time zone the cron expression is read in. @default 'UTC' */
  readonly scheduleTimeZone?: string;
  /** @default true */
  readonly scheduleEnabled?: boolean;
  /**
   * A second schedule that appends the new rows of the day in progress (today in the partition
   * time zone), e.g. `rate(1 hour)` or `cron(0 * * * ? *)`: an EventBridge Scheduler expression read
   * in UTC. The daily run republishes the day whole the night after, which also merges its files.
   * @default - none: no intra-day appends
   */
  readonly appendSchedule?: string;
  /**
   * Complete ARN of a Secrets Manager secret with the RDS JSON `{ username, password, host, port, dbname }`,
   * or RDS's managed secret `{ username, password }` with `databaseHost` (and `databasePort`, `databaseName`).
   * @default - a placeholder secret to fill in after deploy
   */
  readonly databaseSecretArn?: string;
  /** ARN of the customer-managed KMS key that encrypts `databaseSecretArn`, if any. */
  readonly databaseSecretKeyArn?: string;
  /** Host of the database (`DATABASE_HOST`); wins over the secret's. Required with RDS's managed secret. @default - the secret's */
  readonly databaseHost?: string;
  /** Port of the database (`DATABASE_PORT`). @default - the secret's, else 5432 */
  readonly databasePort?: number;
  /** Database name (`DATABASE_NAME`). @default - the secret's, else 'postgres' */
  readonly databaseName?: string;
  /**
   * TLS mode of the extract function's database connection (`DATABASE_SSLMODE`); `disable` only for
   * a database without TLS on a private network, such as the LocalStack flow's compose Postgres.
   * @default - the function's default, 'verify-full'
   */
  readonly databaseSslMode?: SslMode;
  /** VPC the functions that need the database (`needs.database` in the stage registry) run in to reach it; the others need no VPC. */
  readonly vpcId?: string;
  /** Private subnets for the database functions; they need a route to S3 and Secrets Manager (endpoints or NAT). */
  readonly subnetIds?: readonly string[];
  /** Security group of the database functions. @default - a new one each, allowing all outbound traffic */
  readonly securityGroupId?: string;
  /**
   * VPC endpoints for the database functions (`true`: all; or a list of `s3`, `secretsmanager`,
   * `states`): an S3 gateway endpoint on `routeTableIds`, and interface endpoints with private DNS,
   * for the whole VPC, in `subnetIds`; needs `vpcId`. Leave out those the VPC has (or a NAT gives). @default false
   */
  readonly vpcEndpoints?: boolean | readonly VpcEndpointService[];
  /** Route tables of `subnetIds`, for the S3 gateway endpoint of `vpcEndpoints`. */
  readonly routeTableIds?: readonly string[];
  /** CIDR of the VPC, which the interface endpoints of `vpcEndpoints` admit (their private DNS serves every workload in it). */
  readonly vpcCidr?: string;
  /** Most days in flight at once. @default 4 */
  readonly backfillConcurrency?: number;
  /**
   * Most hour ranges of one day in flight at once; only days cut into ranges (`tuning.maxRowsPerRange`)
   * have more than one. A run opens at most backfillConcurrency × rangeConcurrency database connections.
   * @default 4
   */
  readonly rangeConcurrency?: number;
  /**
   * Most source database connections of all executions together, held by reserved concurrency
   * of the functions that open them (`database-connections.ts`: plan and snapshot 2 each,
   * plan-day backfillConcurrency, extract the rest); at least
   * 4 + backfillConcurrency × (rangeConcurrency + 1).
   * @default - room for two executions at full width: 4 + backfillConcurrency × (1 + 2 × rangeConcurrency), 40 with the defaults
   */
  readonly maxDatabaseConnections?: number;
  /**
   * Hold `maxDatabaseConnections` with reserved concurrency. Off, no function reserves any (for an
   * account whose concurrency quota is below maxDatabaseConnections + 100), and nothing caps the
   * connections across executions: each holds at most backfillConcurrency × rangeConcurrency. @default true
   */
  readonly reserveConcurrency?: boolean;
  /**
   * The account's Lambda "Concurrent executions" quota (Service Quotas L-B99A9384), if known: the
   * synth refuses reservations it cannot hold (their sum + the 100 Lambda keeps unreserved).
   * @default - not checked
   */
  readonly lambdaConcurrencyQuota?: number;
  /** Name of the Glue database of the lake's tables. @default - the stack name in snake case */
  readonly glueDatabaseName?: string;
  /** Address subscribed to the alarm topic (every alarm notifies it). @default - no subscription */
  readonly alarmEmail?: string;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** Days the validation reports (`_reports/`) and quarantine files (`_quarantine/`) are kept in a bucket the stack creates. @default 365 */
  readonly reportRetentionDays?: number;
  /** Quality limits the validate stage enforces (`QUALITY_*`). @default - the defaults in src/core/config-variables.ts */
  readonly quality?: Partial<QualityThresholds>;
  /** @default - the defaults in src/core/config-variables.ts */
  readonly tuning?: StageTuning;
}

export class LakeEtlStack extends Stack {
  readonly bucket: IBucket;
  readonly lakePrefix: string;
  readonly stateMachine: StateMachine;
  /** The state machine's name, fixed so that a function's policy can name its executions without a cycle. */
  get pipelineName(): string {
    return `${this.stackName}-Pipeline`;
  }
  /** The function of each stage, by registry key. */
  readonly functions: { readonly [K in StageKey]: EtlFunction };
  readonly databaseSecret: ISecret;
  readonly alarmTopic: Topic;
  readonly monitoring: PipelineMonitoring;
  readonly lakeTables: LakeTables;

  constructor(scope: Construct, id: string, props: LakeEtlStackProps = {}) {
    super(scope, id, props);
    // The flags of cdk.json, whatever App builds the stack (infra/feature-flags.ts).
    for (const [flag, value] of Object.entries(FEATURE_FLAGS)) this.node.setContext(flag, value);
    const settings = resolveSettings(props, this.stackName);
    this.lakePrefix = settings.lakePrefix;
    this.bucket = this.buildLakeBucket(props, settings);
    const lakeUri = settings.lakePrefix === '' ? `s3://${this.bucket.bucketName}` : `s3://${this.bucket.bucketName}/${settings.lakePrefix}`;
    this.databaseSecret = buildDatabaseSecret(this, props);
    const network = buildDatabaseNetwork(this, props);
    this.functions = buildStageFunctions(this, {
      projectRoot: PROJECT_ROOT,
      stages: STAGE_LIST,
      logRetention: settings.logRetention,
      environment: {
        lakeUri,
        lakePrefix: settings.lakePrefix,
        databaseSecretArn: this.databaseSecret.secretArn,
        metricsService: this.stackName,
        props: { ...props, partitionTimeZone: settings.partitionTimeZone, glueDatabaseName: settings.glueDatabaseName },
      },
      bucket: this.bucket,
      databaseSecret: this.databaseSecret,
      network,
      pipelineName: this.pipelineName,
    }) as LakeEtlStack['functions'];
    const databaseStages = STAGE_LIST.filter((spec) => spec.needs.database);
    buildVpcEndpoints(
      this,
      settings.vpcEndpoints,
      network,
      props,
      databaseStages.map((spec) => this.functions[spec.key].function),
    );
    this.stateMachine = this.buildPipeline(props, settings);
    this.reserveDatabaseConnections(props, settings);
    const scheduleDeadLetters = this.buildDailySchedule(settings);
    if (props.appendSchedule) this.buildAppendSchedule(props.appendSchedule, scheduleDeadLetters);
    this.alarmTopic = new Topic(this, 'AlarmTopic', { displayName: 'pg-lake-etl alarms', enforceSSL: true });
    if (props.alarmEmail) this.alarmTopic.addSubscription(new EmailSubscription(props.alarmEmail));
    this.monitoring = this.buildMonitoring(scheduleDeadLetters, settings);
    // Athena reads the lake through these tables right after deploy.
    this.lakeTables = new LakeTables(this, 'Tables', {
      bucket: this.bucket,
      root: settings.root,
      databaseName: settings.glueDatabaseName,
    });
    this.addOutputs(lakeUri);
  }

  /** The existing bucket named in props, or a new `LakeBucket` whose staging area, reports and quarantine files expire. */
  private buildLakeBucket(props: LakeEtlStackProps, settings: Settings): IBucket {
    if (props.existingBucketName) return Bucket.fromBucketName(this, 'LakeBucket', props.existingBucketName);
    return new LakeBucket(this, 'Lake', {
      bucketName: props.bucketName,
      stagingPrefix: `${settings.root}_staging/`,
      reportPrefixes: { reports: `${settings.root}_reports/`, quarantine: `${settings.root}_quarantine/` },
      reportExpiration: Duration.days(settings.reportRetentionDays),
    }).bucket;
  }

  /**
   * The state machine (`state-machine.ts`) over the stage functions, logging to a group under
   * /aws/vendedlogs/states/: CloudWatch Logs then needs no resource policy for the delivery, whose
   * per-account limit otherwise fails the deploy in busy accounts.
   */
  private buildPipeline(props: LakeEtlStackProps, settings: Settings): StateMachine {
    const logs = new LogGroup(this, 'StateMachineLogs', {
      logGroupName: `/aws/vendedlogs/states/${this.stackName}-Pipeline`,
      retention: settings.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const stateMachine = new StateMachine(this, 'Pipeline', {
      stateMachineName: this.pipelineName,
      comment: 'Postgres to Parquet lake: plan the days, then plan, extract, transform-write and validate each one',
      stateMachineType: StateMachineType.STANDARD,
      timeout: EXECUTION_TIMEOUT,
      definitionBody: DefinitionBody.fromChainable(
        buildPipelineDefinition(new Construct(this, 'States'), {
          functions: Object.fromEntries(STAGE_LIST.map((spec) => [spec.key, this.functions[spec.key].function])) as unknown as PipelineFunctions,
          backfillConcurrency: settings.backfillConcurrency,
          rangeConcurrency: settings.rangeConcurrency,
          lockTtlSeconds: props.tuning?.lockTtlSeconds,
        }),
      ),
      logs: { destination: logs, level: LogLevel.ALL, includeExecutionData: false },
      tracingEnabled: true,
    });
    acknowledge(
      stateMachine.role,
      [...Object.values(this.functions).map((f) => wildcardResourceFinding(this, `${f.function.functionArn}:*`)), ANY_RESOURCE_FINDING],
      `CDK grants lambda:InvokeFunction on "<function ARN>:*" too (versions and aliases of the same ${STAGE_LIST.length} functions); ` +
        'the CloudWatch Logs delivery and X-Ray actions of a logging, traced state machine support no resource-level permissions.',
    );
    const distributedMapPolicy = stateMachine.node.findChild('DistributedMapPolicy') as Policy;
    acknowledge(
      distributedMapPolicy,
      wildcardFindingsOf(this, distributedMapPolicy.document),
      'The Distributed Map describes, stops and redrives its own child executions, whose names are generated: ' +
        '"execution:<this state machine>:*" is the narrowest ARN that names them.',
    );
    return stateMachine;
  }

  /**
   * The cap on source database connections across executions: reserved concurrency of the
   * functions that open them, worked out once the state machine has checked the concurrency
   * settings, and checked against the account's quota when it is given. None with `reserveConcurrency` off.
   */
  private reserveDatabaseConnections(props: LakeEtlStackProps, settings: Settings): void {
    if (!settings.reserveConcurrency) {
      if (props.maxDatabaseConnections !== undefined)
        throw new Error('maxDatabaseConnections is held by reserved concurrency: it needs reserveConcurrency=true');
      return;
    }
    const databaseStages = STAGE_LIST.filter((spec) => spec.needs.database);
    const connections = connectionBudget(
      databaseStages.map((spec) => spec.name),
      { maxDatabaseConnections: props.maxDatabaseConnections, backfillConcurrency: settings.backfillConcurrency, rangeConcurrency: settings.rangeConcurrency },
    );
    if (props.lambdaConcurrencyQuota !== undefined) checkConcurrencyQuota(connections, props.lambdaConcurrencyQuota);
    for (const spec of databaseStages) this.functions[spec.key].reserveConcurrency(connections[spec.name]);
  }

  /**
   * The daily schedule: the plan function turns the scheduled time into "yesterday" in the
   * partition time zone. An invocation Scheduler could not deliver (after its retries) lands in
   * the dead-letter queue returned, which alarms.
   */
  private buildDailySchedule(settings: Settings): Queue {
    const deadLetters = new Queue(this, 'ScheduleDeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledge(deadLetters, ['AwsSolutions-SQS3'], "This queue is the dead-letter queue of the daily schedule's target.");
    new Schedule(this, 'DailySchedule', {
      description: 'Runs the pipeline for the day before, every day',
      schedule: ScheduleExpression.expression(settings.scheduleCron, TimeZone.of(settings.scheduleTimeZone)),
      enabled: settings.scheduleEnabled,
      target: new StepFunctionsStartExecution(this.stateMachine, {
        input: ScheduleTargetInput.fromObject({ scheduledTime: ContextAttribute.scheduledTime }),
        retryAttempts: 10,
        maxEventAge: Duration.hours(6),
        deadLetterQueue: deadLetters,
      }),
    });
    return deadLetters;
  }

  /**
   * The intra-day append schedule: the plan function turns the time into today in the partition
   * time zone, appended to; undelivered invocations share the daily schedule's dead letters.
   */
  private buildAppendSchedule(expression: string, deadLetters: Queue): void {
    new Schedule(this, 'AppendSchedule', {
      description: "Appends the new rows of the day in progress to today's partition",
      schedule: ScheduleExpression.expression(expression, TimeZone.of('UTC')),
      target: new StepFunctionsStartExecution(this.stateMachine, {
        input: ScheduleTargetInput.fromObject({ appendTime: ContextAttribute.scheduledTime }),
        retryAttempts: 2,
        // An append late by more than its interval is covered by the next one.
        maxEventAge: Duration.hours(1),
        deadLetterQueue: deadLetters,
      }),
    });
  }

  /** The alarms and dashboard of the state machine, each stage's function and the schedule's dead letters. */
  private buildMonitoring(scheduleDeadLetters: Queue, settings: Settings): PipelineMonitoring {
    return new PipelineMonitoring(this, 'Monitoring', {
      stateMachine: this.stateMachine,
      functions: STAGE_LIST.map((spec) => ({
        stage: spec.name,
        state: spec.state,
        function: this.functions[spec.key].function,
        timeout: Duration.seconds(spec.lambda.timeoutSeconds),
      })),
      scheduleDeadLetters,
      metricsService: this.stackName,
      topic: this.alarmTopic,
      expectDailyPublish: settings.scheduleEnabled,
    });
  }

  private addOutputs(lakeUri: string): void {
    const output = (id: string, value: string, description: string) => new CfnOutput(this, id, { value, description });
    output('BucketName', this.bucket.bucketName, 'Bucket holding the lake');
    output('LakeUri', lakeUri, 'LAKE_URI of the deployed functions');
    output('StateMachineArn', this.stateMachine.stateMachineArn, 'Start an execution with {"date":"YYYY-MM-DD"} or {"from","to","mode"}');
    for (const spec of STAGE_LIST) output(`${spec.state}FunctionName`, this.functions[spec.key].function.functionName, `Function of the ${spec.name} stage`);
    output('DatabaseSecretArn', this.databaseSecret.secretArn, 'Secret holding the Postgres connection (RDS JSON)');
    output('AlarmTopicArn', this.alarmTopic.topicArn, 'Topic every alarm notifies');
    output('DashboardName', this.monitoring.dashboard.dashboardName, 'CloudWatch dashboard of the metrics and alarms');
    output('GlueDatabaseName', this.lakeTables.database.ref, 'Glue database of the lake tables (rentals, users, bikes), for Athena');
  }
}
