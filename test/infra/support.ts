/**
 * Helpers for the infrastructure tests: build the stack without bundling, and evaluate the IAM
 * policies of the synthesized template the way IAM would for the few actions we care about.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { LakeEtlStack, type LakeEtlStackProps } from '../../infra/lake-etl-stack.js';

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

type Json = Record<string, unknown>;

export interface Statement {
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: Record<string, Record<string, string | string[]>>;
}

/** A CloudFormation value as a string: Fn::Join flattened, the lake bucket and pseudo parameters named. */
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
    return pseudo[node.Ref] ?? `arn:test:${node.Ref}`;
  }
  throw new Error(`cannot flatten ${JSON.stringify(value)}`);
}

const asList = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** Every statement attached to the role: its inline policies and the AWS::IAM::Policy resources naming it. */
export function roleStatements(template: Template, roleLogicalId: string): Statement[] {
  const resources = template.toJSON().Resources as Json;
  const role = resources[roleLogicalId] as { Properties: { Policies?: { PolicyDocument: { Statement: Statement[] } }[]; ManagedPolicyArns?: unknown[] } };
  if (role.Properties.ManagedPolicyArns?.length) throw new Error(`${roleLogicalId} has managed policies; this evaluator reads inline ones only`);
  const statements = (role.Properties.Policies ?? []).flatMap((p) => p.PolicyDocument.Statement);
  for (const resource of Object.values(resources) as {
    Type: string;
    Properties: { Roles?: { Ref?: string }[]; PolicyDocument: { Statement: Statement[] } };
  }[]) {
    if (resource.Type === 'AWS::IAM::Policy' && resource.Properties.Roles?.some((r) => r.Ref === roleLogicalId)) {
      statements.push(...resource.Properties.PolicyDocument.Statement);
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

function conditionHolds(condition: Statement['Condition'], context: Record<string, string>): boolean {
  for (const [operator, entries] of Object.entries(condition ?? {})) {
    if (operator !== 'StringLike' && operator !== 'StringEquals') throw new Error(`condition operator ${operator} not supported by this evaluator`);
    for (const [key, expected] of Object.entries(entries)) {
      const actual = context[key];
      if (actual === undefined) return false;
      const match = asList(expected).some((e) => (operator === 'StringLike' ? globToRegExp(e).test(actual) : e === actual));
      if (!match) return false;
    }
  }
  return true;
}

/**
 * Whether the statements allow `action` on `resource` (an ARN without tokens) with the request
 * `context` (e.g. `{ 's3:prefix': ... }`): an Allow matches and no Deny does.
 */
export function allows(statements: Statement[], resources: Json, action: string, resource: string, context: Record<string, string> = {}): boolean {
  const matches = (s: Statement) =>
    asList(s.Action).some((a) => globToRegExp(a, true).test(action)) &&
    asList(s.Resource).some((r) => globToRegExp(flattenValue(r, resources)).test(resource)) &&
    conditionHolds(s.Condition, context);
  return statements.some((s) => s.Effect === 'Allow' && matches(s)) && !statements.some((s) => s.Effect === 'Deny' && matches(s));
}

/** The ARN of an object key in the test bucket. */
export function objectArn(key: string): string {
  return `arn:aws:s3:::${TEST_BUCKET}/${key}`;
}

export const BUCKET_ARN = `arn:aws:s3:::${TEST_BUCKET}`;
