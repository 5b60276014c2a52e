/**
 * The function of each stage in the registry (`src/pipeline/stages.ts`), with what its entry
 * says it needs: its slice of the configuration, the database secret and network when
 * `needs.database`, its lake access when `needs.lake`, and leave to describe the pipeline's
 * executions when it takes leases over (`lease: 'acquire'`).
 */
import { ArnFormat, Duration, type Stack } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { VARIABLE } from '../../src/core/config-variables.js';
import { handlerEntry, icebergTablesOf, type LakeAccess, type StageKey, type StageSpec } from '../../src/pipeline/stages.js';
import { type DeploymentEnvironment, functionEnvironment, propValue } from '../function-environment.js';
import { grantIcebergCatalog, grantLakeAccess, lakeWildcardPatterns } from '../lake-access.js';
import { acknowledge, wildcardResourceFinding } from '../nag.js';
import type { DatabaseNetwork } from './database-access.js';
import { EtlFunction } from './etl-function.js';

/** The parquet-wasm node build reads this file from its own directory at import. */
const PARQUET_WASM = 'node_modules/parquet-wasm/node/parquet_wasm_bg.wasm';

export interface StageFunctionsProps {
  /** Repository root: entries, `package-lock.json` and `node_modules` are found from here. */
  readonly projectRoot: string;
  readonly stages: readonly (StageSpec & { readonly key: StageKey })[];
  readonly logRetention: RetentionDays;
  readonly environment: DeploymentEnvironment;
  readonly bucket: IBucket;
  readonly databaseSecret: ISecret;
  readonly network: DatabaseNetwork;
  /** Name of the state machine whose executions hold the leases. */
  readonly pipelineName: string;
}

/** Builds the function of each stage of `props.stages`, in `stack`, by registry key. */
export function buildStageFunctions(stack: Stack, props: StageFunctionsProps): Partial<Record<StageKey, EtlFunction>> {
  const functions: Partial<Record<StageKey, EtlFunction>> = {};
  for (const spec of props.stages) {
    const fn = new EtlFunction(stack, spec.state, {
      projectRoot: props.projectRoot,
      logRetention: props.logRetention,
      entry: handlerEntry(spec),
      description: spec.description,
      memorySize: spec.lambda.memoryMb,
      timeout: Duration.seconds(spec.lambda.timeoutSeconds),
      environment: functionEnvironment(spec, props.environment),
      copyFiles: spec.lambda.wasm ? [PARQUET_WASM] : undefined,
      ...(spec.needs.database ? props.network : {}),
    });
    if (spec.needs.database) props.databaseSecret.grantRead(fn.role);
    if (spec.needs.lake) grantLake(stack, fn, props.bucket, props.environment.lakePrefix, spec.access);
    // A stage that commits an Iceberg table moves its Glue table after the commit (GLUE_DATABASE).
    const glueDatabase = propValue(props.environment.props, VARIABLE.GLUE_DATABASE.prop);
    if (typeof glueDatabase === 'string' && icebergTablesOf(spec).length > 0) grantIcebergCatalog(fn.role, stack, glueDatabase, icebergTablesOf(spec));
    if (spec.lease === 'acquire') grantDescribeExecutions(stack, fn, props.pipelineName);
    functions[spec.key] = fn;
  }
  return functions;
}

function grantLake(stack: Stack, fn: EtlFunction, bucket: IBucket, lakePrefix: string, access: LakeAccess): void {
  grantLakeAccess(fn.role, bucket, lakePrefix, access);
  const root = lakePrefix === '' ? '' : `${lakePrefix}/`;
  const patterns = lakeWildcardPatterns(access).map((p) => root + p);
  acknowledge(
    fn.role,
    patterns.map((p) => wildcardResourceFinding(stack, bucket.arnForObjects(p))),
    `Lake keys are made per day and per run (year=/month=/day=, run ids), so they are granted by pattern; ` +
      `each pattern stays inside a prefix this stage owns: ${patterns.join(', ')}.`,
  );
}

/** Takes over at once the lease of an execution that is no longer running (src/pipeline/execution-liveness.ts). */
function grantDescribeExecutions(stack: Stack, fn: EtlFunction, pipelineName: string): void {
  const executions = stack.formatArn({
    service: 'states',
    resource: 'execution',
    resourceName: `${pipelineName}:*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  fn.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['states:DescribeExecution'], resources: [executions] }));
  acknowledge(
    fn.role,
    [wildcardResourceFinding(stack, executions)],
    "Execution names are made at start: 'execution:<this state machine>:*' is the narrowest ARN naming the lease holders it may describe.",
  );
}
