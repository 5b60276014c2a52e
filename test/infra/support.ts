/**
 * Helpers for the infrastructure tests: build the stack without bundling, and evaluate the IAM
 * policies of the synthesized template the way IAM would for the few actions we care about.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { buildStageFunctions, type StageFunctionsProps } from '../../infra/constructs/stage-functions.js';
import { LakeEtlStack, PROJECT_ROOT, type LakeEtlStackProps } from '../../infra/lake-etl-stack.js';

/** The bucket name IAM resources are resolved with when the stack creates the bucket. */
export const TEST_BUCKET = 'test-lake-bucket';

export interface BuiltStack {
  readonly stack: LakeEtlStack;
  readonly template: Template;
}

/** The stack with `props`, its assets left unbundled. */
export function buildStack(props: LakeEtlStackProps = {}): BuiltStack {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new LakeEtlStack(app, 'TestStack', props);
  return { stack, template: Template.fromStack(stack) };
}

/**
 * The functions of `stages` alone in a stack of their own (the lake bucket `TEST_BUCKET` imported,
 * outside a VPC): for stage entries the registry does not hold.
 */
export function buildFunctionsAlone(stages: StageFunctionsProps['stages']): { readonly stack: Stack; readonly template: Template } {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'FunctionsAlone');
  const databaseSecret = Secret.fromSecretNameV2(stack, 'DatabaseSecret', 'database');
  buildStageFunctions(stack, {
    projectRoot: PROJECT_ROOT,
    stages,
    logRetention: RetentionDays.ONE_MONTH,
    environment: { lakeUri: `s3://${TEST_BUCKET}/lake`, lakePrefix: 'lake', databaseSecretArn: databaseSecret.secretArn, metricsService: 'Test', props: {} },
    bucket: Bucket.fromBucketName(stack, 'LakeBucket', TEST_BUCKET),
    databaseSecret,
    network: {},
    pipelineName: 'FunctionsAlone-Pipeline',
  });
  return { stack, template: Template.fromStack(stack) };
}

type Json = Record<string, unknown>;

/** An identity-policy statement: `Action` or `NotAction`, `Resource` or `NotResource`. */
export interface Statement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action?: string | string[];
  readonly NotAction?: string | string[];
  readonly Resource?: unknown;
  readonly NotResource?: unknown;
  readonly Condition?: Record<string, Record<string, string | string[]>>;
}

/** Where the test's state machines live: their Ref is `<STATES_ARN>:stateMachine:<name>`. */
export const STATES_ARN = 'arn:aws:states:us-east-1:123456789012';

/** A CloudFormation value as a string: Fn::Join flattened, the lake bucket, state machines and pseudo parameters named. */
export function flattenValue(value: unknown, resources: Json): string {
  if (typeof value === 'string') return value;
  const node = value as Json;
  if (node['Fn::Join']) {
    const [delimiter, parts] = node['Fn::Join'] as [string, unknown[]];
    return parts.map((part) => flattenValue(part, resources)).join(delimiter);
  }
  if (node['Fn::GetAtt']) {
    const [id, attribute] = node['Fn::GetAtt'] as [string, string];
    const type = (resources[id] as Json | undefined)?.Type;
    if (type === 'AWS::S3::Bucket' && attribute === 'Arn') return `arn:aws:s3:::${TEST_BUCKET}`;
    return `arn:test:${id}.${attribute}`;
  }
  if (typeof node.Ref === 'string') {
    const pseudo: Record<string, string> = { 'AWS::Partition': 'aws', 'AWS::Region': 'us-east-1', 'AWS::AccountId': '123456789012' };
    const target = resources[node.Ref] as { Type?: string; Properties?: { StateMachineName?: string } } | undefined;
    // A state machine's Ref is its ARN, which policies take apart (Fn::Select of Fn::Split).
    if (target?.Type === 'AWS::StepFunctions::StateMachine') return `${STATES_ARN}:stateMachine:${target.Properties?.StateMachineName ?? node.Ref}`;
    return pseudo[node.Ref] ?? `arn:test:${node.Ref}`;
  }
  if (node['Fn::Select']) {
    const [index, list] = node['Fn::Select'] as [number, unknown];
    const split = (list as Json)['Fn::Split'] as [string, unknown] | undefined;
    if (!split) throw new Error(`cannot flatten ${JSON.stringify(value)}`);
    const part = flattenValue(split[1], resources).split(split[0])[index];
    if (part === undefined) throw new Error(`cannot flatten ${JSON.stringify(value)}: no part ${index}`);
    return part;
  }
  throw new Error(`cannot flatten ${JSON.stringify(value)}`);
}

const asList = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/**
 * Every statement attached to the role: its inline policies and the AWS::IAM::Policy and
 * AWS::IAM::ManagedPolicy resources naming it. A managed policy attached by ARN (an AWS managed
 * one) cannot be read from the template: the role is refused.
 */
export function roleStatements(template: Template, roleLogicalId: string): Statement[] {
  const resources = template.toJSON().Resources as Json;
  const role = resources[roleLogicalId] as {
    Properties: { Policies?: { PolicyDocument: { Statement: Statement[] } }[]; ManagedPolicyArns?: unknown[]; PermissionsBoundary?: unknown };
  };
  if (role.Properties.ManagedPolicyArns?.length)
    throw new Error(`${roleLogicalId} has managed policies attached by ARN; this evaluator reads the template's policies only`);
  const statements = (role.Properties.Policies ?? []).flatMap((p) => p.PolicyDocument.Statement);
  for (const resource of Object.values(resources) as {
    Type: string;
    Properties: { Roles?: { Ref?: string }[]; PolicyDocument: { Statement: Statement | Statement[] } };
  }[]) {
    if (
      (resource.Type === 'AWS::IAM::Policy' || resource.Type === 'AWS::IAM::ManagedPolicy') &&
      resource.Properties.Roles?.some((r) => r.Ref === roleLogicalId)
    ) {
      statements.push(...asList(resource.Properties.PolicyDocument.Statement));
    }
  }
  return statements;
}

/** The logical id of the role a function runs with. */
export function functionRoleId(template: Template, functionLogicalId: string): string {
  const fn = (template.toJSON().Resources as Json)[functionLogicalId] as { Properties: { Role: { 'Fn::GetAtt': [string, string] } } };
  return fn.Properties.Role['Fn::GetAtt'][0];
}

/** The logical id of the one resource of `type` whose id starts with `prefix`. */
export function logicalId(template: Template, type: string, prefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) => id.startsWith(prefix));
  if (ids.length !== 1) throw new Error(`expected one ${type} named ${prefix}*, found ${ids.join(', ') || 'none'}`);
  return ids[0];
}

function globToRegExp(pattern: string, caseInsensitive = false): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, caseInsensitive ? 'i' : '');
}

const CONDITION_OPERATORS = ['StringLike', 'StringEquals', 'ArnLike', 'ArnEquals'] as const;

function conditionHolds(condition: Statement['Condition'], context: Record<string, string>): boolean {
  for (const [operator, entries] of Object.entries(condition ?? {})) {
    if (!(CONDITION_OPERATORS as readonly string[]).includes(operator)) throw new Error(`condition operator ${operator} not supported by this evaluator`);
    const like = operator === 'StringLike' || operator === 'ArnLike';
    for (const [key, expected] of Object.entries(entries)) {
      const actual = context[key];
      if (actual === undefined) return false;
      const match = asList(expected).some((e) => (like ? globToRegExp(e).test(actual) : e === actual));
      if (!match) return false;
    }
  }
  return true;
}

const STATEMENT_KEYS = new Set(['Sid', 'Effect', 'Action', 'NotAction', 'Resource', 'NotResource', 'Condition']);

/** Whether `statement` applies to the request, as IAM reads it (`NotAction`/`NotResource`: everything but). */
function statementMatches(statement: Statement, resources: Json, action: string, resource: string, context: Record<string, string>): boolean {
  const unknown = Object.keys(statement).filter((key) => !STATEMENT_KEYS.has(key));
  if (unknown.length > 0) throw new Error(`statement keys ${unknown.join(', ')} not supported by this evaluator`);
  if ((statement.Action === undefined) === (statement.NotAction === undefined)) throw new Error('a statement needs exactly one of Action and NotAction');
  if ((statement.Resource === undefined) === (statement.NotResource === undefined))
    throw new Error('a statement needs exactly one of Resource and NotResource');
  const actionListed = asList(statement.Action ?? statement.NotAction).some((a) => globToRegExp(a, true).test(action));
  const resourceListed = asList(statement.Resource ?? statement.NotResource).some((r) => globToRegExp(flattenValue(r, resources)).test(resource));
  const actionMatches = statement.Action !== undefined ? actionListed : !actionListed;
  const resourceMatches = statement.Resource !== undefined ? resourceListed : !resourceListed;
  return actionMatches && resourceMatches && conditionHolds(statement.Condition, context);
}

/**
 * Whether the statements allow `action` on `resource` (an ARN without tokens) with the request
 * `context` (e.g. `{ 's3:prefix': ... }`): an Allow matches and no Deny does. `Action` and
 * `Resource` match what they list, `NotAction` and `NotResource` everything they do not.
 */
export function allows(statements: Statement[], resources: Json, action: string, resource: string, context: Record<string, string> = {}): boolean {
  const matching = statements.filter((s) => statementMatches(s, resources, action, resource, context));
  return matching.some((s) => s.Effect === 'Allow') && !matching.some((s) => s.Effect === 'Deny');
}

/** The ARN of an object key in the test bucket. */
export function objectArn(key: string): string {
  return `arn:aws:s3:::${TEST_BUCKET}/${key}`;
}

export const BUCKET_ARN = `arn:aws:s3:::${TEST_BUCKET}`;
