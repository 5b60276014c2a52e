/**
 * The S3-compatible endpoint of the test run (moto in CI), and fresh buckets on it.
 */
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { inject } from 'vitest';

/** The endpoint, or undefined when the S3 suites are skipped (the global setup said why). */
export const s3Endpoint = inject('s3Endpoint');

/** Environment for code under test that talks to the endpoint. */
export function s3Env(endpoint: string): Record<string, string> {
  return { AWS_ENDPOINT_URL: endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' };
}

/** Sets the S3 credentials in this process (the SDK reads them from process.env). */
export function useS3Credentials(endpoint: string): void {
  Object.assign(process.env, s3Env(endpoint));
}

export async function createBucket(endpoint: string): Promise<string> {
  const bucket = `lake-${randomBytes(4).toString('hex')}`;
  const client = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  client.destroy();
  return bucket;
}
