/**
 * The IAM evaluator the least-privilege proofs rely on (`allows` in support.ts): it must read a
 * statement as IAM does, or a broadening written with NotAction or NotResource passes unseen.
 */
import { describe, expect, it } from 'vitest';
import { allows, objectArn, type Statement } from './support.js';

const NO_RESOURCES = {};
const LOCK = objectArn('lake/_locks/rentals/year=2025/month=03/day=01.json');
const DATA = objectArn('lake/rentals/year=2025/month=03/day=01/part-x.parquet');
const can = (statements: Statement[], action: string, resource: string, context?: Record<string, string>) =>
  allows(statements, NO_RESOURCES, action, resource, context);

describe('allows', () => {
  it('matches Action and Resource by their globs, actions case-insensitively', () => {
    // Arrange
    const statements: Statement[] = [{ Effect: 'Allow', Action: 'S3:Get*', Resource: objectArn('lake/_locks/*') }];
    // Assess
    expect(can(statements, 's3:GetObject', LOCK)).toBe(true);
    expect(can(statements, 's3:PutObject', LOCK)).toBe(false);
    expect(can(statements, 's3:GetObject', DATA)).toBe(false);
  });

  it('reads NotAction as every action but those listed', () => {
    // Arrange
    const statements: Statement[] = [{ Effect: 'Allow', NotAction: 'iam:*', Resource: '*' }];
    // Assess
    expect(can(statements, 's3:PutBucketPolicy', 'arn:aws:s3:::test-lake-bucket')).toBe(true);
    expect(can(statements, 'lambda:UpdateFunctionCode', 'arn:aws:lambda:us-east-1:123456789012:function:f')).toBe(true);
    expect(can(statements, 'iam:PassRole', 'arn:aws:iam::123456789012:role/r')).toBe(false);
  });

  it('reads NotResource as every resource but those listed', () => {
    // Arrange
    const statements: Statement[] = [{ Effect: 'Allow', Action: 's3:DeleteObject', NotResource: objectArn('lake/_locks/*') }];
    // Assess
    expect(can(statements, 's3:DeleteObject', DATA)).toBe(true);
    expect(can(statements, 's3:DeleteObject', LOCK)).toBe(false);
  });

  it('lets a matching Deny win over any Allow, NotAction and NotResource included', () => {
    // Arrange
    const allowAll: Statement = { Effect: 'Allow', Action: 's3:*', Resource: '*' };
    const denyButLocks: Statement = { Effect: 'Deny', Action: 's3:*', NotResource: objectArn('lake/_locks/*') };
    const denyButReads: Statement = { Effect: 'Deny', NotAction: 's3:GetObject', Resource: '*' };
    // Assess
    expect(can([allowAll, denyButLocks], 's3:PutObject', DATA)).toBe(false);
    expect(can([allowAll, denyButLocks], 's3:PutObject', LOCK)).toBe(true);
    expect(can([allowAll, denyButReads], 's3:PutObject', LOCK)).toBe(false);
    expect(can([allowAll, denyButReads], 's3:GetObject', LOCK)).toBe(true);
  });

  it('applies a statement only when its condition holds', () => {
    // Arrange
    const statements: Statement[] = [
      { Effect: 'Allow', Action: 's3:ListBucket', Resource: 'arn:aws:s3:::test-lake-bucket', Condition: { StringLike: { 's3:prefix': ['lake/_locks/*'] } } },
    ];
    // Assess
    expect(can(statements, 's3:ListBucket', 'arn:aws:s3:::test-lake-bucket', { 's3:prefix': 'lake/_locks/rentals/' })).toBe(true);
    expect(can(statements, 's3:ListBucket', 'arn:aws:s3:::test-lake-bucket', { 's3:prefix': 'lake/' })).toBe(false);
    expect(can(statements, 's3:ListBucket', 'arn:aws:s3:::test-lake-bucket')).toBe(false);
  });

  it('refuses what it cannot evaluate instead of guessing', () => {
    // Assess
    expect(() =>
      can([{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*', Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } } }], 's3:GetObject', LOCK),
    ).toThrow(/IpAddress/);
    expect(() => can([{ Effect: 'Allow', Action: 's3:GetObject' } as Statement], 's3:GetObject', LOCK)).toThrow(/Resource/);
    expect(() => can([{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*', Principal: '*' } as Statement], 's3:GetObject', LOCK)).toThrow(/Principal/);
  });
});
