/**
 * The whole pipeline in one stack: the lake bucket, the functions of the stages, the state machine
 * that chains them, a daily schedule, the Glue tables over the lake, and the alarms and dashboard
 * an operator watches. Everything a deployment may want to change is a prop (`context.ts` reads
 * the same names from CDK context); nothing here is business logic.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack, TimeZone, type StackProps } from 'aws-cdk-lib';
import { SecurityGroup, Subnet, Vpc, type ISecurityGroup, type IVpc } from 'aws-cdk-lib/aws-ec2';
import { type Policy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Bucket, type IBucket } from 'aws-cdk-lib/aws-s3';
import { Schedule, ScheduleExpression, ScheduleTargetInput, ContextAttribute } from 'aws-cdk-lib/aws-scheduler';
import { StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import { Secret, type ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { DEFAULTS, loadConfig, VARIABLES, type ConfigKey, type QualityThresholds } from '../src/core/config.js';
import { parseTimeZone } from '../src/core/day.js';
import { EtlFunction } from './constructs/etl-function.js';
import { LakeBucket } from './constructs/lake-bucket.js';
import { LakeTables } from './constructs/lake-tables.js';
import { PipelineMonitoring } from './constructs/pipeline-monitoring.js';
import { VpcEndpoints } from './constructs/vpc-endpoints.js';
import { connectionBudget } from './database-connections.js';
import { defaultScheduleCron, skippedScheduleTime } from './schedule.js';
import { METRICS_SERVICE_VARIABLE } from '../src/pipeline/metrics.js';
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
  /**
   * The schedule is read in UTC, which no clock change skips; its default cron is derived from the
   * partition time zone (`defaultScheduleCron`: 02:30 there in standard time).
   */
  scheduleTimeZone: 'UTC',
  scheduleEnabled: true,
  backfillConcurrency: 4,
  rangeConcurrency: 4,
  vpcEndpoints: false,
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
  readonly databaseSslMode?: 'disable' | 'require' | 'verify-full';
  /** VPC the plan-day and extract functions run in to reach the database (the others need no VPC). */
  readonly vpcId?: string;
  /** Private subnets for the database functions; they need a route to S3 and Secrets Manager (endpoints or NAT). */
  readonly subnetIds?: readonly string[];
  /** Security group of the database functions. @default - a new one each, allowing all outbound traffic */
  readonly securityGroupId?: string;
  /**
   * Adds an S3 gateway endpoint (on `routeTableIds`) and a Secrets Manager interface endpoint (in
   * `subnetIds`, private DNS) for the database functions; needs `vpcId`. Leave it off when the VPC
   * has a NAT or these endpoints already. @default false
   */
  readonly vpcEndpoints?: boolean;
  /** Route tables of `subnetIds`, for the S3 gateway endpoint of `vpcEndpoints`. */
  readonly routeTableIds?: readonly string[];
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
  /** Name of the Glue database of the lake's tables. @default - the stack name in snake case */
  readonly glueDatabaseName?: string;
  /** Address subscribed to the alarm topic (every alarm notifies it). @default - no subscription */
  readonly alarmEmail?: string;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** Quality limits the validate stage enforces (`QUALITY_*`). @default - the defaults in shared/config.ts */
  readonly quality?: Partial<QualityThresholds>;
  /** @default - the defaults in shared/config.ts */
  readonly tuning?: StageTuning;
}

const TUNING_KEYS = ['batchRows', 'rowsPerFile', 'rowGroupRows', 'maxRowsPerRange', 'lockTtlSeconds'] as const satisfies readonly (keyof StageTuning)[];

/** `PgLakeEtl` → `pg_lake_etl`: a name Glue and Athena take as it is. */
function snakeCase(name: string): string {
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
    const scheduleTimeZone = parseTimeZone(props.scheduleTimeZone ?? STACK_DEFAULTS.scheduleTimeZone, 'scheduleTimeZone');
    const scheduleCron = props.scheduleCron ?? defaultScheduleCron(partitionTimeZone);
    const skipped = skippedScheduleTime(scheduleCron, scheduleTimeZone);
    if (skipped) {
      throw new Error(
        `scheduleCron ${scheduleCron}: ${skipped} does not exist in ${scheduleTimeZone} (a clock change skips it), and EventBridge Scheduler ` +
          `skips such a run; leave scheduleTimeZone at UTC or choose a time no clock change skips`,
      );
    }
    const backfillConcurrency = props.backfillConcurrency ?? STACK_DEFAULTS.backfillConcurrency;
    const rangeConcurrency = props.rangeConcurrency ?? STACK_DEFAULTS.rangeConcurrency;

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
      // The `service` dimension of the pipeline's metrics: this deployment.
      env[METRICS_SERVICE_VARIABLE] = this.stackName;
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
      if (spec.lease === 'acquire') {
        // Takes over at once the lease of an execution that is no longer running (src/pipeline/execution-liveness.ts).
        const executions = this.formatArn({
          service: 'states',
          resource: 'execution',
          resourceName: `${this.pipelineName}:*`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        });
        fn.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['states:DescribeExecution'], resources: [executions] }));
        acknowledge(
          fn.role,
          [wildcardResourceFinding(this, executions)],
          "Execution names are made at start: 'execution:<this state machine>:*' is the narrowest ARN naming the lease holders it may describe.",
        );
      }
      functions[spec.key] = fn;
    }
    this.functions = functions;
    const databaseStages = STAGE_LIST.filter((spec) => spec.needs.database);
    if (props.vpcEndpoints ?? STACK_DEFAULTS.vpcEndpoints) {
      if (!network.vpc) throw new Error('vpcEndpoints needs vpcId and subnetIds (the endpoints are for the functions in that VPC)');
      if (!props.routeTableIds?.length) throw new Error('vpcEndpoints needs routeTableIds (the route tables of subnetIds, for the S3 gateway endpoint)');
      new VpcEndpoints(this, 'VpcEndpoints', {
        vpc: network.vpc,
        subnetIds: props.subnetIds ?? [],
        routeTableIds: props.routeTableIds,
        clients: databaseStages.map((spec) => functions[spec.key].function),
      });
    } else if (props.routeTableIds?.length) {
      throw new Error('routeTableIds is read only with vpcEndpoints=true');
    }

    // --- State machine
    // Named under /aws/vendedlogs/states/: CloudWatch Logs then needs no resource policy for the
    // delivery, whose per-account limit otherwise fails the deploy in busy accounts.
    const stateMachineLogs = new LogGroup(this, 'StateMachineLogs', {
      logGroupName: `/aws/vendedlogs/states/${this.stackName}-Pipeline`,
      retention: logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new StateMachine(this, 'Pipeline', {
      stateMachineName: this.pipelineName,
      comment: 'Postgres to Parquet lake: plan the days, then plan, extract, transform-write and validate each one',
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromChainable(
        buildPipelineDefinition(new Construct(this, 'States'), {
          functions: Object.fromEntries(STAGE_LIST.map((spec) => [spec.key, functions[spec.key].function])) as unknown as PipelineFunctions,
          backfillConcurrency,
          rangeConcurrency,
          lockTtlSeconds: props.tuning?.lockTtlSeconds,
        }),
      ),
      logs: { destination: stateMachineLogs, level: LogLevel.ALL, includeExecutionData: false },
      tracingEnabled: true,
    });
    this.acknowledgeStateMachineWildcards(Object.values(this.functions).map((f) => f.function.functionArn));

    // --- Database connection cap across executions: reserved concurrency of the functions that open
    // connections, worked out once the state machine has checked the concurrency settings.
    const connections = connectionBudget(
      databaseStages.map((spec) => spec.name),
      { maxDatabaseConnections: props.maxDatabaseConnections, backfillConcurrency, rangeConcurrency },
    );
    for (const spec of databaseStages) functions[spec.key].reserveConcurrency(connections[spec.name]);

    // --- Daily schedule: the plan function turns the scheduled time into "yesterday" in the partition time zone.
    // An invocation Scheduler could not deliver (after its retries) lands in a dead-letter queue, which alarms.
    const scheduleDeadLetters = new Queue(this, 'ScheduleDeadLetters', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledge(scheduleDeadLetters, ['AwsSolutions-SQS3'], "This queue is the dead-letter queue of the daily schedule's target.");
    const scheduleEnabled = props.scheduleEnabled ?? STACK_DEFAULTS.scheduleEnabled;
    new Schedule(this, 'DailySchedule', {
      description: 'Runs the pipeline for the day before, every day',
      schedule: ScheduleExpression.expression(scheduleCron, TimeZone.of(scheduleTimeZone)),
      enabled: scheduleEnabled,
      target: new StepFunctionsStartExecution(this.stateMachine, {
        input: ScheduleTargetInput.fromObject({ scheduledTime: ContextAttribute.scheduledTime }),
        retryAttempts: 10,
        maxEventAge: Duration.hours(6),
        deadLetterQueue: scheduleDeadLetters,
      }),
    });

    // --- Alerting
    this.alarmTopic = new Topic(this, 'AlarmTopic', { displayName: 'pg-lake-etl alarms', enforceSSL: true });
    if (props.alarmEmail) this.alarmTopic.addSubscription(new EmailSubscription(props.alarmEmail));
    this.monitoring = new PipelineMonitoring(this, 'Monitoring', {
      stateMachine: this.stateMachine,
      functions: STAGE_LIST.map((spec) => ({
        stage: spec.name,
        state: spec.state,
        function: functions[spec.key].function,
        timeout: Duration.seconds(spec.lambda.timeoutSeconds),
      })),
      scheduleDeadLetters,
      metricsService: this.stackName,
      topic: this.alarmTopic,
      expectDailyPublish: scheduleEnabled,
    });

    // --- Tables: Athena reads the lake through them right after deploy.
    this.lakeTables = new LakeTables(this, 'Tables', {
      bucket: this.bucket,
      root,
      databaseName: props.glueDatabaseName ?? snakeCase(this.stackName),
    });

    // --- Outputs
    const output = (id: string, value: string, description: string) => new CfnOutput(this, id, { value, description });
    output('BucketName', this.bucket.bucketName, 'Bucket holding the lake');
    output('LakeUri', lakeUri, 'LAKE_URI of the deployed functions');
    output('StateMachineArn', this.stateMachine.stateMachineArn, 'Start an execution with {"date":"YYYY-MM-DD"} or {"from","to","mode"}');
    for (const spec of STAGE_LIST) output(`${spec.state}FunctionName`, functions[spec.key].function.functionName, `Function of the ${spec.name} stage`);
    output('DatabaseSecretArn', this.databaseSecret.secretArn, 'Secret holding the Postgres connection (RDS JSON)');
    output('AlarmTopicArn', this.alarmTopic.topicArn, 'Topic every alarm notifies');
    output('DashboardName', this.monitoring.dashboard.dashboardName, 'CloudWatch dashboard of the metrics and alarms');
    output('GlueDatabaseName', this.lakeTables.database.ref, 'Glue database of the lake tables (rentals, users, bikes), for Athena');
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
