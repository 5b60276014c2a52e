/**
 * The state machine definition: its retry/catch policy read from the synthesized ASL, and its
 * data flow (filters, intrinsics, per-day catch) run once through aws-local-stepfunctions.
 */
import { localExecutionContext } from '../../cli/local-execution.js';
import { StateMachine } from 'aws-local-stepfunctions';
import { beforeAll, describe, expect, it } from 'vitest';
import * as errors from '../../shared/errors.js';
import { DAYS_FAILED_ERROR, STATE_NAMES, TASK_STATES, synthesizeDefinition, type AslDefinition } from '../../infra/definition.js';
import { LAMBDA_SERVICE_ERRORS, TIMEOUT_ERRORS, TRANSIENT_ERRORS } from '../../infra/state-machine.js';
import { polyfillWithResolvers } from './support.js';

interface Retrier {
  ErrorEquals: string[];
  MaxAttempts: number;
  BackoffRate: number;
  JitterStrategy?: string;
  IntervalSeconds: number;
}
type State = { Type: string; Retry?: Retrier[]; Catch?: { ErrorEquals: string[]; Next: string; ResultPath: string }[]; [k: string]: unknown };

let asl: AslDefinition;
let days: State;
let dayStates: Record<string, State>;

beforeAll(() => {
  asl = synthesizeDefinition({ backfillConcurrency: 7 });
  days = asl.States[STATE_NAMES.days] as State;
  dayStates = (days.ItemProcessor as { States: Record<string, State> }).States;
});

/** Class names exported by shared/errors.ts, split by what a retry can do. */
function errorNames(): { transient: string[]; terminal: string[] } {
  const classes = Object.values(errors).filter((v): v is typeof errors.EtlError => typeof v === 'function' && v.prototype instanceof errors.EtlError);
  const isTransient = (c: typeof errors.EtlError) => c === errors.TransientError || c.prototype instanceof errors.TransientError;
  return {
    transient: classes.filter(isTransient).map((c) => c.name),
    terminal: classes.filter((c) => !isTransient(c)).map((c) => c.name),
  };
}

describe('definition', () => {
  it('has the stable state names local runs map handlers to', () => {
    expect(asl.StartAt).toBe(TASK_STATES.plan);
    expect(Object.keys(asl.States).sort()).toEqual(['CheckDays', 'Days', 'DaysFailed', 'Done', 'ListFailedDays', 'Plan']);
    expect(Object.keys(dayStates).sort()).toEqual(['DayFailed', 'DayPassed', 'Extract', 'TransformWrite', 'Validate']);
    expect((asl.States.Plan as State).Resource).toBe('arn:aws:lambda:us-east-1:123456789012:function:Plan');
    expect(JSON.stringify(asl)).not.toMatch(/Fn::|Ref"/);
  });

  it('fans the planned dates out through a Distributed Map capped at the backfill concurrency', () => {
    expect(days).toMatchObject({
      Type: 'Map',
      ItemsPath: '$.dates',
      ItemSelector: { 'date.$': '$$.Map.Item.Value', 'mode.$': '$.mode', 'owner.$': '$$.Execution.Id' },
      MaxConcurrency: 7,
      ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' }, StartAt: TASK_STATES.extract },
    });
    expect(synthesizeDefinition().States.Days).toMatchObject({ MaxConcurrency: 4 });
    expect(days).not.toHaveProperty('ItemReader');
    expect(days).not.toHaveProperty('ItemBatcher');
  });

  it('retries exactly the transient error classes of shared/errors.ts, with exponential backoff and full jitter', () => {
    // Arrange
    const { transient, terminal } = errorNames();
    // Assess
    expect([...TRANSIENT_ERRORS].sort()).toEqual(transient.sort());
    for (const name of [TASK_STATES.extract, TASK_STATES.transformWrite, TASK_STATES.validate]) {
      const retry = dayStates[name].Retry!;
      expect(retry[0]).toMatchObject({ ErrorEquals: [...TRANSIENT_ERRORS], BackoffRate: 2, MaxAttempts: 4, JitterStrategy: 'FULL' });
      expect(retry[1]).toMatchObject({ ErrorEquals: [...LAMBDA_SERVICE_ERRORS], BackoffRate: 2, JitterStrategy: 'FULL' });
      expect(retry[2]).toMatchObject({ ErrorEquals: [...TIMEOUT_ERRORS], MaxAttempts: 1 });
      const retried = retry.flatMap((r) => r.ErrorEquals);
      expect(retried.filter((e) => terminal.includes(e) || e === 'States.ALL'), name).toEqual([]);
    }
  });

  it('catches whatever is left after the retries per day, keeping the date beside the error', () => {
    for (const name of [TASK_STATES.extract, TASK_STATES.transformWrite, TASK_STATES.validate]) {
      expect(dayStates[name].Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: STATE_NAMES.dayFailed }]);
    }
    expect(dayStates.DayFailed).toMatchObject({
      Type: 'Pass',
      Parameters: { 'date.$': '$.date', status: 'failed', 'error.$': '$.error.Error', 'cause.$': '$.error.Cause' },
    });
  });

  it('lets bad input fail the execution at Plan: no catch there, only service retries', () => {
    const plan = asl.States.Plan as State;
    expect(plan.Catch).toBeUndefined();
    expect(plan.Retry!.flatMap((r) => r.ErrorEquals)).toEqual([...LAMBDA_SERVICE_ERRORS]);
  });
});

describe('a run of the definition', () => {
  polyfillWithResolvers();

  class ValidationBreachError extends Error {
    override name = 'ValidationBreachError';
  }
  class StoreUnavailableError extends Error {
    override name = 'StoreUnavailableError';
  }

  /** Stand-ins with the stages' event shapes: one day fails validation, one needs a retry. */
  function handlers(failing: string | undefined) {
    type Event = { date: string; from: string; to: string; mode?: string };
    const attempts = new Map<string, number>();
    return {
      Plan: async (input: unknown) => {
        const e = input as Event;
        return { mode: e.mode ?? 'overwrite', dates: ['2025-03-01', '2025-03-02', '2025-03-03'].filter((d) => d >= e.from && d <= e.to) };
      },
      Extract: async (input: unknown) => ({ ...(input as { date: string; mode: string }), runId: `run-${(input as Event).date}` }),
      TransformWrite: async (input: unknown) => {
        const e = input as { date: string; mode: string; runId: string };
        const n = (attempts.get(e.date) ?? 0) + 1;
        attempts.set(e.date, n);
        if (e.date === '2025-03-03' && n === 1) throw new StoreUnavailableError('SlowDown');
        return { ...e, files: 1 };
      },
      Validate: async (input: unknown) => {
        const { date } = input as Event;
        if (date === failing) throw new ValidationBreachError('row_count: expected 10, got 9');
        return { date, rows: 10, runId: 'r', reportKey: 'k' };
      },
    };
  }

  const retryIntervalOverrides = { Extract: 0, TransformWrite: 0, Validate: 0 };

  it('succeeds with every day passed, a transient error retried', async () => {
    // Arrange
    const machine = new StateMachine(asl as never, { validationOptions: { checkArn: false, checkPaths: false } });
    // Act
    const result = await machine.run({ from: '2025-03-01', to: '2025-03-03' }, { context: localExecutionContext(), overrides: { taskResourceLocalHandlers: handlers(undefined), retryIntervalOverrides } }).result;
    // Assess
    expect(result).toEqual({
      days: ['2025-03-01', '2025-03-02', '2025-03-03'].map((date) => ({ date, status: 'passed', rows: 10 })),
      anyFailed: false,
    });
  });

  it('passes a single day', async () => {
    const machine = new StateMachine(asl as never, { validationOptions: { checkArn: false, checkPaths: false } });
    const result = await machine.run({ from: '2025-03-01', to: '2025-03-01' }, { context: localExecutionContext(), overrides: { taskResourceLocalHandlers: handlers(undefined), retryIntervalOverrides } }).result;
    expect(result).toEqual({ days: [{ date: '2025-03-01', status: 'passed', rows: 10 }], anyFailed: false });
  });

  it('fails with DaysFailed and the failed days as cause, the other days done', async () => {
    // Arrange
    const machine = new StateMachine(asl as never, { validationOptions: { checkArn: false, checkPaths: false } });
    const execution = machine.run({ from: '2025-03-01', to: '2025-03-03' }, { context: localExecutionContext(), overrides: { taskResourceLocalHandlers: handlers('2025-03-02'), retryIntervalOverrides } });
    // Act
    const failure = await execution.result.then(
      () => undefined,
      (error: Error) => error,
    );
    // Assess
    const reason = failure?.cause as Error;
    expect(reason.name).toBe(DAYS_FAILED_ERROR);
    expect(JSON.parse(reason.message)).toEqual([{ date: '2025-03-02', status: 'failed', error: 'ValidationBreachError', cause: 'row_count: expected 10, got 9' }]);
  });
});
