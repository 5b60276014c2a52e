/**
 * The private routes the database functions need in a VPC without a NAT, each behind its own
 * switch (`VPC_ENDPOINT_SERVICES`): an S3 gateway endpoint on the subnets' route tables, and
 * Secrets Manager, Step Functions and Glue interface endpoints with private DNS in the subnets. Without
 * a route the S3 and Secrets Manager clients would wait for a connection that never comes.
 *
 * The blast radius is the whole VPC: private DNS makes every workload in the VPC resolve the
 * service's public name to these endpoints, so their security group admits HTTPS from the VPC's
 * CIDR (`vpcCidr`) as well as from the database functions; and the S3 route applies to every
 * subnet using those route tables (a route table that already has an S3 gateway endpoint refuses
 * a second one: leave `s3` out there).
 *
 * Level-1 resources on purpose: the subnets are imported by id, without the availability zones
 * and route tables the level-2 endpoints read from them.
 */
import { Stack } from 'aws-cdk-lib';
import { CfnVPCEndpoint, Peer, Port, SecurityGroup, type IConnectable, type IVpc } from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';

/** The endpoints the stack can add, by the name `vpcEndpoints` lists them with. */
export const VPC_ENDPOINT_SERVICES = ['s3', 'secretsmanager', 'states', 'glue'] as const;
export type VpcEndpointService = (typeof VPC_ENDPOINT_SERVICES)[number];

export interface VpcEndpointsProps {
  readonly vpc: IVpc;
  /** The endpoints to add. */
  readonly services: readonly VpcEndpointService[];
  /** The subnets the database functions run in: an interface endpoint gets a network interface in each. */
  readonly subnetIds: readonly string[];
  /** The route tables of those subnets: the gateway endpoint adds its S3 route to each (needed with `s3`). */
  readonly routeTableIds: readonly string[];
  /** What may reach the interface endpoints: the database functions. */
  readonly clients: readonly IConnectable[];
  /** The VPC's CIDR, which the interface endpoints admit too: their private DNS serves the whole VPC. */
  readonly vpcCidr?: string;
}

export class VpcEndpoints extends Construct {
  readonly s3?: CfnVPCEndpoint;
  readonly secretsManager?: CfnVPCEndpoint;
  /** Step Functions: plan-day asks it whether a lease's execution still runs (`execution-liveness.ts`). */
  readonly stepFunctions?: CfnVPCEndpoint;
  /** Glue: plan-day and snapshot move the Glue tables of the Iceberg tables they commit (`glue-catalog.ts`). */
  readonly glue?: CfnVPCEndpoint;
  /** The interface endpoints' security group, when there is one. */
  readonly securityGroup?: SecurityGroup;

  constructor(scope: Construct, id: string, props: VpcEndpointsProps) {
    super(scope, id);
    const region = Stack.of(this).region;
    if (props.services.includes('s3')) {
      this.s3 = new CfnVPCEndpoint(this, 'S3', {
        vpcId: props.vpc.vpcId,
        serviceName: `com.amazonaws.${region}.s3`,
        vpcEndpointType: 'Gateway',
        routeTableIds: [...props.routeTableIds],
      });
    }
    if (!props.services.some((service) => service !== 's3')) return;

    const securityGroup = new SecurityGroup(this, 'SecretsManagerSecurityGroup', {
      vpc: props.vpc,
      description: 'Interface endpoints with private DNS (the whole VPC resolves to them): HTTPS from the VPC and the database functions',
      allowAllOutbound: false,
    });
    for (const client of props.clients) securityGroup.connections.allowFrom(client, Port.tcp(443), 'HTTPS from a database function');
    if (props.vpcCidr) securityGroup.addIngressRule(Peer.ipv4(props.vpcCidr), Port.tcp(443), 'HTTPS from the VPC: private DNS sends all its workloads here');
    this.securityGroup = securityGroup;
    const interfaceEndpoint = (endpointId: string, service: VpcEndpointService) =>
      new CfnVPCEndpoint(this, endpointId, {
        vpcId: props.vpc.vpcId,
        serviceName: `com.amazonaws.${region}.${service}`,
        vpcEndpointType: 'Interface',
        subnetIds: [...props.subnetIds],
        securityGroupIds: [securityGroup.securityGroupId],
        privateDnsEnabled: true,
      });
    if (props.services.includes('secretsmanager')) this.secretsManager = interfaceEndpoint('SecretsManager', 'secretsmanager');
    if (props.services.includes('states')) this.stepFunctions = interfaceEndpoint('StepFunctions', 'states');
    if (props.services.includes('glue')) this.glue = interfaceEndpoint('Glue', 'glue');
  }
}
