import { CloudFormationClient, CloudFormationServiceException, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeExecutionCommand, GetExecutionHistoryCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  executionName,
  ExecutionPollTimeoutError,
  runRemoteExecution,
  stackOutput,
  STATE_MACHINE_ARN_OUTPUT,
  UnexpectedExecutionOutputError,
} from '../../cli/remote-execution.js';
import { ConfigError } from '../../src/core/errors.js';
import { serviceError } from '../support/aws-errors.js';

const sfnMock = mockClient(SFNClient);
const cfnMock = mockClient(CloudFormationClient);

const STATE_MACHINE = 'arn:aws:states:us-east-1:000000000000:stateMachine:Pipeline';
const EXECUTION = 'arn:aws:states:us-east-1:000000000000:execution:Pipeline:day-2025-03-01';
const START = new Date('2026-11-22T10:00:00Z');
const STOP = new Date('2026-11-22T10:00:42Z');

/** A task failure's cause as Lambda reports it to Step Functions. */
function lambdaCause(errorType: string, errorMessage: string): string {
  return JSON.stringify({ errorType, errorMessage, trace: [`${errorType}: ${errorMessage}`, '    at handler (/var/task/index.js:1:1)'] });
}

/** A clock that advances only when the client sleeps. */
function fakeClock() {
  let t = 0;
  const slept: number[] = [];
  return {
    slept,
    now: () => t,
    sleep: async (ms: number) => {
      slept.push(ms);
      t += ms;
    },
  };
}

function run(input: Record<string, unknown> = { date: '2025-03-01', mode: 'overwrite' }, options: { timeoutMs?: number; pollIntervalMs?: number } = {}) {
  const clock = fakeClock();
  const result = runRemoteExecution(new SFNClient({ region: 'us-east-1' }), STATE_MACHINE, input, {
    now: clock.now,
    sleep: clock.sleep,
    pollIntervalMs: 1_000,
    ...options,
  });
  return { clock, result };
}

describe('runRemoteExecution', () => {
  beforeEach(() => {
    sfnMock.reset();
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: EXECUTION, startDate: START });
  });

  it('starts the execution with exactly the JSON input given and a readable name', async () => {
    // Prepare
    const input = { from: '2025-01-01', to: '2025-01-31', mode: 'append' };
    sfnMock.on(DescribeExecutionCommand).resolves({ status: 'SUCCEEDED', output: '{"days":[],"anyFailed":false}', startDate: START, stopDate: STOP });

    // Act
    await run(input).result;

    // Assess
    expect(sfnMock).toReceiveCommandTimes(StartExecutionCommand, 1);
    expect(sfnMock).toReceiveCommandWith(StartExecutionCommand, { stateMachineArn: STATE_MACHINE, input: JSON.stringify(input) });
    const name = sfnMock.commandCalls(StartExecutionCommand)[0].args[0].input.name!;
    expect(name).toMatch(/^days-2025-01-01-to-2025-01-31-\d{8}T\d{6}Z-[0-9a-f]{4}$/);
  });

  it('turns the success output into one passed outcome per day, in date order', async () => {
    // Prepare
    const output = {
      days: [
        { date: '2025-03-02', status: 'passed', rows: 9_870 },
        { date: '2025-03-01', status: 'passed', rows: 10_000 },
      ],
      anyFailed: false,
    };
    sfnMock.on(DescribeExecutionCommand).resolves({ status: 'SUCCEEDED', output: JSON.stringify(output), startDate: START, stopDate: STOP });

    // Act
    const result = await run({ from: '2025-03-01', to: '2025-03-02' }).result;

    // Assess
    expect(result).toMatchObject({ status: 'SUCCEEDED', executionArn: EXECUTION, seconds: 42 });
    expect(result.error).toBeUndefined();
    expect(result.outcomes).toEqual([
      { date: '2025-03-01', verdict: 'passed', writtenRows: 10_000, error: undefined },
      { date: '2025-03-02', verdict: 'passed', writtenRows: 9_870, error: undefined },
    ]);
  });

  it('polls until the execution leaves RUNNING: RUNNING twice then SUCCEEDED is three polls', async () => {
    // Prepare
    sfnMock
      .on(DescribeExecutionCommand)
      .resolvesOnce({ status: 'RUNNING' })
      .resolvesOnce({ status: 'RUNNING' })
      .resolves({ status: 'SUCCEEDED', output: JSON.stringify({ days: [{ date: '2025-03-01', status: 'passed', rows: 1 }], anyFailed: false }) });

    // Act
    const { clock, result } = run();
    const outcome = await result;

    // Assess
    expect(outcome.status).toBe('SUCCEEDED');
    expect(sfnMock).toReceiveCommandTimes(DescribeExecutionCommand, 3);
    expect(sfnMock).toReceiveCommandWith(DescribeExecutionCommand, { executionArn: EXECUTION });
    expect(clock.slept).toEqual([1_000, 1_000]);
  });

  it('parses the DaysFailed cause: the failed days it lists, or every day from..to but the passed ones it lists', async () => {
    // Prepare
    const listed = JSON.stringify({ failed: 2, days: 3, from: '2025-03-01', to: '2025-03-03', failedDays: ['2025-03-02', '2025-03-03'] });
    const inverted = JSON.stringify({ failed: 2, days: 3, from: '2025-03-01', to: '2025-03-03', passedDays: ['2025-03-01'] });
    sfnMock
      .on(DescribeExecutionCommand)
      .resolvesOnce({ status: 'FAILED', error: 'DaysFailed', cause: listed, startDate: START, stopDate: STOP })
      .resolves({ status: 'FAILED', error: 'DaysFailed', cause: inverted, startDate: START, stopDate: STOP });
    sfnMock.on(GetExecutionHistoryCommand).rejects(new Error('history not available'));

    // Act
    const first = await run({ from: '2025-03-01', to: '2025-03-03' }).result;
    const second = await run({ from: '2025-03-01', to: '2025-03-03' }).result;

    // Assess
    expect(first).toMatchObject({ status: 'FAILED', error: 'DaysFailed', cause: listed });
    const failed = (date: string) => ({
      date,
      verdict: 'failed',
      writtenRows: undefined,
      error: "failed: its error is in the day's execution of the Days map run",
    });
    expect(first.outcomes).toEqual([failed('2025-03-02'), failed('2025-03-03')]);
    expect(second.outcomes).toEqual(first.outcomes);
  });

  it('adds the passed days of a DaysFailed execution from the CheckDays input in its history', async () => {
    // Prepare
    const days = [
      { date: '2025-03-01', status: 'passed', rows: 10_000 },
      { date: '2025-03-02', status: 'failed' },
      { date: '2025-03-03', status: 'passed', rows: 9_000 },
    ];
    const cause = JSON.stringify({ failed: 1, days: 3, from: '2025-03-01', to: '2025-03-03', failedDays: ['2025-03-02'] });
    sfnMock.on(DescribeExecutionCommand).resolves({ status: 'FAILED', error: 'DaysFailed', cause });
    sfnMock.on(GetExecutionHistoryCommand).resolves({
      events: [
        { id: 30, timestamp: STOP, type: 'ExecutionFailed', executionFailedEventDetails: { error: 'DaysFailed' } },
        {
          id: 28,
          timestamp: STOP,
          type: 'PassStateEntered',
          stateEnteredEventDetails: { name: 'CountDays', input: JSON.stringify({ days, anyFailed: true }) },
        },
        {
          id: 26,
          timestamp: STOP,
          type: 'ChoiceStateEntered',
          stateEnteredEventDetails: { name: 'CheckDays', input: JSON.stringify({ days, anyFailed: true }) },
        },
      ],
    });

    // Act
    const result = await run({ from: '2025-03-01', to: '2025-03-03' }).result;

    // Assess
    expect(sfnMock).toReceiveCommandWith(GetExecutionHistoryCommand, { executionArn: EXECUTION, reverseOrder: true });
    expect(result.outcomes.map((o) => [o.date, o.verdict, o.writtenRows ?? o.error])).toEqual([
      ['2025-03-01', 'passed', 10_000],
      ['2025-03-02', 'failed', "failed: its error is in the day's execution of the Days map run"],
      ['2025-03-03', 'passed', 9_000],
    ]);
  });

  it("keeps the Plan's InputError and its cause, with no day outcomes", async () => {
    // Prepare
    const cause = lambdaCause('InputError', 'date: expected a day no later than today (2026-11-22 in UTC), got "2030-01-01"');
    sfnMock.on(DescribeExecutionCommand).resolves({ status: 'FAILED', error: 'InputError', cause });

    // Act
    const result = await run({ date: '2030-01-01' }).result;

    // Assess
    expect(result).toMatchObject({ status: 'FAILED', error: 'InputError', cause, outcomes: [] });
    expect(sfnMock).toReceiveCommandTimes(GetExecutionHistoryCommand, 0);
  });

  it.each([
    ['TIMED_OUT', 'States.Timeout', 'Execution timed out'],
    ['ABORTED', undefined, undefined],
  ] as const)('reports an execution that ended %s with its error and cause', async (status, error, cause) => {
    // Prepare
    sfnMock.on(DescribeExecutionCommand).resolves({ status, error, cause, startDate: START, stopDate: STOP });

    // Act
    const result = await run().result;

    // Assess
    expect(result).toEqual({ status, executionArn: EXECUTION, outcomes: [], error, cause, seconds: 42 });
  });

  it('gives up after the poll time-out with an error naming the execution, still running', async () => {
    // Prepare
    sfnMock.on(DescribeExecutionCommand).resolves({ status: 'RUNNING' });

    // Act
    const { clock, result } = run(undefined, { timeoutMs: 5_000, pollIntervalMs: 2_000 });
    const error = await result.catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ExecutionPollTimeoutError);
    expect((error as Error).message).toBe(
      `execution ${EXECUTION} is still RUNNING after 5 s of waiting; it goes on in Step Functions (DescribeExecution shows how it ends)`,
    );
    expect(clock.slept).toEqual([2_000, 2_000, 1_000]);
    expect(sfnMock).toReceiveCommandTimes(DescribeExecutionCommand, 4);
  });

  it('refuses a success output that is not the pipeline result', async () => {
    // Prepare
    sfnMock.on(DescribeExecutionCommand).resolves({ status: 'SUCCEEDED', output: '{"mode":"overwrite"}' });

    // Act
    const error = await run().result.catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(UnexpectedExecutionOutputError);
    expect((error as Error).message).toMatch(/^the execution output is not a list of \{ date, status \} days/);
  });
});

describe('executionName', () => {
  it('says what runs and when, within the 80 characters Step Functions allows', () => {
    // Act
    const day = executionName({ date: '2025-03-01', mode: 'overwrite' }, new Date('2026-11-22T10:30:00.123Z'), 'ab12');
    const scheduled = executionName({ scheduledTime: '2026-11-22T02:30:00Z' }, new Date('2026-11-22T10:30:00Z'), 'ab12');

    // Assess
    expect(day).toBe('day-2025-03-01-20261122T103000Z-ab12');
    expect(scheduled).toBe('run-20261122T103000Z-ab12');
  });
});

describe('stackOutput', () => {
  beforeEach(() => cfnMock.reset());

  const cfn = () => new CloudFormationClient({ region: 'us-east-1' });

  it('reads the StateMachineArn output of the stack', async () => {
    // Prepare
    cfnMock.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'PgLakeEtl',
          StackStatus: 'CREATE_COMPLETE',
          CreationTime: START,
          Outputs: [
            { OutputKey: 'BucketName', OutputValue: 'pglakeetl-lakebucket' },
            { OutputKey: 'StateMachineArn', OutputValue: STATE_MACHINE },
          ],
        },
      ],
    });

    // Act
    const arn = await stackOutput(cfn(), 'PgLakeEtl', STATE_MACHINE_ARN_OUTPUT);

    // Assess
    expect(arn).toBe(STATE_MACHINE);
    expect(cfnMock).toReceiveCommandWith(DescribeStacksCommand, { StackName: 'PgLakeEtl' });
  });

  it('says the stack is not deployed when CloudFormation does not know it', async () => {
    // Prepare
    cfnMock
      .on(DescribeStacksCommand)
      .rejects(serviceError('ValidationError', 400, { exception: CloudFormationServiceException, message: 'Stack with id PgLakeEtl does not exist' }));

    // Act
    const error = await stackOutput(cfn(), 'PgLakeEtl', STATE_MACHINE_ARN_OUTPUT).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe('stack: expected a deployed CloudFormation stack named PgLakeEtl, got "no such stack"');
  });

  it("names the missing output, the stack's status and the outputs it has", async () => {
    // Prepare
    cfnMock.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 'PgLakeEtl', StackStatus: 'ROLLBACK_COMPLETE', CreationTime: START, Outputs: [{ OutputKey: 'BucketName', OutputValue: 'b' }] }],
    });

    // Act
    const error = await stackOutput(cfn(), 'PgLakeEtl', STATE_MACHINE_ARN_OUTPUT).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe(
      'StateMachineArn: expected an output of stack PgLakeEtl, got "missing (stack ROLLBACK_COMPLETE; outputs: BucketName)"',
    );
  });

  it('lets other failures (LocalStack down, throttling) through as they are', async () => {
    // Prepare
    cfnMock.on(DescribeStacksCommand).rejects(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:4566'), { code: 'ECONNREFUSED' }));

    // Act
    const error = await stackOutput(cfn(), 'PgLakeEtl', STATE_MACHINE_ARN_OUTPUT).catch((e: unknown) => e);

    // Assess
    expect(error).not.toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
  });
});
