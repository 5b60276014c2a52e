/**
 * How the CLI tells a gone lease holder: a lock written on this machine by its process, one
 * written by a Step Functions execution by asking the service (with the caller's credentials;
 * no answer means "maybe alive").
 */
import type { HolderLiveness } from '../src/lake/lease.js';

export async function cliLiveness(): Promise<HolderLiveness> {
  const { executionLiveness } = await import('../src/pipeline/execution-liveness.js');
  const { SFNClient } = await import('@aws-sdk/client-sfn');
  const { awsRequestHandler } = await import('../src/core/aws-http.js');
  return executionLiveness(new SFNClient({ maxAttempts: 1, requestHandler: awsRequestHandler() }), { trustThisHost: true });
}
