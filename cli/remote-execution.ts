/**
 * Runs the pipeline on a deployed state machine (AWS or LocalStack): finds its ARN in the stack's
 * outputs, starts an execution with a readable name, polls until it ends, and turns the result
 * into the same per-day outcomes the local runs print. The execution's own output and failure
 * cause are the source: `{ days, anyFailed }` on success, error `DaysFailed` with the failed days
 * (`DaysFailedCause`; each day's error stays in its execution of the Days map run), or any other
 * error (e.g. the Plan's `InputError`) kept as it is.
 */
import { randomBytes } from 'node:crypto';
import { CloudFormationClient, DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  SFNClient,
  StartExecutionCommand,
  type DescribeExecutionCommandOutput,
} from '@aws-sdk/client-sfn';
import { ConfigError } from '../src/core/errors.js';
import { causeMessage, DAYS_FAILED_ERROR, failedDaysOf, FLOW_STATES } from '../src/pipeline/definition.js';
import type { DayOutcome } from './summary.js';

/** Where the AWS clients send requests and as whom; every field unset means the SDK's defaults (real AWS). */
export interface AwsClientSettings {
  readonly endpoint?: string;
  readonly region?: string;
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

/** A Step Functions client with `settings` over the SDK's defaults. */
export function createSfnClient(settings: AwsClientSettings = {}): SFNClient {
  return new SFNClient({ ...settings });
}

/** A CloudFormation client with `settings` over the SDK's defaults. */
export function createCloudFormationClient(settings: AwsClientSettings = {}): CloudFormationClient {
  return new CloudFormationClient({ ...settings });
}

/** The stack output holding the state machine's ARN. */
export const STATE_MACHINE_ARN_OUTPUT = 'StateMachineArn';
/** The stack output holding the functions' `LAKE_URI`. */
export const LAKE_URI_OUTPUT = 'LakeUri';

/** A deployed stack's status and outputs by key. */
export interface StackOutputs {
  readonly stackName: string;
  readonly status: string;
  readonly outputs: Readonly<Record<string, string>>;
}

/** The outputs of a deployed stack; a `ConfigError` when the stack does not exist. */
export async function stackOutputs(cfn: CloudFormationClient, stackName: string): Promise<StackOutputs> {
  let stack: Stack | undefined;
  try {
    stack = (await cfn.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0];
  } catch (error) {
    if (!/does not exist/i.test((error as Error).message ?? '')) throw error;
  }
  if (!stack) throw new ConfigError('stack', `a deployed CloudFormation stack named ${stackName}`, 'no such stack');
  const outputs = Object.fromEntries(
    (stack.Outputs ?? []).filter((o) => o.OutputKey && o.OutputValue !== undefined).map((o) => [o.OutputKey!, o.OutputValue!]),
  );
  return { stackName, status: stack.StackStatus ?? 'UNKNOWN', outputs };
}

/** One output of a stack; a `ConfigError` naming the stack's status and outputs when it is missing. */
export function requireOutput(stack: StackOutputs, key: string): string {
  const value = stack.outputs[key];
  if (value === undefined || value === '') {
    const present = Object.keys(stack.outputs).sort().join(', ') || 'none';
    throw new ConfigError(key, `an output of stack ${stack.stackName}`, `missing (stack ${stack.status}; outputs: ${present})`);
  }
  return value;
}

/** One output of a deployed stack (`stackOutputs` then `requireOutput`). */
export async function stackOutput(cfn: CloudFormationClient, stackName: string, key: string): Promise<string> {
  return requireOutput(await stackOutputs(cfn, stackName), key);
}

/** Ended states of an execution (`RUNNING` and `PENDING_REDRIVE` are still going). */
export type ExecutionEndStatus = 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface RemoteExecutionResult {
  readonly status: ExecutionEndStatus;
  readonly executionArn: string;
  /** One per day known from the execution: all days on success, the failed (and, from the history, passed) days on `DaysFailed`. */
  readonly outcomes: DayOutcome[];
  /** Error name and cause when the execution did not succeed (`DaysFailed`, `InputError`, `States.Timeout`, ...). */
  readonly error?: string;
  readonly cause?: string;
  /** Start to stop, as Step Functions recorded it. */
  readonly seconds: number;
}

export interface RemoteExecutionOptions {
  /** Execution name. @default executionName(input) */
  readonly name?: string;
  /** Time between two DescribeExecution calls. @default 2000 */
  readonly pollIntervalMs?: number;
  /** Longest wait for the execution to end; the execution itself goes on after it. @default 30 minutes */
  readonly timeoutMs?: number;
  /** Told the status after every poll (progress). */
  readonly onPoll?: (status: string, elapsedMs: number) => void;
  /** Clock and sleep, replaced in tests. */
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export const DEFAULT_POLL_INTERVAL_MS = 2_000;
export const DEFAULT_POLL_TIMEOUT_MS = 30 * 60_000;

/** The wait for an execution ran out while it was still running. */
export class ExecutionPollTimeoutError extends Error {
  constructor(
    readonly executionArn: string,
    readonly waitedMs: number,
    readonly lastStatus: string,
  ) {
    super(
      `execution ${executionArn} is still ${lastStatus} after ${(waitedMs / 1000).toFixed(0)} s of waiting; ` +
        'it goes on in Step Functions (DescribeExecution shows how it ends)',
    );
    this.name = 'ExecutionPollTimeoutError';
  }
}

/** An execution ended in a way the pipeline's definition cannot produce (unreadable output). */
export class UnexpectedExecutionOutputError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UnexpectedExecutionOutputError';
  }
}

/** One day as the state machine reports it (the `DayPassed` / `DayFailed` states' output). */
interface DayResult {
  readonly date: string;
  readonly status: 'passed' | 'failed';
  readonly rows?: number;
  readonly error?: string;
  readonly cause?: string;
}

const NAME_MAX = 80;

/**
 * A readable, unique execution name: what runs and when, e.g. `day-2025-03-01-20261122T103000Z-1f2e`
 * or `days-2025-01-01-to-2025-01-31-20261122T103000Z-1f2e` (Step Functions allows 80 of `A-Za-z0-9-_`).
 */
export function executionName(input: Record<string, unknown>, at: Date = new Date(), suffix: string = randomBytes(2).toString('hex')): string {
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const what =
    typeof input.date === 'string'
      ? `day-${input.date}`
      : typeof input.from === 'string' && typeof input.to === 'string'
        ? `days-${input.from}-to-${input.to}`
        : 'run';
  const name = `${what}-${stamp}-${suffix}`.replace(/[^A-Za-z0-9_-]/g, '-');
  return name.length <= NAME_MAX ? name : `${name.slice(0, NAME_MAX - suffix.length - 1)}-${suffix}`;
}

/**
 * Starts an execution of `stateMachineArn` with `input` (sent as its exact JSON), waits for it to
 * end (polling DescribeExecution, at most `timeoutMs`), and returns its status and per-day outcomes.
 * Throws `ExecutionPollTimeoutError` when it is still running at the time-out.
 */
export async function runRemoteExecution(
  sfn: SFNClient,
  stateMachineArn: string,
  input: Record<string, unknown>,
  options: RemoteExecutionOptions = {},
): Promise<RemoteExecutionResult> {
  const now = options.now ?? (() => Date.now());
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const interval = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  const timeout = options.timeoutMs ?? DEFAULT_POLL_TIMEOUT_MS;

  const started = await sfn.send(new StartExecutionCommand({ stateMachineArn, name: options.name ?? executionName(input), input: JSON.stringify(input) }));
  const executionArn = started.executionArn;
  if (!executionArn) throw new UnexpectedExecutionOutputError(`StartExecution on ${stateMachineArn} returned no executionArn`);

  const since = now();
  for (;;) {
    const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    const status = execution.status ?? 'RUNNING';
    const elapsed = now() - since;
    options.onPoll?.(status, elapsed);
    if (status !== 'RUNNING' && status !== 'PENDING_REDRIVE') return await resultOf(sfn, executionArn, status as ExecutionEndStatus, execution);
    if (elapsed >= timeout) throw new ExecutionPollTimeoutError(executionArn, elapsed, status);
    await sleep(Math.min(interval, timeout - elapsed));
  }
}

function seconds(execution: DescribeExecutionCommandOutput): number {
  const start = execution.startDate?.getTime();
  const stop = execution.stopDate?.getTime();
  return start !== undefined && stop !== undefined ? (stop - start) / 1000 : 0;
}

/** A day result as a summary-table row; per-day durations are not in the execution's output. */
function outcomeOf(day: DayResult): DayOutcome {
  return {
    date: day.date,
    verdict: day.status === 'passed' ? 'passed' : 'failed',
    writtenRows: typeof day.rows === 'number' ? day.rows : undefined,
    error:
      day.status !== 'failed'
        ? undefined
        : day.error
          ? `${day.error}: ${causeMessage(day.cause)}`
          : "failed: its error is in the day's execution of the Days map run",
  };
}

function isDayResult(value: unknown): value is DayResult {
  const day = value as DayResult | null;
  return typeof day?.date === 'string' && (day.status === 'passed' || day.status === 'failed');
}

function parseDays(json: string | undefined, what: string): DayResult[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json ?? '');
  } catch (error) {
    throw new UnexpectedExecutionOutputError(`${what} is not JSON: ${String(json).slice(0, 200)}`, { cause: error });
  }
  const days = Array.isArray(parsed) ? parsed : (parsed as { days?: unknown } | null)?.days;
  if (!Array.isArray(days) || !days.every(isDayResult)) {
    throw new UnexpectedExecutionOutputError(`${what} is not a list of { date, status } days: ${String(json).slice(0, 200)}`);
  }
  return days;
}

/** The failed days a `DaysFailed` cause names. */
function failedDaysIn(cause: string | undefined): DayResult[] {
  try {
    return failedDaysOf(cause ?? '').map((date) => ({ date, status: 'failed' }));
  } catch (error) {
    throw new UnexpectedExecutionOutputError(`the ${DAYS_FAILED_ERROR} cause does not name the failed days: ${String(cause).slice(0, 200)}`, { cause: error });
  }
}

const byDate = (a: DayOutcome, b: DayOutcome) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0);

async function resultOf(
  sfn: SFNClient,
  executionArn: string,
  status: ExecutionEndStatus,
  execution: DescribeExecutionCommandOutput,
): Promise<RemoteExecutionResult> {
  const common = { status, executionArn, seconds: seconds(execution) };
  if (status === 'SUCCEEDED') {
    return { ...common, outcomes: parseDays(execution.output, 'the execution output').map(outcomeOf).sort(byDate) };
  }
  const error = execution.error;
  const cause = execution.cause;
  if (status === 'FAILED' && error === DAYS_FAILED_ERROR) {
    const failed = failedDaysIn(cause);
    const failedDates = new Set(failed.map((d) => d.date));
    const passed = (await allDaysFromHistory(sfn, executionArn)).filter((d) => !failedDates.has(d.date));
    return { ...common, outcomes: [...passed, ...failed].map(outcomeOf).sort(byDate), error, cause };
  }
  return { ...common, outcomes: [], error, cause };
}

/**
 * Every day of a failed execution, passed ones included: the `DaysFailed` cause lists only the
 * failed days, but the input of the `CheckDays` state (in the execution's history, near its end)
 * holds them all. Empty when the history does not show it.
 */
async function allDaysFromHistory(sfn: SFNClient, executionArn: string): Promise<DayResult[]> {
  try {
    const history = await sfn.send(new GetExecutionHistoryCommand({ executionArn, reverseOrder: true, maxResults: 50 }));
    const entered = history.events?.find((e) => e.stateEnteredEventDetails?.name === FLOW_STATES.checkDays);
    return entered ? parseDays(entered.stateEnteredEventDetails?.input, `the ${FLOW_STATES.checkDays} input`) : [];
  } catch {
    // The failed days from the cause are what matters; the passed ones are a courtesy.
    return [];
  }
}
