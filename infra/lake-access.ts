/**
 * Turns a stage's lake access (its registry entry in `src/pipeline/stages.ts`, key patterns of
 * `src/lake/layout.ts`) into IAM statements: `write` grants PutObject and AbortMultipartUpload,
 * `list` ListBucket limited by `s3:prefix`, and `read` also ListBucket with a key it reads as the
 * prefix (see `grantLakeAccess`).
 */
import type { Stack } from 'aws-cdk-lib';
import { Effect, PolicyStatement, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { glueIcebergTableName } from '../src/lake/iceberg/glue-catalog.js';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { LakeAccess } from '../src/pipeline/stages.js';

/**
 * Grants `access` under `lakePrefix` ('' = bucket root) of `bucket` to `grantee`.
 *
 * A missing key: S3 answers a GET or HEAD of a key that does not exist with 404 only to a caller
 * allowed s3:ListBucket on the bucket for that request, which has no `s3:prefix`, so no grant
 * conditioned on the prefix counts: the roles get 403 AccessDenied. Only an unconditional
 * ListBucket would turn it into a 404, and it would let every function list every key of the
 * bucket, outside the lake too (an existing, shared bucket included). Instead the store settles a
 * 403 with a listing of the key itself (`S3Store`: absent means missing, present a real refusal),
 * and this grant lets a stage list each key it reads: `read` patterns join the `s3:prefix` ones.
 */
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
  const prefixes = [...new Set([...(access.list ?? []), ...(access.read ?? [])])];
  if (prefixes.length) {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'LakeList',
        effect: Effect.ALLOW,
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': prefixes.map((p) => `${root}${p}`) } },
      }),
    );
  }
}

/** The object key patterns of `access` that hold a wildcard (what cdk-nag's IAM5 reports). */
export function lakeWildcardPatterns(access: LakeAccess): string[] {
  return [...new Set([...(access.read ?? []), ...(access.write ?? []), ...(access.delete ?? [])])].filter((p) => p.includes('*'));
}

/**
 * Lets `grantee` move the Glue tables that follow the Iceberg `tables` it commits (`GlueCatalogFollower`):
 * `glue:GetTable` and `glue:UpdateTable` on the catalog, `database` and those tables only (Glue
 * checks all three), nothing else of Glue.
 */
export function grantIcebergCatalog(grantee: IGrantable, stack: Stack, database: string, tables: readonly string[]): void {
  const arn = (resource: string, resourceName?: string) => stack.formatArn({ service: 'glue', resource, resourceName });
  grantee.grantPrincipal.addToPrincipalPolicy(
    new PolicyStatement({
      sid: 'IcebergCatalog',
      effect: Effect.ALLOW,
      actions: ['glue:GetTable', 'glue:UpdateTable'],
      resources: [arn('catalog'), arn('database', database), ...tables.map((table) => arn('table', `${database}/${glueIcebergTableName(table)}`))],
    }),
  );
}
