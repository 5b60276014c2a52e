/**
 * `npm run local:run -- --date D` / `-- --from D1 --to D2 [--mode overwrite|append]`: runs the
 * pipeline on the state machine deployed to LocalStack (`npm run local:deploy`). Starts an
 * execution, waits for it, prints the per-day table and the failure cause.
 *
 * Exit codes as the `etl` CLI: 0 every day passed, 1 a day or the execution failed, 2 bad input or
 * configuration (nothing started, or the Plan rejected the input).
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { SFNClient } from '@aws-sdk/client-sfn';
import { causeMessage } from '../../src/pipeline/local-execution.js';
import {
  createCloudFormationClient,
  createSfnClient,
  LAKE_URI_OUTPUT,
  requireOutput,
  runRemoteExecution,
  stackOutputs,
  STATE_MACHINE_ARN_OUTPUT,
  type RemoteExecutionOptions,
  type StackOutputs,
} from '../../cli/remote-execution.js';
import { summaryTable } from '../../cli/summary.js';
import { MAX_DAYS_PER_EXECUTION } from '../../src/pipeline/plan/handler.js';
import { DAYS_FAILED_ERROR } from '../../infra/state-machine.js';
import { parseTimeZone } from '../../src/core/day.js';
import { ConfigError, InputError } from '../../src/core/errors.js';
import { planRun } from '../../src/pipeline/plan/plan.js';
import { LOCALSTACK, localstackClientSettings, localstackEndpoint, STACK_NAME } from './env.js';

const USAGE = `usage: npm run local:run -- --date YYYY-MM-DD [--mode overwrite|append]
       npm run local:run -- --from YYYY-MM-DD --to YYYY-MM-DD [--mode overwrite|append]
  [--wait-minutes N]   longest wait for the execution to end (default 30)
Runs the pipeline on the stack deployed to LocalStack by npm run local:deploy (AWS_ENDPOINT_URL, default http://localhost:4566).`;

export interface RunIo {
  out(line: string): void;
  err(line: string): void;
}

export interface RunDependencies {
  readonly env?: Record<string, string | undefined>;
  readonly io?: RunIo;
  readonly sfn?: SFNClient;
  readonly cfn?: CloudFormationClient;
  /** Poll interval, clock and sleep (tests). */
  readonly poll?: Pick<RemoteExecutionOptions, 'pollIntervalMs' | 'now' | 'sleep'>;
}

const consoleIo: RunIo = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) };

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

/** How to list the published files of the run's days with the `etl` CLI, pointed at LocalStack. */
function readTheLake(lakeUri: string, input: Record<string, unknown>, endpoint: string): string {
  const days = typeof input.date === 'string' ? `--date ${input.date}` : `--from ${String(input.from)} --to ${String(input.to)}`;
  return (
    `\nThe lake is ${lakeUri} in LocalStack. The published files of these days:\n` +
    `  AWS_ENDPOINT_URL=${endpoint} AWS_ACCESS_KEY_ID=${LOCALSTACK.credentials.accessKeyId} AWS_SECRET_ACCESS_KEY=${LOCALSTACK.credentials.secretAccessKey} ` +
    `LAKE_URI=${lakeUri} npx etl read ${days}`
  );
}

function waitMinutes(value: string | undefined): number {
  if (value === undefined) return 30;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 24 * 60) throw new InputError('wait-minutes', 'an integer from 1 to 1440', value);
  return n;
}

/** Runs one `local:run`; returns the exit code. */
export async function main(argv: readonly string[], deps: RunDependencies = {}): Promise<number> {
  const env = deps.env ?? process.env;
  const io = deps.io ?? consoleIo;
  try {
    const { values } = parseArgs({
      args: [...argv],
      strict: true,
      options: {
        date: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        mode: { type: 'string' },
        'wait-minutes': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      io.out(USAGE);
      return 0;
    }
    // The stack's partition time zone is UTC unless deployed with another; Plan re-checks in its own.
    const input = executionInput(values, parseTimeZone(env.PARTITION_TIMEZONE ?? 'UTC'));
    const timeoutMs = waitMinutes(values['wait-minutes']) * 60_000;
    const settings = localstackClientSettings(env);

    let stack: StackOutputs;
    try {
      stack = await stackOutputs(deps.cfn ?? createCloudFormationClient(settings), STACK_NAME);
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      throw new ConfigError('AWS_ENDPOINT_URL', 'a running LocalStack (npm run local:up) with the stack deployed (npm run local:deploy)', `${localstackEndpoint(env)}: ${(error as Error).message}`);
    }
    const stateMachineArn = requireOutput(stack, STATE_MACHINE_ARN_OUTPUT);

    io.err(`local:run: starting ${JSON.stringify(input)} on ${stateMachineArn}`);
    let lastStatus = '';
    const result = await runRemoteExecution(deps.sfn ?? createSfnClient(settings), stateMachineArn, input, {
      timeoutMs,
      ...deps.poll,
      onPoll: (status, elapsedMs) => {
        if (status !== lastStatus) io.err(`local:run: ${status} (${(elapsedMs / 1000).toFixed(0)} s)`);
        lastStatus = status;
      },
    });

    if (result.outcomes.length > 0) {
      io.out(summaryTable(result.outcomes));
      const lakeUri = stack.outputs[LAKE_URI_OUTPUT];
      if (lakeUri) io.out(readTheLake(lakeUri, input, localstackEndpoint(env)));
    }
    io.err(`local:run: execution ${result.executionArn} ${result.status} after ${result.seconds.toFixed(1)} s`);
    if (result.status === 'SUCCEEDED') return 0;
    if (result.error !== DAYS_FAILED_ERROR) io.err(`local:run: execution failed: ${result.error ?? result.status}${result.cause ? `: ${causeMessage(result.cause)}` : ''}`);
    // The Plan rejected the input: nothing ran, as with bad flags.
    return result.error === InputError.name ? 2 : 1;
  } catch (error) {
    if (error instanceof ConfigError) {
      io.err(`local:run: ${error.message}`);
      return 2;
    }
    if (error instanceof TypeError && (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`local:run: ${error.message}\n${USAGE}`);
      return 2;
    }
    // Includes ExecutionPollTimeoutError: the execution may still succeed, but not within the wait.
    io.err(`local:run: ${(error as Error).message ?? String(error)}`);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
