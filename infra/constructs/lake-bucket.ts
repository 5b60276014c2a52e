/**
 * The lake's S3 bucket with the defaults a data lake should never be without: no public access,
 * S3-managed encryption, TLS only, versioning (a bad publish can be undone), and lifecycle rules
 * that keep the bucket from filling with leftovers. Server access logs go to a bucket of their own.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership, type BucketProps, type IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledge } from '../nag.js';

export interface LakeBucketProps {
  /** Key prefix of the staging area (`<lake prefix>/_staging/`); its objects expire. */
  readonly stagingPrefix: string;
  /** Days a staged object may outlive a crashed run. @default 3 */
  readonly stagingExpiration?: Duration;
  /**
   * Key prefixes, by name, of what each run leaves beside the data (`<lake prefix>/_reports/`,
   * `_quarantine/`): their objects expire after `reportExpiration` (rule `expire-<name>`), then stay
   * recoverable as noncurrent versions.
   */
  readonly reportPrefixes?: Readonly<Record<string, string>>;
  /** How long a validation report or a quarantine file is kept. @default 365 days */
  readonly reportExpiration?: Duration;
  /** Days an overwritten or deleted object stays recoverable. @default 30 */
  readonly noncurrentVersionExpiration?: Duration;
  /** @default - a name CloudFormation generates */
  readonly bucketName?: string;
}

/** Settings both buckets share. */
const SAFE_DEFAULTS = {
  blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
  encryption: BucketEncryption.S3_MANAGED,
  enforceSSL: true,
  minimumTLSVersion: 1.2,
  objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
  removalPolicy: RemovalPolicy.RETAIN,
} satisfies BucketProps;

export class LakeBucket extends Construct {
  readonly bucket: IBucket;
  readonly accessLogs: IBucket;

  constructor(scope: Construct, id: string, props: LakeBucketProps) {
    super(scope, id);

    const accessLogs = new Bucket(this, 'AccessLogs', {
      ...SAFE_DEFAULTS,
      // Access logs must be written with SSE-S3; they age out after a quarter.
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(90), abortIncompleteMultipartUploadAfter: Duration.days(1) }],
    });
    acknowledge(accessLogs, ['AwsSolutions-S1'], 'This is the server access log bucket of the lake bucket; logging it into itself would loop.');

    this.bucket = new Bucket(this, 'Bucket', {
      ...SAFE_DEFAULTS,
      bucketName: props.bucketName,
      versioned: true,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'lake-bucket/',
      lifecycleRules: [
        {
          id: 'expire-staging',
          prefix: props.stagingPrefix,
          expiration: props.stagingExpiration ?? Duration.days(3),
          noncurrentVersionExpiration: Duration.days(1),
        },
        ...Object.entries(props.reportPrefixes ?? {}).map(([name, prefix]) => ({
          id: `expire-${name}`,
          prefix,
          expiration: props.reportExpiration ?? Duration.days(365),
        })),
        {
          id: 'expire-noncurrent-versions',
          noncurrentVersionExpiration: props.noncurrentVersionExpiration ?? Duration.days(30),
          expiredObjectDeleteMarker: true,
        },
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
    });
    this.accessLogs = accessLogs;
  }
}
