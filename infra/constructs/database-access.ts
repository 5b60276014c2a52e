/**
 * How the functions that need the source database (`needs.database` in the registry) reach it:
 * the secret holding the connection, the VPC, subnets and security group they run in, and the
 * VPC endpoints that give them S3, Secrets Manager and Step Functions without a NAT.
 */
import type { Stack } from 'aws-cdk-lib';
import { type ISecurityGroup, type IVpc, SecurityGroup, Subnet, Vpc } from 'aws-cdk-lib/aws-ec2';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Key } from 'aws-cdk-lib/aws-kms';
import { type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { acknowledge } from '../nag.js';
import { VPC_ENDPOINT_SERVICES, type VpcEndpointService, VpcEndpoints } from './vpc-endpoints.js';

/** Where the database functions run: nothing outside a VPC. */
export interface DatabaseNetwork {
  readonly vpc?: IVpc;
  readonly vpcSubnets?: { subnets: ReturnType<typeof Subnet.fromSubnetId>[] };
  readonly securityGroups?: ISecurityGroup[];
}

export interface DatabaseAccessProps {
  readonly databaseSecretArn?: string;
  readonly databaseSecretKeyArn?: string;
  readonly vpcId?: string;
  readonly subnetIds?: readonly string[];
  readonly securityGroupId?: string;
  readonly routeTableIds?: readonly string[];
  readonly vpcCidr?: string;
}

/** The secret given by ARN (with its KMS key, if any), or a placeholder to fill in after deploy. */
export function buildDatabaseSecret(stack: Stack, props: DatabaseAccessProps): ISecret {
  if (props.databaseSecretArn) {
    return Secret.fromSecretAttributes(stack, 'DatabaseSecret', {
      secretCompleteArn: props.databaseSecretArn,
      encryptionKey: props.databaseSecretKeyArn ? Key.fromKeyArn(stack, 'DatabaseSecretKey', props.databaseSecretKeyArn) : undefined,
    });
  }
  const secret = new Secret(stack, 'DatabaseSecret', {
    description: 'Postgres connection of the ETL (RDS JSON): set host, port, dbname and username of your database',
    generateSecretString: {
      secretStringTemplate: JSON.stringify({ engine: 'postgres', username: 'etl', host: 'replace-me.invalid', port: 5432, dbname: 'postgres' }),
      generateStringKey: 'password',
      excludePunctuation: true,
      passwordLength: 32,
    },
  });
  acknowledge(
    secret,
    ['AwsSolutions-SMG4'],
    'A placeholder for the credentials of a database this stack does not own; rotation belongs with that database ' +
      '(for RDS, pass its managed, rotated secret as databaseSecretArn).',
  );
  return secret;
}

/** The VPC, subnets and security group of `props`, imported without lookups; none without `vpcId`. */
export function buildDatabaseNetwork(stack: Stack, props: DatabaseAccessProps): DatabaseNetwork {
  if (!props.vpcId) {
    if (props.subnetIds?.length || props.securityGroupId) throw new Error('subnetIds and securityGroupId need vpcId');
    return {};
  }
  if (!props.subnetIds?.length) throw new Error('vpcId needs subnetIds (the private subnets the database functions run in)');
  // No lookup: synth stays offline. The AZ list is required by the type but unused with explicit subnets.
  const vpc = Vpc.fromVpcAttributes(stack, 'Vpc', { vpcId: props.vpcId, availabilityZones: ['unused'] });
  return {
    vpc,
    vpcSubnets: { subnets: props.subnetIds.map((id, i) => Subnet.fromSubnetId(stack, `Subnet${i}`, id)) },
    securityGroups: props.securityGroupId ? [SecurityGroup.fromSecurityGroupId(stack, 'DatabaseSecurityGroup', props.securityGroupId)] : undefined,
  };
}

/**
 * The endpoints a `vpcEndpoints` setting names: `true` is all of them, `false` none; refuses a
 * name that is no endpoint's.
 */
export function vpcEndpointServices(setting: boolean | readonly string[]): VpcEndpointService[] {
  if (typeof setting === 'boolean') return setting ? [...VPC_ENDPOINT_SERVICES] : [];
  const unknown = setting.filter((name) => !(VPC_ENDPOINT_SERVICES as readonly string[]).includes(name));
  if (unknown.length > 0) throw new Error(`vpcEndpoints ${unknown.join(', ')}: no such endpoint (known: ${VPC_ENDPOINT_SERVICES.join(', ')}; or true for all)`);
  return VPC_ENDPOINT_SERVICES.filter((name) => setting.includes(name));
}

/**
 * The VPC endpoints in `services` for `clients` (the database functions), in `network`'s VPC,
 * S3's on `props.routeTableIds`. Refuses an endpoint without a VPC, S3's without route tables, an
 * interface endpoint without `vpcCidr` (its private DNS serves the whole VPC), and route tables or
 * a CIDR no endpoint reads.
 */
export function buildVpcEndpoints(
  stack: Stack,
  services: readonly VpcEndpointService[],
  network: DatabaseNetwork,
  props: DatabaseAccessProps,
  clients: readonly IFunction[],
): VpcEndpoints | undefined {
  const interfaces = services.filter((service) => service !== 's3');
  if (!services.includes('s3') && props.routeTableIds?.length) throw new Error('routeTableIds is read only with the s3 endpoint of vpcEndpoints');
  if (interfaces.length === 0 && props.vpcCidr) throw new Error('vpcCidr is read only with the secretsmanager or states endpoint of vpcEndpoints');
  if (services.length === 0) return undefined;
  if (!network.vpc) throw new Error('vpcEndpoints needs vpcId and subnetIds (the endpoints are for the functions in that VPC)');
  if (services.includes('s3') && !props.routeTableIds?.length) {
    throw new Error(
      'vpcEndpoints needs routeTableIds (the route tables of subnetIds, for the S3 gateway endpoint); where they already have one, leave s3 out (-c vpcEndpoints=secretsmanager,states)',
    );
  }
  if (interfaces.length > 0 && !props.vpcCidr) {
    throw new Error(
      `vpcEndpoints ${interfaces.join(', ')} needs vpcCidr (e.g. 10.0.0.0/16): the endpoints' private DNS serves the whole VPC, ` +
        'so they must admit HTTPS from every workload in it, not only from these functions',
    );
  }
  return new VpcEndpoints(stack, 'VpcEndpoints', {
    vpc: network.vpc,
    services,
    subnetIds: props.subnetIds ?? [],
    routeTableIds: props.routeTableIds ?? [],
    clients,
    vpcCidr: props.vpcCidr,
  });
}
