/**
 * What each function may do in the lake, as key patterns relative to the lake prefix. This table
 * follows the key layout in `shared/lake/layout.ts`; the stack turns it into IAM statements.
 *
 * - `read`: GetObject (HeadObject and ranged GETs included).
 * - `list`: ListBucket limited by `s3:prefix`. It also makes S3 answer 404 instead of 403 for a
 *   missing key under that prefix, which the code relies on (a missing manifest means "never
 *   published"; a missing staged file is a `StagingError`).
 * - `write`: PutObject (conditional writes and multipart uploads included) and AbortMultipartUpload.
 * - `delete`: DeleteObject (DeleteObjects checks it per key).
 */
import { Effect, PolicyStatement, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';

export interface LakeAccess {
  readonly read?: readonly string[];
  readonly list?: readonly string[];
  readonly write?: readonly string[];
  readonly delete?: readonly string[];
}

const PARTITION = 'rentals/year=*/month=*/day=*';
const DATA_FILES = `${PARTITION}/part-*.parquet`;
const MANIFESTS = `${PARTITION}/_manifest.json`;
/** One lock object per partition: `_locks/rentals/year=YYYY/month=MM/day=DD.json`. */
const LOCKS = '_locks/rentals/*';

export const LAKE_ACCESS = {
  /** Takes the day's lock; reads no lake object besides it. */
  planDay: {
    read: [LOCKS],
    list: [LOCKS],
    write: [LOCKS],
    delete: [LOCKS],
  },
  /** Gives a failed day's lock back. */
  releaseDay: {
    read: [LOCKS],
    list: [LOCKS],
    delete: [LOCKS],
  },
  /** Streams a range's source rows into the staging area (and removes them if it fails); nothing else. */
  extract: {
    read: [LOCKS],
    list: [LOCKS],
    write: ['_staging/*', LOCKS],
    delete: ['_staging/*', LOCKS],
  },
  /** Reads the staged day; writes data files, quarantine lines and the snapshots of users and bikes. */
  transformWrite: {
    read: ['_staging/*', LOCKS],
    list: ['_staging/*', LOCKS],
    write: [DATA_FILES, '_quarantine/rentals/*', 'users/data.parquet', 'bikes/data.parquet', LOCKS],
    delete: [LOCKS],
  },
  /**
   * Reads footers and manifests, writes the report and the manifest (never a data file), removes
   * files the new manifest no longer names, a failed run's files, and the run's staging area.
   */
  validate: {
    read: ['rentals/*', LOCKS],
    list: ['rentals/*', '_quarantine/rentals/*', '_staging/*', LOCKS],
    write: [MANIFESTS, '_reports/rentals/*', LOCKS],
    delete: [DATA_FILES, '_quarantine/rentals/*', '_staging/*', LOCKS],
  },
} as const satisfies Record<string, LakeAccess>;

/** Grants `access` under `lakePrefix` ('' = bucket root) of `bucket` to `grantee`. */
export function grantLakeAccess(grantee: IGrantable, bucket: IBucket, lakePrefix: string, access: LakeAccess): void {
  const root = lakePrefix === '' ? '' : `${lakePrefix}/`;
  const objects = (patterns: readonly string[] = []) => patterns.map((p) => bucket.arnForObjects(`${root}${p}`));
  const add = (sid: string, actions: string[], patterns: readonly string[] | undefined) => {
    if (!patterns?.length) return;
    grantee.grantPrincipal.addToPrincipalPolicy(new PolicyStatement({ sid, effect: Effect.ALLOW, actions, resources: objects(patterns) }));
  };
  add('LakeRead', ['s3:GetObject'], access.read);
  add('LakeWrite', ['s3:PutObject', 's3:AbortMultipartUpload'], access.write);
  add('LakeDelete', ['s3:DeleteObject'], access.delete);
  if (access.list?.length) {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'LakeList',
        effect: Effect.ALLOW,
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': access.list.map((p) => `${root}${p}`) } },
      }),
    );
  }
}

/** The object key patterns of `access` that hold a wildcard (what cdk-nag's IAM5 reports). */
export function lakeWildcardPatterns(access: LakeAccess): string[] {
  return [...new Set([...(access.read ?? []), ...(access.write ?? []), ...(access.delete ?? [])])].filter((p) => p.includes('*'));
}
