/**
 * The VPC endpoints offered to the database functions (`vpcEndpoints`): an S3 gateway endpoint on
 * the given route tables and a Secrets Manager interface endpoint that only those functions reach.
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
const region = { Ref: 'AWS::Region' };

/** Each test synthesizes stacks of its own: minutes on a loaded two-core machine. */
describe('VPC endpoints', { timeout: 240_000 }, () => {
  it('are added with vpcEndpoints: S3 as a gateway on the route tables, Secrets Manager, Step Functions and Glue as interfaces with private DNS', () => {
    // Act
    const { template } = buildStack({ ...VPC, vpcEndpoints: true, routeTableIds: ROUTE_TABLES });
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

  it('let only the database functions reach the Secrets Manager endpoint, on 443', () => {
    // Act
    const { template } = buildStack({ ...VPC, vpcEndpoints: true, routeTableIds: ROUTE_TABLES });
    const endpointGroup = logicalId(template, 'AWS::EC2::SecurityGroup', 'VpcEndpointsSecretsManagerSecurityGroup');
    const sources = Object.values(template.findResources('AWS::EC2::SecurityGroupIngress'))
      .map((r) => (r as { Properties: Record<string, unknown> }).Properties)
      .filter((p) => JSON.stringify(p.GroupId).includes(endpointGroup));
    // Assess
    const functionGroups = STAGE_LIST.filter((s) => s.needs.database).map((s) =>
      logicalId(template, 'AWS::EC2::SecurityGroup', `${s.state}FunctionSecurityGroup`),
    );
    expect(sources.map((p) => [p.FromPort, p.ToPort, p.IpProtocol])).toEqual(functionGroups.map(() => [443, 443, 'tcp']));
    expect(sources.map((p) => (p.SourceSecurityGroupId as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0]).sort()).toEqual(functionGroups.sort());
    expect(JSON.stringify(template.findResources('AWS::EC2::SecurityGroup', { Properties: { SecurityGroupIngress: Match.anyValue() } }))).not.toContain(
      '0.0.0.0/0',
    );
  });

  it('are not added without the flag, nor outside a VPC', () => {
    // Act / Assess
    buildStack(VPC).template.resourceCountIs('AWS::EC2::VPCEndpoint', 0);
    buildStack().template.resourceCountIs('AWS::EC2::VPCEndpoint', 0);
  });

  it('need a VPC and its route tables, and route tables are read only for them', () => {
    // Act / Assess
    expect(() => buildStack({ vpcEndpoints: true })).toThrow(/vpcEndpoints needs vpcId/);
    expect(() => buildStack({ ...VPC, vpcEndpoints: true })).toThrow(/vpcEndpoints needs routeTableIds/);
    expect(() => buildStack({ ...VPC, routeTableIds: ROUTE_TABLES })).toThrow(/routeTableIds is read only with vpcEndpoints=true/);
  });

  it('are configured from context', () => {
    const context: Record<string, string> = { vpcEndpoints: 'true', routeTableIds: 'rtb-a, rtb-b' };
    expect(stackPropsFromContext((key) => context[key]).props).toMatchObject({ vpcEndpoints: true, routeTableIds: ['rtb-a', 'rtb-b'] });
  });
});
