/**
 * Per-role allowlists of what IAM lets each role of the stack do, so that a broadening anywhere
 * turns the suite red (as the lake matrix in iam.test.ts does for S3): every Allow statement's
 * actions must fall in the role's service namespaces, and the actions granted on every resource
 * (`*`) must be exactly those that support no resource-level permission. A role the allowlist does
 * not know fails too. Each function's allowlist is derived from its registry entry (`needs`, `lease`).
 */
import { describe, expect, it } from 'vitest';
import { STAGE_LIST, icebergTablesOf } from '../../src/pipeline/stages.js';
import { buildStack, flattenValue, functionRoleId, logicalId, roleStatements, type Statement } from './support.js';

/** What a role may do: its action namespaces, and the only actions it may have on `*`. */
interface Allowlist {
  readonly namespaces: readonly string[];
  readonly onAnyResource: readonly string[];
}

/** X-Ray's tracing actions: no resource-level permissions (every traced function and the state machine). */
const XRAY_WRITE = ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'];
/** What AWSLambdaVPCAccessExecutionRole grants: Lambda manages a VPC function's network interfaces. */
const VPC_NETWORK_INTERFACES = [
  'ec2:AssignPrivateIpAddresses',
  'ec2:CreateNetworkInterface',
  'ec2:DeleteNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
  'ec2:UnassignPrivateIpAddresses',
];
/** A logging, traced state machine: CloudWatch Logs delivery and X-Ray sampling act on no resource. */
const STATE_MACHINE_ON_ANY = [
  'logs:CreateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:DescribeLogGroups',
  'logs:DescribeResourcePolicies',
  'logs:GetLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:UpdateLogDelivery',
  'xray:GetSamplingRules',
  'xray:GetSamplingTargets',
  ...XRAY_WRITE,
];

/** The allowlist of a stage's function, from its registry entry and the deployment. */
function functionAllowlist(spec: (typeof STAGE_LIST)[number], deployment: { inVpc: boolean }): Allowlist {
  const database = spec.needs.database;
  return {
    namespaces: [
      'logs',
      'xray',
      ...(spec.needs.lake ? ['s3'] : []),
      ...(database ? ['secretsmanager'] : []),
      ...(spec.lease === 'acquire' ? ['states'] : []),
      // A stage that commits an Iceberg table moves its Glue table (`glue-catalog.ts`).
      ...(icebergTablesOf(spec).length > 0 ? ['glue'] : []),
      ...(database && deployment.inVpc ? ['ec2'] : []),
    ].sort(),
    onAnyResource: [...XRAY_WRITE, ...(database && deployment.inVpc ? VPC_NETWORK_INTERFACES : [])].sort(),
  };
}

const actionsOf = (s: Statement) => ([] as string[]).concat(s.Action ?? []);

/** What `roleId`'s Allow statements grant: their namespaces, and the actions on `*`. */
function granted(template: ReturnType<typeof buildStack>['template'], roleId: string): Allowlist {
  const resources = template.toJSON().Resources as Record<string, unknown>;
  const allows = roleStatements(template, roleId).filter((s) => s.Effect === 'Allow');
  const onAny = allows.filter((s) => ([] as unknown[]).concat(s.Resource ?? []).some((r) => flattenValue(r, resources) === '*'));
  return {
    namespaces: [...new Set(allows.flatMap(actionsOf).map((a) => a.split(':')[0].toLowerCase()))].sort(),
    onAnyResource: [...new Set(onAny.flatMap(actionsOf))].sort(),
  };
}

const DEPLOYMENTS = {
  'the default stack': { props: {}, inVpc: false },
  'a stack in a VPC': {
    props: { vpcId: 'vpc-0123456789abcdef0', subnetIds: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'] },
    inVpc: true,
  },
} as const;

/** Each test synthesizes a stack of its own: seconds on a loaded two-core machine. */
describe.each(Object.entries(DEPLOYMENTS))('IAM namespaces of %s', { timeout: 240_000 }, (_name, deployment) => {
  const { template } = buildStack(deployment.props);
  const roleIds = Object.keys(template.findResources('AWS::IAM::Role'));
  const stateMachine = template.toJSON().Resources[logicalId(template, 'AWS::StepFunctions::StateMachine', 'Pipeline')] as {
    Properties: { RoleArn: { 'Fn::GetAtt': [string, string] } };
  };
  const schedule = Object.values(template.findResources('AWS::Scheduler::Schedule'))[0] as {
    Properties: { Target: { RoleArn: { 'Fn::GetAtt': [string, string] } } };
  };
  const allowlists = new Map<string, Allowlist>([
    ...STAGE_LIST.map(
      (spec) => [functionRoleId(template, logicalId(template, 'AWS::Lambda::Function', `${spec.state}Function`)), functionAllowlist(spec, deployment)] as const,
    ),
    [stateMachine.Properties.RoleArn['Fn::GetAtt'][0], { namespaces: ['lambda', 'logs', 'states', 'xray'], onAnyResource: STATE_MACHINE_ON_ANY }],
    [schedule.Properties.Target.RoleArn['Fn::GetAtt'][0], { namespaces: ['sqs', 'states'], onAnyResource: [] }],
  ]);

  it('has an allowlist for every role of the template', () => {
    expect(roleIds.filter((id) => !allowlists.has(id))).toEqual([]);
  });

  it.each(roleIds)('%s uses only its namespaces, and on any resource only the actions that have no resource-level permission', (roleId) => {
    // Act
    const grants = granted(template, roleId);
    // Assess
    const allowed = allowlists.get(roleId);
    expect(grants.namespaces).toEqual(allowed?.namespaces);
    expect(grants.onAnyResource).toEqual(allowed?.onAnyResource);
  });
});
