/**
 * How plan-day tells a gone lease holder in AWS: the lease's owner is its execution, and an
 * execution Step Functions no longer reports RUNNING is gone; an answer it cannot get is not proof.
 * Against moto's Step Functions (the endpoint the S3 suites use).
 */
import { hostname } from 'node:os';
import { CreateStateMachineCommand, SFNClient, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PartitionLock } from '../../src/lake/lease.js';
import { executionLiveness } from '../../src/pipeline/execution-liveness.js';
import { s3Endpoint } from '../support/s3.js';

const lockOf = (owner: string): PartitionLock => ({
  owner,
  runId: '20250101T000000000Z-0a1b2c3d',
  acquiredAt: new Date().toISOString(),
  expiresAt: new Date(Date.now() + 120_000).toISOString(),
  // Written by a live process on this machine (this one): only the service can tell.
  host: hostname(),
  pid: process.pid,
});

describe.skipIf(!s3Endpoint)('the liveness of a lease held by a Step Functions execution', () => {
  let sfn: SFNClient;
  let stateMachineArn: string;

  beforeAll(async () => {
    sfn = new SFNClient({ region: 'us-east-1', endpoint: s3Endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    const created = await sfn.send(
      new CreateStateMachineCommand({
        name: `liveness-${Date.now()}`,
        definition: JSON.stringify({ StartAt: 'Wait', States: { Wait: { Type: 'Wait', Seconds: 3600, End: true } } }),
        roleArn: 'arn:aws:iam::123456789012:role/test',
      }),
    );
    stateMachineArn = created.stateMachineArn!;
  });
  afterAll(() => sfn?.destroy());

  it('is alive while its execution runs, gone once it is stopped', async () => {
    // Prepare
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn, input: '{}' }));
    const liveness = executionLiveness(sfn);

    // Act
    const whileRunning = await liveness(lockOf(executionArn!));
    await sfn.send(new StopExecutionCommand({ executionArn }));
    const afterStop = await liveness(lockOf(executionArn!));

    // Assess
    expect(whileRunning).toBe(false);
    expect(afterStop).toBe(true);
  });

  it('is not proven gone when the service does not know the execution, or cannot be reached', async () => {
    // Prepare
    const unknown = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:never-started`;
    const unreachable = new SFNClient({
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:9',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });

    // Act
    const started = performance.now();
    const answers = [await executionLiveness(sfn)(lockOf(unknown)), await executionLiveness(unreachable)(lockOf(unknown))];

    // Assess
    expect(answers).toEqual([false, false]);
    expect(performance.now() - started).toBeLessThan(15_000);
  });
});
