/**
 * The whole pipeline in one stack: the lake bucket, four functions (plan, extract,
 * transform-write, validate), the state machine that chains them, a daily schedule, and an alarm
 * on failed executions. Everything a deployment may want to change is a prop (`context.ts` reads
 * the same names from CDK context); nothing here is business logic.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CfnOutput, Duration, RemovalPolicy, Stack, TimeZone, type StackProps } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { SecurityGroup, Subnet, Vpc, type ISecurityGroup, type IVpc } from 'aws-cdk-lib/aws-ec2';
import type { Policy } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Bucket, type IBucket } from 'aws-cdk-lib/aws-s3';
import { Schedule, ScheduleExpression, ScheduleTargetInput, ContextAttribute } from 'aws-cdk-lib/aws-scheduler';
import { StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import { Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { DEFAULTS, loadConfig, VARIABLES, type ConfigKey, type QualityThresholds } from '../src/core/config.js';
import { parseTimeZone } from '../src/core/day.js';
import { EtlFunction } from './constructs/etl-function.js';
import { LakeBucket } from './constructs/lake-bucket.js';
import { grantLakeAccess, lakeWildcardPatterns } from './lake-access.js';
import { configKeysOf, handlerEntry, STAGE_LIST, type LakeAccess, type StageKey } from '../src/pipeline/stages.js';
import { ANY_RESOURCE_FINDING, acknowledge, wildcardFindingsOf, wildcardResourceFinding } from './nag.js';
import { buildPipelineDefinition, type PipelineFunctions } from './state-machine.js';

/** Repository root: entries, `package-lock.json` and `node_modules` are found from here. */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The parquet-wasm node build reads this file from its own directory at import. */
const PARQUET_WASM = 'node_modules/parquet-wasm/node/parquet_wasm_bg.wasm';

/**
 * Feature flags this stack's resources rely on. They are set on the stack itself, so the CLI,
 * the tests and `synthesizeDefinition` build the same template whatever App they use.
 */
const FEATURE_FLAGS = {
  // Server access logs delivered through a bucket policy, not the legacy LogDeliveryWrite ACL.
  '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true,
} as const;

/** Defaults of the props that have one; `cdk.json` repeats them as context for discoverability. */
export const STACK_DEFAULTS = {
  stackName: 'PgLakeEtl',
  lakePrefix: 'lake',
  partitionTimeZone: DEFAULTS.timeZone,
  /** 02:30 every day, in `scheduleTimeZone`: the day before is complete by then. */
  scheduleCron: 'cron(30 2 * * ? *)',
  scheduleEnabled: true,
  backfillConcurrency: 4,
  rangeConcurrency: 4,
} as const;

/** Row counts of the streaming stages (`BATCH_ROWS`, `ROWS_PER_FILE`, `ROW_GROUP_ROWS`, `RANGE_MAX_ROWS`). */
export interface StageTuning {
  readonly batchRows?: number;
  readonly rowsPerFile?: number;
  readonly rowGroupRows?: number;
  /** Most rentals one extract or transform-write invocation takes on; a bigger day is cut into hour ranges. */
  readonly maxRowsPerRange?: number;
  /** How long a run holds a day before another run may take it over (`PARTITION_LOCK_TTL_SECONDS`). */
  readonly lockTtlSeconds?: number;
}

export interface LakeEtlStackProps extends StackProps {
  /** Use this existing bucket instead of creating one. Its versioning, lifecycle and encryption stay as they are (use SSE-S3). */
  readonly existingBucketName?: string;
  /** Name of the bucket the stack creates. @default - generated */
  readonly bucketName?: string;
  /** Key prefix of the lake in the bucket; '' for the bucket root. @default 'lake' */
  readonly lakePrefix?: string;
  /** IANA time zone whose calendar days the partitions are (`PARTITION_TIMEZONE`). @default 'UTC' */
  readonly partitionTimeZone?: string;
  /** EventBridge Scheduler cron expression of the daily run. @default 'cron(30 2 * * ? *)' */
  readonly scheduleCron?: string;
  /** Time zone the cron expression is read in. @default - partitionTimeZone */
  readonly scheduleTimeZone?: string;
  /** @default true */
  readonly scheduleEnabled?: boolean;
  /**
   * Complete ARN of a Secrets Manager secret with the RDS JSON `{ username, password, host, port, dbname }`.
   * @default - a placeholder secret to fill in after deploy
   */
  readonly databaseSecretArn?: string;
  /** ARN of the customer-managed KMS key that encrypts `databaseSecretArn`, if any. */
  readonly databaseSecretKeyArn?: string;
  /**
   * TLS mode of the extract function's database connection (`DATABASE_SSLMODE`); `disable` only for
   * a database without TLS on a private network, such as the LocalStack flow's compose Postgres.
   * @default - the function's default, 'require'
   */
  readonly databaseSslMode?: 'disable' | 'require' | 'verify-full';
  /** VPC the plan-day and extract functions run in to reach the database (the others need no VPC). */
  readonly vpcId?: string;
  /** Private subnets for the database functions; they need a route to S3 and Secrets Manager (endpoints or NAT). */
  readonly subnetIds?: readonly string[];
  /** Security group of the database functions. @default - a new one each, allowing all outbound traffic */
  readonly securityGroupId?: string;
  /** Most days in flight at once. @default 4 */
  readonly backfillConcurrency?: number;
  /**
   * Most hour ranges of one day in flight at once; only days cut into ranges (`tuning.maxRowsPerRange`)
   * have more than one. A run opens at most backfillConcurrency × rangeConcurrency database connections.
   * @default 4
   */
  readonly rangeConcurrency?: number;
  /** Address subscribed to the failed-executions alarm. @default - no subscription */
  readonly alarmEmail?: string;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** Quality limits the validate stage enforces (`QUALITY_*`). @default - the defaults in shared/config.ts */
  readonly quality?: Partial<QualityThresholds>;
  /** @default - the defaults in shared/config.ts */
  readonly tuning?: StageTuning;
}

const TUNING_KEYS = ['batchRows', 'rowsPerFile', 'rowGroupRows', 'maxRowsPerRange', 'lockTtlSeconds'] as const satisfies readonly (keyof StageTuning)[];

/** A prop object (`quality`, `tuning`) may hold only the keys its type names: a typo is an error, not a silent default. */
function checkKnownKeys(prop: string, value: object | undefined, known: readonly string[]): void {
  for (const key of Object.keys(value ?? {})) {
    if (!known.includes(key)) throw new Error(`${prop}.${key}: no such setting (known: ${known.join(', ')})`);
  }
}

export class LakeEtlStack extends Stack {
  readonly bucket: IBucket;
  readonly lakePrefix: string;
  readonly stateMachine: StateMachine;
  /** The function of each stage, by registry key. */
  readonly functions: { readonly [K in StageKey]: EtlFunction };
  readonly databaseSecret: ISecret;
  readonly alarmTopic: Topic;

  constructor(scope: Construct, id: string, props: LakeEtlStackProps = {}) {
    super(scope, id, props);
    for (const [flag, value] of Object.entries(FEATURE_FLAGS)) this.node.setContext(flag, value);
    const lakePrefix = (props.lakePrefix ?? STACK_DEFAULTS.lakePrefix).replace(/^\/+|\/+$/g, '');
    const partitionTimeZone = props.partitionTimeZone ?? STACK_DEFAULTS.partitionTimeZone;
    const root = lakePrefix === '' ? '' : `${lakePrefix}/`;
    this.lakePrefix = lakePrefix;

    // --- Lake bucket
    if (props.existingBucketName && props.bucketName) throw new Error('Give existingBucketName or bucketName, not both');
    this.bucket = props.existingBucketName
      ? Bucket.fromBucketName(this, 'LakeBucket', props.existingBucketName)
      : new LakeBucket(this, 'Lake', { bucketName: props.bucketName, stagingPrefix: `${root}_staging/` }).bucket;
    const lakeUri = lakePrefix === '' ? `s3://${this.bucket.bucketName}` : `s3://${this.bucket.bucketName}/${lakePrefix}`;

    checkKnownKeys('quality', props.quality, Object.keys(DEFAULTS.thresholds));
    checkKnownKeys('tuning', props.tuning, TUNING_KEYS);
    parseTimeZone(partitionTimeZone);
    const scheduleTimeZone = parseTimeZone(props.scheduleTimeZone ?? partitionTimeZone, 'scheduleTimeZone');

    // --- Database secret (read by plan-day and extract only)
    this.databaseSecret = props.databaseSecretArn
      ? Secret.fromSecretAttributes(this, 'DatabaseSecret', {
          secretCompleteArn: props.databaseSecretArn,
          encryptionKey: props.databaseSecretKeyArn ? Key.fromKeyArn(this, 'DatabaseSecretKey', props.databaseSecretKeyArn) : undefined,
        })
      : this.placeholderSecret();

    // --- Network (plan-day and extract only, and only when a VPC is given)
    const network = this.databaseNetwork(props);
    // --- Configuration: each function gets the variables of its slice of the configuration that
    // this deployment sets (the rest keep their defaults), checked now with the parser it runs at cold start.
    const logRetention = props.logRetention ?? RetentionDays.ONE_MONTH;
    const setting = (prop: string): unknown => {
      if (prop === 'partitionTimeZone') return partitionTimeZone;
      const [group, key] = prop.split('.');
      const value = (props as Record<string, unknown>)[group];
      return key === undefined ? value : (value as Record<string, unknown> | undefined)?.[key];
    };
    const environmentOf = (spec: (typeof STAGE_LIST)[number]): Record<string, string> => {
      const keys: readonly ConfigKey[] = configKeysOf(spec);
      const env: Record<string, string> = {};
      for (const variable of VARIABLES) {
        const value = variable.prop && keys.includes(variable.field) ? setting(variable.prop) : undefined;
        if (value !== undefined) env[variable.name] = String(value);
      }
      if (keys.includes('lake')) env.LAKE_URI = lakeUri;
      if (keys.includes('databaseUrl')) env.DATABASE_SECRET_ARN = this.databaseSecret.secretArn;
      loadConfig({ ...env, LAKE_URI: `s3://synth-check${lakePrefix ? `/${lakePrefix}` : ''}`, DATABASE_SECRET_ARN: undefined }, {}, keys);
      return env;
    };
    const functions = {} as Record<StageKey, EtlFunction>;
    for (const spec of STAGE_LIST) {
      const fn = new EtlFunction(this, spec.state, {
        projectRoot: PROJECT_ROOT,
        logRetention,
        entry: handlerEntry(spec),
        description: spec.description,
        memorySize: spec.lambda.memoryMb,
        timeout: Duration.seconds(spec.lambda.timeoutSeconds),
        environment: environmentOf(spec),
        copyFiles: 'wasm' in spec.lambda && spec.lambda.wasm ? [PARQUET_WASM] : undefined,
        ...(spec.needs.database ? network : {}),
      });
      if (spec.needs.database) this.databaseSecret.grantRead(fn.role);
      if (spec.needs.lake) this.grantLake(fn, spec.access, root);
      functions[spec.key] = fn;
    }
    this.functions = functions;

    // --- State machine
    const backfillConcurrency = props.backfillConcurrency ?? STACK_DEFAULTS.backfillConcurrency;
    const rangeConcurrency = props.rangeConcurrency ?? STACK_DEFAULTS.rangeConcurrency;
    // Named under /aws/vendedlogs/states/: CloudWatch Logs then needs no resource policy for the
    // delivery, whose per-account limit otherwise fails the deploy in busy accounts.
    const stateMachineLogs = new LogGroup(this, 'StateMachineLogs', {
      logGroupName: `/aws/vendedlogs/states/${this.stackName}-Pipeline`,
      retention: logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new StateMachine(this, 'Pipeline', {
      comment: 'Postgres to Parquet lake: plan the days, then plan, extract, transform-write and validate each one',
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromChainable(
        buildPipelineDefinition(new Construct(this, 'States'), {
          functions: Object.fromEntries(STAGE_LIST.map((spec) => [spec.key, functions[spec.key].function])) as unknown as PipelineFunctions,
          backfillConcurrency,
          rangeConcurrency,
        }),
      ),
      logs: { destination: stateMachineLogs, level: LogLevel.ALL, includeExecutionData: false },
      tracingEnabled: true,
    });
    this.acknowledgeStateMachineWildcards(Object.values(this.functions).map((f) => f.function.functionArn));

    // --- Daily schedule: the plan function turns the scheduled time into "yesterday" in the partition time zone.
    new Schedule(this, 'DailySchedule', {
      description: 'Runs the pipeline for the day before, every day',
      schedule: ScheduleExpression.expression(props.scheduleCron ?? STACK_DEFAULTS.scheduleCron, TimeZone.of(scheduleTimeZone)),
      enabled: props.scheduleEnabled ?? STACK_DEFAULTS.scheduleEnabled,
      target: new StepFunctionsStartExecution(this.stateMachine, {
        input: ScheduleTargetInput.fromObject({ scheduledTime: ContextAttribute.scheduledTime }),
        retryAttempts: 10,
        maxEventAge: Duration.hours(6),
      }),
    });

    // --- Alerting
    this.alarmTopic = new Topic(this, 'AlarmTopic', { displayName: 'pg-lake-etl alarms', enforceSSL: true });
    if (props.alarmEmail) this.alarmTopic.addSubscription(new EmailSubscription(props.alarmEmail));
    const alarm = new Alarm(this, 'ExecutionsFailedAlarm', {
      alarmDescription: 'A pipeline execution failed: see the DaysFailed cause or the execution history',
      metric: this.stateMachine.metricFailed({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(new SnsAction(this.alarmTopic));

    // --- Outputs
    const output = (id: string, value: string, description: string) => new CfnOutput(this, id, { value, description });
    output('BucketName', this.bucket.bucketName, 'Bucket holding the lake');
    output('LakeUri', lakeUri, 'LAKE_URI of the deployed functions');
    output('StateMachineArn', this.stateMachine.stateMachineArn, 'Start an execution with {"date":"YYYY-MM-DD"} or {"from","to","mode"}');
    for (const spec of STAGE_LIST) output(`${spec.state}FunctionName`, functions[spec.key].function.functionName, `Function of the ${spec.name} stage`);
    output('DatabaseSecretArn', this.databaseSecret.secretArn, 'Secret holding the Postgres connection (RDS JSON)');
    output('AlarmTopicArn', this.alarmTopic.topicArn, 'Topic of the failed-executions alarm');
  }

  private acknowledgeStateMachineWildcards(functionArns: string[]): void {
    const sm = this.stateMachine;
    acknowledge(
      sm.role,
      [...functionArns.map((arn) => wildcardResourceFinding(this, `${arn}:*`)), ANY_RESOURCE_FINDING],
      'CDK grants lambda:InvokeFunction on "<function ARN>:*" too (versions and aliases of the same six functions); ' +
        'the CloudWatch Logs delivery and X-Ray actions of a logging, traced state machine support no resource-level permissions.',
    );
    const distributedMapPolicy = sm.node.findChild('DistributedMapPolicy') as Policy;
    acknowledge(
      distributedMapPolicy,
      wildcardFindingsOf(this, distributedMapPolicy.document),
      'The Distributed Map describes, stops and redrives its own child executions, whose names are generated: ' +
        '"execution:<this state machine>:*" is the narrowest ARN that names them.',
    );
  }

  private placeholderSecret(): ISecret {
    const secret = new Secret(this, 'DatabaseSecret', {
      description: 'Postgres connection of the ETL (RDS JSON): set host, port, dbname and username of your database',
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ engine: 'postgres', username: 'etl', host: 'replace-me.invalid', port: 5432, dbname: 'postgres' }),
        generateStringKey: 'password',
        excludePunctuation: true,
        passwordLength: 32,
      },
    });
    acknowledge(
      secret,
      ['AwsSolutions-SMG4'],
      'A placeholder for the credentials of a database this stack does not own; rotation belongs with that database ' +
        '(for RDS, pass its managed, rotated secret as databaseSecretArn).',
    );
    return secret;
  }

  private databaseNetwork(props: LakeEtlStackProps): {
    vpc?: IVpc;
    vpcSubnets?: { subnets: ReturnType<typeof Subnet.fromSubnetId>[] };
    securityGroups?: ISecurityGroup[];
  } {
    if (!props.vpcId) {
      if (props.subnetIds?.length || props.securityGroupId) throw new Error('subnetIds and securityGroupId need vpcId');
      return {};
    }
    if (!props.subnetIds?.length) throw new Error('vpcId needs subnetIds (the private subnets the database functions run in)');
    // No lookup: synth stays offline. The AZ list is required by the type but unused with explicit subnets.
    const vpc = Vpc.fromVpcAttributes(this, 'Vpc', { vpcId: props.vpcId, availabilityZones: ['unused'] });
    return {
      vpc,
      vpcSubnets: { subnets: props.subnetIds.map((id, i) => Subnet.fromSubnetId(this, `Subnet${i}`, id)) },
      securityGroups: props.securityGroupId ? [SecurityGroup.fromSecurityGroupId(this, 'DatabaseSecurityGroup', props.securityGroupId)] : undefined,
    };
  }

  private grantLake(fn: EtlFunction, access: LakeAccess, root: string): void {
    grantLakeAccess(fn.role, this.bucket, this.lakePrefix, access);
    const patterns = lakeWildcardPatterns(access).map((p) => root + p);
    acknowledge(
      fn.role,
      patterns.map((p) => wildcardResourceFinding(this, this.bucket.arnForObjects(p))),
      `Lake keys are made per day and per run (year=/month=/day=, run ids), so they are granted by pattern; ` +
        `each pattern stays inside a prefix this stage owns: ${patterns.join(', ')}.`,
    );
  }
}
