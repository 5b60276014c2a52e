/**
 * cdk-nag (AwsSolutions) finds nothing unacknowledged, in the default configuration and with
 * everything imported (bucket, secret with its key, VPC). cdk-nag 3 reports through CDK's
 * policy-validation plugins, so the app is synthesized exactly as `infra/app.ts` does it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp } from '../../infra/create-app.js';
import { LakeEtlStack, type LakeEtlStackProps } from '../../infra/lake-etl-stack.js';

const outdirs: string[] = [];
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

function findings(props: LakeEtlStackProps): string[] {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  new LakeEtlStack(app, 'NagStack', props);
  return new AwsSolutionsChecks(app)
    .validateScope(app)
    .violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`);
}

describe('cdk-nag AwsSolutions', () => {
  it('has no unacknowledged finding with the defaults', () => {
    expect(findings({})).toEqual([]);
  });

  it('has no unacknowledged finding with an existing bucket, secret, key and VPC', () => {
    expect(
      findings({
        existingBucketName: 'existing-lake',
        lakePrefix: '',
        databaseSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-1234-AbCdEf',
        databaseSecretKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
        vpcId: 'vpc-0123456789abcdef0',
        subnetIds: ['subnet-0123456789abcdef0'],
        alarmEmail: 'ops@example.com',
      }),
    ).toEqual([]);
  });

  it('runs on the app synth, which a finding nobody acknowledged stops', () => {
    // Arrange: the app exactly as infra/app.ts builds it, assets left unbundled.
    const newApp = () => {
      const outdir = mkdtempSync(join(tmpdir(), 'nag-'));
      outdirs.push(outdir);
      return createApp({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
    };
    const clean = newApp();
    const careless = newApp();
    new Bucket(careless.stack, 'CarelessBucket');
    // Act / Assess
    expect(() => clean.app.synth()).not.toThrow();
    expect(() => careless.app.synth()).toThrow(/CarelessBucket[\s\S]*AwsSolutions-S1/);
  });
});
