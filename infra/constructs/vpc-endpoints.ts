/**
 * The private routes the database functions need in a VPC without a NAT: an S3 gateway endpoint
 * on the subnets' route tables, and a Secrets Manager interface endpoint (private DNS) in the
 * subnets that only those functions may reach, on 443. Without either route the S3 and Secrets
 * Manager clients would wait for a connection that never comes.
 *
 * Level-1 resources on purpose: the subnets are imported by id, without the availability zones
 * and route tables the level-2 endpoints read from them.
 */
import { Stack } from 'aws-cdk-lib';
import { CfnVPCEndpoint, Port, SecurityGroup, type IConnectable, type IVpc } from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';

export interface VpcEndpointsProps {
  readonly vpc: IVpc;
  /** The subnets the database functions run in: the interface endpoint gets a network interface in each. */
  readonly subnetIds: readonly string[];
  /** The route tables of those subnets: the gateway endpoint adds its S3 route to each. */
  readonly routeTableIds: readonly string[];
  /** What may reach the Secrets Manager endpoint (the database functions). */
  readonly clients: readonly IConnectable[];
}

export class VpcEndpoints extends Construct {
  readonly s3: CfnVPCEndpoint;
  readonly secretsManager: CfnVPCEndpoint;
  /** Step Functions: plan-day asks it whether a lease's execution still runs (`execution-liveness.ts`). */
  readonly stepFunctions: CfnVPCEndpoint;
  /** Glue: plan-day and snapshot move the Glue tables of the Iceberg tables they commit (`glue-catalog.ts`). */
  readonly glue: CfnVPCEndpoint;
  readonly securityGroup: SecurityGroup;

  constructor(scope: Construct, id: string, props: VpcEndpointsProps) {
    super(scope, id);
    const region = Stack.of(this).region;
    this.s3 = new CfnVPCEndpoint(this, 'S3', {
      vpcId: props.vpc.vpcId,
      serviceName: `com.amazonaws.${region}.s3`,
      vpcEndpointType: 'Gateway',
      routeTableIds: [...props.routeTableIds],
    });

    this.securityGroup = new SecurityGroup(this, 'SecretsManagerSecurityGroup', {
      vpc: props.vpc,
      description: 'Secrets Manager and Step Functions endpoints: HTTPS from the database functions only',
      allowAllOutbound: false,
    });
    for (const client of props.clients) this.securityGroup.connections.allowFrom(client, Port.tcp(443), 'HTTPS from a database function');
    this.secretsManager = new CfnVPCEndpoint(this, 'SecretsManager', {
      vpcId: props.vpc.vpcId,
      serviceName: `com.amazonaws.${region}.secretsmanager`,
      vpcEndpointType: 'Interface',
      subnetIds: [...props.subnetIds],
      securityGroupIds: [this.securityGroup.securityGroupId],
      privateDnsEnabled: true,
    });
    this.stepFunctions = new CfnVPCEndpoint(this, 'StepFunctions', {
      vpcId: props.vpc.vpcId,
      serviceName: `com.amazonaws.${region}.states`,
      vpcEndpointType: 'Interface',
      subnetIds: [...props.subnetIds],
      securityGroupIds: [this.securityGroup.securityGroupId],
      privateDnsEnabled: true,
    });
    this.glue = new CfnVPCEndpoint(this, 'Glue', {
      vpcId: props.vpc.vpcId,
      serviceName: `com.amazonaws.${region}.glue`,
      vpcEndpointType: 'Interface',
      subnetIds: [...props.subnetIds],
      securityGroupIds: [this.securityGroup.securityGroupId],
      privateDnsEnabled: true,
    });
  }
}
