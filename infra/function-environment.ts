/**
 * The environment of a stage's function, derived from the configuration records
 * (`src/core/config-variables.ts`): each variable of the stage's slice of the configuration
 * (`configKeysOf`) whose record names a stack prop this deployment sets, the lake, the database
 * secret and the metrics service. Checked at synth with the parsers the function runs at cold
 * start, so a bad setting fails `cdk synth` naming its variable.
 */
import { type ConfigKey, loadConfig, loadSourceSettings, VARIABLES } from '../src/core/config.js';
import { METRICS_SERVICE_VARIABLE } from '../src/pipeline/metrics.js';
import { configKeysOf, type StageSpec } from '../src/pipeline/stages.js';

/** What the stack gives every function: where the lake and the secret are, and the props a variable's record may name. */
export interface DeploymentEnvironment {
  /** `s3://bucket[/prefix]`, possibly holding tokens. */
  readonly lakeUri: string;
  readonly lakePrefix: string;
  /** ARN of the database secret (a token). */
  readonly databaseSecretArn: string;
  /** The `service` dimension of the pipeline's metrics: the deployment. */
  readonly metricsService: string;
  /** The stack's props with their defaults, read by a record's `prop` (dotted for `quality` and `tuning`). */
  readonly props: object;
}

/** The value of `prop` (`partitionTimeZone`, `tuning.batchRows`) in `props`, or undefined. */
export function propValue(props: object, prop: string): unknown {
  let value: unknown = props;
  for (const key of prop.split('.')) value = (value as Record<string, unknown> | undefined)?.[key];
  return value;
}

/** The variables of `spec`'s function: its slice's, set from the props that are given. */
export function functionEnvironment(spec: StageSpec, deployment: DeploymentEnvironment): Record<string, string> {
  const keys: readonly ConfigKey[] = configKeysOf(spec);
  const env: Record<string, string> = {};
  for (const variable of VARIABLES) {
    const value = variable.prop && keys.includes(variable.field) ? propValue(deployment.props, variable.prop) : undefined;
    if (value !== undefined) env[variable.name] = String(value);
  }
  if (keys.includes('lake')) env.LAKE_URI = deployment.lakeUri;
  if (keys.includes('databaseUrl')) env.DATABASE_SECRET_ARN = deployment.databaseSecretArn;
  env[METRICS_SERVICE_VARIABLE] = deployment.metricsService;
  // The lake URI and the secret ARN are tokens at synth: check the rest with stand-ins.
  const checked = { ...env, LAKE_URI: `s3://synth-check${deployment.lakePrefix ? `/${deployment.lakePrefix}` : ''}`, DATABASE_SECRET_ARN: undefined };
  loadConfig(checked, {}, keys);
  if (keys.includes('databaseUrl')) loadSourceSettings(checked);
  return env;
}
