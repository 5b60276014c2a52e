/**
 * `etl remote --date D | --from D --to D [--mode M] [--wait-minutes N] [--stack NAME] [--localstack]`:
 * runs the pipeline on a deployed stack. Finds the state machine in the stack's outputs, starts an
 * execution with the input `etl run` / `etl backfill` would run (checked here first, with the same
 * errors), waits for it and prints the per-day table and the failure cause.
 *
 * AWS clients use the SDK's defaults (the shell's credentials, region and `AWS_ENDPOINT_URL`);
 * `--localstack` sends them to LocalStack instead (`npm run local:run`): `AWS_ENDPOINT_URL` or
 * http://localhost:4566, as `test`/`test` in us-east-1, whatever profile the shell has.
 *
 * Exit codes as `etl run`: 0 every day passed, 1 a day or the execution failed, 2 bad input or
 * configuration (nothing started, or the Plan rejected the input).
 */
import { parseArgs } from 'node:util';
import { parseTimeZone } from '../../src/core/day.js';
import { ConfigError, InputError } from '../../src/core/errors.js';
import { causeMessage, DAYS_FAILED_ERROR } from '../../src/pipeline/definition.js';
import { MAX_DAYS_PER_EXECUTION, planRun } from '../../src/pipeline/plan/plan.js';
import { LOCALSTACK, localstackClientSettings, localstackEndpoint, STACK_NAME } from '../../dev/localstack/env.js';
import type { CommandContext } from '../io.js';
import { etlCommand } from '../invocation.js';
import { integerFlag } from '../options.js';
import type { StackOutputs } from '../remote-execution.js';
import { summaryTable } from '../summary.js';

/** Longest wait for the execution to end, in minutes, unless `--wait-minutes` says otherwise. */
export const DEFAULT_WAIT_MINUTES = 30;

/** The execution input from the flags, checked the way the Plan function will check it. */
export function executionInput(values: { date?: string; from?: string; to?: string; mode?: string }, timeZone: string): Record<string, unknown> {
  const range = values.from !== undefined || values.to !== undefined;
  if (values.date !== undefined && range) throw new InputError('date', 'either --date or --from/--to, not both', values.date);
  if (values.date === undefined && !range) throw new InputError('date', '--date YYYY-MM-DD, or --from YYYY-MM-DD --to YYYY-MM-DD');
  const plan = range
    ? planRun({ from: values.from, to: values.to, mode: values.mode }, { timeZone, maxDays: MAX_DAYS_PER_EXECUTION })
    : planRun({ date: values.date, mode: values.mode }, { timeZone, maxDays: 1 });
  return range ? { from: plan.dates[0], to: plan.dates.at(-1), mode: plan.mode } : { date: plan.dates[0], mode: plan.mode };
}

/** A CloudFormation stack name: a letter, then letters, digits and hyphens, 128 at most. */
function stackFlag(value: string | undefined): string {
  if (value === undefined) return STACK_NAME;
  if (!/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(value))
    throw new InputError('stack', 'a CloudFormation stack name (a letter, then letters, digits and hyphens)', value);
  return value;
}

/** How to list the published files of the run's days with `etl read`, pointed at the stack's lake. */
function readTheLake(lakeUri: string, input: Record<string, unknown>, localstackAt: string | undefined): string {
  const days = typeof input.date === 'string' ? `--date ${input.date}` : `--from ${String(input.from)} --to ${String(input.to)}`;
  const env = localstackAt
    ? `AWS_ENDPOINT_URL=${localstackAt} AWS_ACCESS_KEY_ID=${LOCALSTACK.credentials.accessKeyId} AWS_SECRET_ACCESS_KEY=${LOCALSTACK.credentials.secretAccessKey} `
    : '';
  return `\nThe lake is ${lakeUri}${localstackAt ? ' in LocalStack' : ''}. The published files of these days:\n  ${env}LAKE_URI=${lakeUri} ${etlCommand()} read ${days}`;
}

export async function run(argv: readonly string[], { env, io }: CommandContext): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      date: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      mode: { type: 'string' },
      'wait-minutes': { type: 'string' },
      stack: { type: 'string' },
      localstack: { type: 'boolean' },
    },
  });
  // The stack's partition time zone is UTC unless deployed with another; Plan re-checks in its own.
  const input = executionInput(values, parseTimeZone(env.PARTITION_TIMEZONE ?? 'UTC'));
  const timeoutMs = integerFlag(values['wait-minutes'], 'wait-minutes', 1, 24 * 60, DEFAULT_WAIT_MINUTES) * 60_000;
  const stackName = stackFlag(values.stack);
  const localstackAt = values.localstack ? localstackEndpoint(env) : undefined;
  const settings = values.localstack ? localstackClientSettings(env) : {};

  // The AWS SDK takes a while to load: only once the input is known to be good.
  const remote = await import('../remote-execution.js');
  let stack: StackOutputs;
  try {
    stack = await remote.stackOutputs(remote.createCloudFormationClient(settings), stackName);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const reason = (error as Error).message;
    if (localstackAt)
      throw new ConfigError(
        'AWS_ENDPOINT_URL',
        'a running LocalStack (npm run local:up) with the stack deployed (npm run local:deploy)',
        `${localstackAt}: ${reason}`,
      );
    throw new ConfigError('stack', `CloudFormation stack ${stackName} readable with the credentials and region of the environment`, reason);
  }
  const stateMachineArn = remote.requireOutput(stack, remote.STATE_MACHINE_ARN_OUTPUT);

  io.err(`etl remote: starting ${JSON.stringify(input)} on ${stateMachineArn}`);
  let lastStatus = '';
  const result = await remote.runRemoteExecution(remote.createSfnClient(settings), stateMachineArn, input, {
    timeoutMs,
    onPoll: (status, elapsedMs) => {
      if (status !== lastStatus) io.err(`etl remote: ${status} (${(elapsedMs / 1000).toFixed(0)} s)`);
      lastStatus = status;
    },
  });

  if (result.outcomes.length > 0) {
    io.out(summaryTable(result.outcomes));
    const lakeUri = stack.outputs[remote.LAKE_URI_OUTPUT];
    if (lakeUri) io.out(readTheLake(lakeUri, input, localstackAt));
  }
  io.err(`etl remote: execution ${result.executionArn} ${result.status} after ${result.seconds.toFixed(1)} s`);
  if (result.status === 'SUCCEEDED') return 0;
  if (result.error !== DAYS_FAILED_ERROR)
    io.err(`etl remote: execution failed: ${result.error ?? result.status}${result.cause ? `: ${causeMessage(result.cause)}` : ''}`);
  // The Plan rejected the input: nothing ran, as with bad flags.
  return result.error === InputError.name ? 2 : 1;
}
