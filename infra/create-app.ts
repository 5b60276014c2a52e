/**
 * The CDK app: one `LakeEtlStack` configured from context (keys in `context.ts`; `cdk.json` holds
 * overrides only), checked by cdk-nag's AwsSolutions rules on every synth.
 */
import { App, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CONTEXT_KEYS, stackPropsFromContext, unknownContextKeys } from './context.js';
import { LakeEtlStack, STACK_DEFAULTS } from './lake-etl-stack.js';

/** Builds the app and its stack; `props` (e.g. `context`, `outdir`) go to the `App`. */
export function createApp(props: AppProps = {}): { app: App; stack: LakeEtlStack } {
  const app = new App(props);
  const unknown = unknownContextKeys(app.node.getAllContext());
  if (unknown.length > 0) throw new Error(`context ${unknown.join(', ')}: no such key (known: ${CONTEXT_KEYS.join(', ')})`);
  const { stackName, props: stackProps } = stackPropsFromContext((key) => app.node.tryGetContext(key));
  const stack = new LakeEtlStack(app, stackName ?? STACK_DEFAULTS.stackName, {
    ...stackProps,
    description: 'pg-lake-etl: Postgres to a Hive-partitioned Parquet lake on S3 (Step Functions, Lambda)',
    // Account and region of the CLI's credentials when there are any; the stack needs no lookups.
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
  // cdk-nag 3 is a policy-validation plugin: an unacknowledged finding stops the synth with a report.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, stack };
}
