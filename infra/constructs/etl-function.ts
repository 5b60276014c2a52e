/**
 * One Lambda function of the pipeline with the defaults all of them share: the current Node.js
 * runtime on ARM64, a log group of its own with a retention, X-Ray tracing, source-mapped stack
 * traces, the runtime's Amazon CAs trusted (TLS to RDS), and an esbuild bundle made on this
 * machine (no Docker). Each function gets its own role that can write only to its own log group;
 * the stack grants the rest.
 */
import { join } from 'node:path';
import { type Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { ISecurityGroup, IVpc, SubnetSelection } from 'aws-cdk-lib/aws-ec2';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing, type CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ANY_RESOURCE_FINDING, acknowledge } from '../nag.js';

/** The newest Node.js runtime in this aws-cdk-lib (nodejs24.x: supported until 2028). */
export const ETL_RUNTIME = Runtime.NODEJS_24_X;

/** The Lambda runtime's file of CA certificates, Amazon's (RDS among them) included. */
export const LAMBDA_CA_CERTIFICATES = '/var/runtime/ca-cert.pem';

export interface EtlFunctionProps {
  /** Directory holding `package-lock.json` and `node_modules`; `entry` and `copyFiles` are relative to it. */
  readonly projectRoot: string;
  /** Module exporting `handler`, relative to `projectRoot`. */
  readonly entry: string;
  readonly description: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly environment?: Record<string, string>;
  /** Files (relative to `projectRoot`) copied next to the bundle, e.g. a `.wasm` read from `__dirname`. */
  readonly copyFiles?: readonly string[];
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** Run inside this VPC (only for a function that must reach a private database). */
  readonly vpc?: IVpc;
  readonly vpcSubnets?: SubnetSelection;
  readonly securityGroups?: ISecurityGroup[];
}

export class EtlFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: EtlFunctionProps) {
    super(scope, id);

    this.logGroup = new LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // Our own role instead of AWSLambdaBasicExecutionRole (logs:* on every log group).
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${id}`,
    });
    this.logGroup.grantWrite(this.role);
    if (props.vpc) {
      // What AWSLambdaVPCAccessExecutionRole grants: Lambda manages the function's network interfaces.
      this.role.addToPolicy(
        new PolicyStatement({
          actions: [
            'ec2:CreateNetworkInterface',
            'ec2:DescribeNetworkInterfaces',
            'ec2:DescribeSubnets',
            'ec2:DeleteNetworkInterface',
            'ec2:AssignPrivateIpAddresses',
            'ec2:UnassignPrivateIpAddresses',
          ],
          resources: ['*'],
        }),
      );
    }

    const copyFiles = props.copyFiles ?? [];
    this.function = new NodejsFunction(this, 'Function', {
      entry: join(props.projectRoot, props.entry),
      projectRoot: props.projectRoot,
      depsLockFilePath: join(props.projectRoot, 'package-lock.json'),
      handler: 'handler',
      description: props.description,
      runtime: ETL_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      tracing: Tracing.ACTIVE,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      securityGroups: props.securityGroups,
      // Since Node.js 20 the runtime trusts only Node's own CAs unless told to load its file of
      // Amazon CAs: without it, TLS to RDS (verify-full) fails with "unable to verify the first certificate".
      environment: { NODE_OPTIONS: '--enable-source-maps', NODE_EXTRA_CA_CERTS: LAMBDA_CA_CERTIFICATES, ...props.environment },
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.CJS,
        target: 'node24',
        minify: true,
        // Error classes are matched by `name` in the state machine's Retry/Catch: never mangle them.
        keepNames: true,
        sourceMap: true,
        sourcesContent: false,
        // Bundle the AWS SDK too: the code runs with the version it was tested with, not the runtime's.
        bundleAwsSDK: true,
        // pg loads its optional native binding only when asked to; it is not installed.
        externalModules: ['pg-native'],
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (inputDir: string, outputDir: string) => copyFiles.map((file) => `cp "${join(inputDir, file)}" "${outputDir}/"`),
        },
      },
    });

    acknowledge(
      this.role,
      [ANY_RESOURCE_FINDING],
      'X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions' +
        (props.vpc ? '; neither do the EC2 network-interface actions a VPC function needs (as in AWSLambdaVPCAccessExecutionRole).' : '.'),
    );
  }

  /**
   * Caps the function's concurrent invocations (and so what they hold, such as database
   * connections); invocations over the cap are throttled. Set once the cap is known.
   */
  reserveConcurrency(invocations: number): void {
    (this.function.node.defaultChild as CfnFunction).reservedConcurrentExecutions = invocations;
  }
}
