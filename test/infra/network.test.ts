/**
 * The VPC endpoints offered to the database functions (`vpcEndpoints`), one switch each: an S3
 * gateway endpoint on the given route tables, and Secrets Manager and Step Functions interface
 * endpoints whose private DNS serves the whole VPC, so that they admit the VPC's CIDR.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { stackPropsFromContext } from '../../infra/context.js';
import { STAGE_LIST } from '../../src/pipeline/stages.js';
import { buildStack, logicalId } from './support.js';

const VPC = {
  vpcId: 'vpc-0123456789abcdef0',
  subnetIds: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'],
};
const ROUTE_TABLES = ['rtb-0123456789abcdef0', 'rtb-0fedcba9876543210'];
const VPC_CIDR = '10.20.0.0/16';
const ENDPOINTS = { ...VPC, vpcEndpoints: true, routeTableIds: ROUTE_TABLES, vpcCidr: VPC_CIDR } as const;

/** The ingress rules of the interface endpoints' security group, inline or as their own resources. */
function endpointIngress(template: ReturnType<typeof buildStack>['template']): Record<string, unknown>[] {
  const endpointGroup = logicalId(template, 'AWS::EC2::SecurityGroup', 'VpcEndpointsSecretsManagerSecurityGroup');
  const group = template.toJSON().Resources[endpointGroup] as { Properties: { SecurityGroupIngress?: Record<string, unknown>[] } };
  const separate = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress'))
    .map((r) => (r as { Properties: Record<string, unknown> }).Properties)
    .filter((p) => JSON.stringify(p.GroupId).includes(endpointGroup));
  return [...(group.Properties.SecurityGroupIngress ?? []), ...separate];
}
const region = { Ref: 'AWS::Region' };

/** Each test synthesizes stacks of its own: minutes on a loaded two-core machine. */
describe('VPC endpoints', { timeout: 240_000 }, () => {
  it('are added with vpcEndpoints: S3 as a gateway on the route tables, Secrets Manager, Step Functions and Glue as interfaces with private DNS', () => {
    // Act
    const { template } = buildStack(ENDPOINTS);
    // Assess
    template.resourceCountIs('AWS::EC2::VPCEndpoint', 4);
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcId: VPC.vpcId,
      VpcEndpointType: 'Gateway',
      ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', region, '.s3']] },
      RouteTableIds: ROUTE_TABLES,
    });
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcId: VPC.vpcId,
      VpcEndpointType: 'Interface',
      ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', region, '.secretsmanager']] },
      SubnetIds: VPC.subnetIds,
      PrivateDnsEnabled: true,
      SecurityGroupIds: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^VpcEndpointsSecretsManagerSecurityGroup'), 'GroupId'] }],
    });
    // plan-day asks Step Functions whether a lease's execution still runs
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcId: VPC.vpcId,
      VpcEndpointType: 'Interface',
      ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', region, '.states']] },
      SubnetIds: VPC.subnetIds,
      PrivateDnsEnabled: true,
    });
    // plan-day and snapshot move the Glue tables of the Iceberg tables they commit
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcId: VPC.vpcId,
      VpcEndpointType: 'Interface',
      ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', region, '.glue']] },
      SubnetIds: VPC.subnetIds,
      PrivateDnsEnabled: true,
    });
  });

  it('admit HTTPS from the database functions and from the VPC, whose every workload their private DNS serves, and nothing else', () => {
    // Act
    const { template } = buildStack(ENDPOINTS);
    const rules = endpointIngress(template);
    // Assess
    const functionGroups = STAGE_LIST.filter((s) => s.needs.database).map((s) =>
      logicalId(template, 'AWS::EC2::SecurityGroup', `${s.state}FunctionSecurityGroup`),
    );
    expect(rules.map((p) => [p.FromPort, p.ToPort, p.IpProtocol])).toEqual([...functionGroups, VPC_CIDR].map(() => [443, 443, 'tcp']));
    expect(rules.filter((p) => p.CidrIp !== undefined).map((p) => p.CidrIp)).toEqual([VPC_CIDR]);
    expect(
      rules.flatMap((p) => (p.SourceSecurityGroupId ? [(p.SourceSecurityGroupId as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0]] : [])).sort(),
    ).toEqual(functionGroups.sort());
    expect(JSON.stringify(rules)).not.toContain('0.0.0.0/0');
  });

  it('are one switch each: the S3 gateway can be left out where the route tables have one, and needs no route tables then', () => {
    // Act
    const { template } = buildStack({ ...VPC, vpcEndpoints: ['secretsmanager', 'states'], vpcCidr: VPC_CIDR });
    const s3Only = buildStack({ ...VPC, vpcEndpoints: ['s3'], routeTableIds: ROUTE_TABLES }).template;
    // Assess
    template.resourceCountIs('AWS::EC2::VPCEndpoint', 2);
    expect(JSON.stringify(template.findResources('AWS::EC2::VPCEndpoint'))).not.toContain('Gateway');
    s3Only.resourceCountIs('AWS::EC2::VPCEndpoint', 1);
    s3Only.hasResourceProperties('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Gateway', RouteTableIds: ROUTE_TABLES });
    expect(Object.keys(s3Only.findResources('AWS::EC2::SecurityGroup')).filter((id) => id.startsWith('VpcEndpoints'))).toEqual([]);
    const statesOnly = buildStack({ ...VPC, vpcEndpoints: ['states'], vpcCidr: VPC_CIDR }).template;
    statesOnly.resourceCountIs('AWS::EC2::VPCEndpoint', 1);
    statesOnly.hasResourceProperties('AWS::EC2::VPCEndpoint', { ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', region, '.states']] } });
  });

  it('are not added without the flag, nor outside a VPC', () => {
    // Act / Assess
    buildStack(VPC).template.resourceCountIs('AWS::EC2::VPCEndpoint', 0);
    buildStack().template.resourceCountIs('AWS::EC2::VPCEndpoint', 0);
  });

  it('need a VPC and its route tables, and route tables are read only for them', () => {
    // Act / Assess
    expect(() => buildStack({ vpcEndpoints: true, vpcCidr: VPC_CIDR })).toThrow(/vpcEndpoints needs vpcId/);
    expect(() => buildStack({ ...VPC, vpcEndpoints: true, vpcCidr: VPC_CIDR })).toThrow(/vpcEndpoints needs routeTableIds.*leave s3 out/);
    expect(() => buildStack({ ...VPC, routeTableIds: ROUTE_TABLES })).toThrow(/routeTableIds is read only with the s3 endpoint/);
    expect(() => buildStack({ ...VPC, vpcEndpoints: ['secretsmanager'], routeTableIds: ROUTE_TABLES, vpcCidr: VPC_CIDR })).toThrow(
      /routeTableIds is read only with the s3 endpoint/,
    );
  });

  it("refuse interface endpoints without the VPC CIDR (their private DNS would cut the VPC's other workloads off), and unknown endpoints", () => {
    expect(() => buildStack({ ...VPC, vpcEndpoints: true, routeTableIds: ROUTE_TABLES })).toThrow(
      /vpcEndpoints secretsmanager, states, glue needs vpcCidr .*private DNS serves the whole VPC/,
    );
    expect(() => buildStack({ ...VPC, vpcEndpoints: ['s3'], routeTableIds: ROUTE_TABLES, vpcCidr: VPC_CIDR })).toThrow(/vpcCidr is read only/);
    expect(() => buildStack({ ...VPC, vpcEndpoints: ['sqs'] as never, vpcCidr: VPC_CIDR })).toThrow(
      /vpcEndpoints sqs: no such endpoint \(known: s3, secretsmanager, states, glue/,
    );
  });

  it('are configured from context', () => {
    const context: Record<string, string> = { vpcEndpoints: 'true', routeTableIds: 'rtb-a, rtb-b', vpcCidr: '10.0.0.0/16' };
    expect(stackPropsFromContext((key) => context[key]).props).toMatchObject({ vpcEndpoints: true, routeTableIds: ['rtb-a', 'rtb-b'], vpcCidr: '10.0.0.0/16' });
    const some: Record<string, string> = { vpcEndpoints: 'secretsmanager,states' };
    expect(stackPropsFromContext((key) => some[key]).props.vpcEndpoints).toEqual(['secretsmanager', 'states']);
    expect(() => stackPropsFromContext((key) => (key === 'vpcCidr' ? 'vpc-123' : undefined))).toThrow(/vpcCidr: expected an IPv4 CIDR/);
  });
});
