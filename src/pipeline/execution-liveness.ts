/**
 * Whether the Step Functions execution holding a day's lease is gone: in AWS a lease's owner is
 * its execution's ARN, and an execution that is no longer RUNNING (it failed, was stopped, timed
 * out, or succeeded without giving the day back) will never renew it, so its lease is taken over
 * at once instead of after it expires.
 */
import { hostname } from 'node:os';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { awsRequestHandler } from '../core/aws-http.js';
import { localLiveness, type HolderLiveness } from '../lake/lease.js';

const EXECUTION_ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:execution:[^:]+:[^:]+$/;

/**
 * Gone when the lease's process is provably dead on this machine, or its owner is an execution
 * that DescribeExecution reports as not RUNNING. An unknown answer (no such execution, no
 * permission, the service unreachable) is not proof: the lease then runs out as usual.
 */
export function executionLiveness(
  // Fails fast where the service cannot be reached (a VPC without its endpoint): the lease then runs out as usual.
  client: Pick<SFNClient, 'send'> = new SFNClient({ maxAttempts: 2, requestHandler: awsRequestHandler() }),
  options: {
    /**
     * A lock written on this machine is decided by its process alone (the CLI: a local run's owner
     * is a made-up execution ARN). Not in Lambda, where a sandbox outlives the executions it served.
     */
    readonly trustThisHost?: boolean;
  } = {},
): HolderLiveness {
  return async (lock) => {
    if (await localLiveness(lock)) return true;
    if (options.trustThisHost && lock.host === hostname()) return false;
    if (!EXECUTION_ARN.test(lock.owner)) return false;
    try {
      const { status } = await client.send(new DescribeExecutionCommand({ executionArn: lock.owner }));
      return status !== undefined && status !== 'RUNNING';
    } catch {
      return false;
    }
  };
}
