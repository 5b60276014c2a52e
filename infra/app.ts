/**
 * CDK app entry (`npx cdk synth`, `npx cdk deploy`): one `LakeEtlStack` configured from context
 * (see `infra/context.ts` for the keys, `cdk.json` for their defaults), checked by cdk-nag's
 * AwsSolutions rules on every synth.
 */
import { App, Aspects } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { stackPropsFromContext } from './context.js';
import { LakeEtlStack, STACK_DEFAULTS } from './lake-etl-stack.js';

const app = new App();
const { stackName, props } = stackPropsFromContext((key) => app.node.tryGetContext(key));
new LakeEtlStack(app, stackName ?? STACK_DEFAULTS.stackName, {
  ...props,
  description: 'pg-lake-etl: Postgres to a Hive-partitioned Parquet lake on S3 (Step Functions, Lambda)',
  // Account and region of the CLI's credentials when there are any; the stack needs no lookups.
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
app.synth();
