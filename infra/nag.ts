/**
 * cdk-nag v3 acknowledgments. cdk-nag 3 reports through CDK's policy-validation plugins and
 * matches an acknowledgment only by its exact finding id, e.g.
 * `AwsSolutions-IAM5[Resource::<LakeBucket1234.Arn>/lake/_staging/*]`; these helpers build such
 * ids from the very resources a grant used, so each wildcard is acknowledged by name.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference.js';
import type { PolicyDocument } from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';

/** Records `reason` for the findings `ids` on `scope` and everything under it. */
export function acknowledge(scope: IConstruct, ids: readonly string[], reason: string): void {
  Validations.of(scope).acknowledge(...ids.map((id) => ({ id, reason })));
}

/** The AwsSolutions-IAM5 finding id of a wildcard resource ARN (a string that may hold tokens). */
export function wildcardResourceFinding(scope: IConstruct, arn: string): string {
  return `AwsSolutions-IAM5[Resource::${flattenCfnReference(Stack.of(scope).resolve(arn))}]`;
}

/** The finding for `Resource: *`, which actions without resource-level permissions need. */
export const ANY_RESOURCE_FINDING = 'AwsSolutions-IAM5[Resource::*]';

/** The IAM5 finding ids of every wildcard resource in a policy CDK generated (e.g. a Distributed Map's). */
export function wildcardFindingsOf(scope: IConstruct, document: PolicyDocument): string[] {
  const resolved = Stack.of(scope).resolve(document.toJSON()) as { Statement?: { Effect: string; Resource?: unknown }[] };
  const findings = new Set<string>();
  for (const statement of resolved.Statement ?? []) {
    if (statement.Effect !== 'Allow') continue;
    const resources = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
    for (const resource of resources) {
      const flat = flattenCfnReference(resource);
      if (flat.includes('*')) findings.add(`AwsSolutions-IAM5[Resource::${flat}]`);
    }
  }
  return [...findings];
}
