/**
 * The state machine definition exactly as the stack deploys it, for running locally
 * (`aws-local-stepfunctions`): the stack is built in this process without bundling any asset, and
 * the CloudFormation references in the definition are replaced by placeholder ARNs. Task states
 * are then mapped by name (`TASK_STATES`) to the handler modules the functions deploy.
 */
import { App, Stack } from 'aws-cdk-lib';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import type { CfnStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { AslDefinition } from '../src/pipeline/definition.js';
import { LakeEtlStack, STACK_DEFAULTS, type LakeEtlStackProps } from './lake-etl-stack.js';

export { TASK_STATES, STATE_NAMES, DAYS_FAILED_ERROR } from './state-machine.js';

export type { AslDefinition } from '../src/pipeline/definition.js';

/** Account, region and partition the placeholder ARNs use. */
export const PLACEHOLDER_ENV = { account: '123456789012', region: 'us-east-1', partition: 'aws' } as const;

const PSEUDO_PARAMETERS: Record<string, string> = {
  'AWS::AccountId': PLACEHOLDER_ENV.account,
  'AWS::Region': PLACEHOLDER_ENV.region,
  'AWS::Partition': PLACEHOLDER_ENV.partition,
  'AWS::URLSuffix': 'amazonaws.com',
};

/** Turns a resolved CloudFormation value into a string, with `names` for GetAtt/Ref targets. */
function flatten(value: unknown, names: Record<string, string>): string {
  if (typeof value === 'string') return value;
  const node = value as Record<string, unknown>;
  if (Array.isArray(node?.['Fn::Join'])) {
    const [delimiter, parts] = node['Fn::Join'] as [string, unknown[]];
    return parts.map((part) => flatten(part, names)).join(delimiter);
  }
  if (Array.isArray(node?.['Fn::GetAtt'])) {
    const [logicalId, attribute] = node['Fn::GetAtt'] as [string, string];
    const name = names[logicalId];
    if (name === undefined || attribute !== 'Arn') throw new Error(`no placeholder for Fn::GetAtt ${logicalId}.${attribute}`);
    return `arn:${PLACEHOLDER_ENV.partition}:lambda:${PLACEHOLDER_ENV.region}:${PLACEHOLDER_ENV.account}:function:${name}`;
  }
  if (typeof node?.Ref === 'string') {
    const pseudo = PSEUDO_PARAMETERS[node.Ref];
    if (pseudo === undefined) throw new Error(`no placeholder for Ref ${node.Ref}`);
    return pseudo;
  }
  throw new Error(`cannot flatten ${JSON.stringify(value)} in the state machine definition`);
}

/**
 * Builds the stack in this process (no asset bundling) and returns its state machine definition
 * with placeholder ARNs such as `arn:aws:lambda:us-east-1:123456789012:function:Extract`.
 * `props` are the stack's props (e.g. `backfillConcurrency`); takes a few hundred milliseconds.
 */
export function synthesizeDefinition(props: LakeEtlStackProps = {}): AslDefinition {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new LakeEtlStack(app, STACK_DEFAULTS.stackName, props);
  const names: Record<string, string> = {};
  for (const [key, fn] of Object.entries(stack.functions)) {
    const logicalId = stack.resolve(stack.getLogicalId(fn.function.node.defaultChild as CfnFunction)) as string;
    names[logicalId] = key.charAt(0).toUpperCase() + key.slice(1);
  }
  const cfn = stack.stateMachine.node.defaultChild as CfnStateMachine;
  const resolved = Stack.of(cfn).resolve(cfn.definitionString) as unknown;
  return JSON.parse(flatten(resolved, names)) as AslDefinition;
}
