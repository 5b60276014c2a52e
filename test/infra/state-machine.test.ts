/// <reference types="vite/client" />
/**
 * The state machine definition: its retry/catch policy read from the synthesized ASL, and its
 * data flow (filters, intrinsics, per-day catch) run once through aws-local-stepfunctions.
 */
import { localExecutionContext } from '../../src/pipeline/local-execution.js';
import { StateMachine } from 'aws-local-stepfunctions';
import { beforeAll, describe, expect, it } from 'vitest';
import * as errors from '../../src/core/errors.js';
import { DEFAULTS } from '../../src/core/config.js';
import { DAYS_FAILED_ERROR, STATE_NAMES, TASK_STATES, synthesizeDefinition, type AslDefinition } from '../../infra/definition.js';
import { DAYS_UNREPORTED_ERROR, SNAPSHOT_FAILED_ERROR } from '../../src/pipeline/definition.js';
import { EXECUTION_TIMEOUT, LAMBDA_SERVICE_ERRORS, TIMEOUT_ERRORS, TRANSIENT_ERRORS } from '../../infra/state-machine.js';
import { STAGE_LIST } from '../../src/pipeline/stages.js';

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
let rangeStates: Record<string, State>;

beforeAll(() => {
  asl = synthesizeDefinition({ backfillConcurrency: 7, rangeConcurrency: 3 });
  days = asl.States[STATE_NAMES.days] as State;
  dayStates = (days.ItemProcessor as { States: Record<string, State> }).States;
  rangeStates = (dayStates[STATE_NAMES.hourRanges].ItemProcessor as { States: Record<string, State> }).States;
});

/** The error each failed day's DayFailed state received (it stays in the day's execution, out of the Map's output). */
async function dayErrors(events: AsyncIterable<{ type: string; state?: { name: string; input: unknown } }>): Promise<Record<string, unknown>> {
  const found: Record<string, unknown> = {};
  for await (const event of events) {
    if (event.type !== 'StateEntered' || event.state?.name !== STATE_NAMES.dayFailed) continue;
    const { date, error } = event.state.input as { date: string; error: unknown };
    found[date] = error;
  }
  return found;
}

/** Class names exported by src/core/errors.ts, split by what a retry can do. */
/**
 * Every error class `src/` exports, wherever it is declared (`src/core/errors.ts` and the modules
 * that add their own, such as the Iceberg commit's): Step Functions matches error names exactly, so
 * a transient subclass the retry does not name is never retried.
 */
function errorNames(): { transient: string[]; terminal: string[] } {
  const modules = Object.values(import.meta.glob('../../src/**/*.ts', { eager: true })) as Record<string, unknown>[];
  const exported = new Set(modules.flatMap((m) => Object.values(m)));
  const classes = [...exported].filter((v): v is typeof errors.EtlError => typeof v === 'function' && v.prototype instanceof errors.EtlError);
  expect(classes.map((c) => c.name)).toContain('IcebergCommitConflictError');
  const isTransient = (c: typeof errors.EtlError) => c === errors.TransientError || c.prototype instanceof errors.TransientError;
  return {
    transient: classes.filter(isTransient).map((c) => c.name),
    terminal: classes.filter((c) => !isTransient(c)).map((c) => c.name),
  };
}

describe('definition', () => {
  it('has the stable state names local runs map handlers to', () => {
    expect(asl.StartAt).toBe(TASK_STATES.plan);
    expect(Object.keys(asl.States).sort()).toEqual(
      [
        'AllDaysFailed',
        'CheckDays',
        'ChooseDaysList',
        'CountDays',
        'Days',
        'DaysFailed',
        'DescribeDaysFailed',
        'Done',
        'CountUnreported',
        'DaysAborted',
        'DaysUnreported',
        'DescribeDaysUnreported',
        'DescribeSnapshotFailed',
        'ListFailedDays',
        'ListPassedDays',
        'NoteSnapshotFailed',
        'Plan',
        'Snapshot',
        'SnapshotFailed',
        'TallyDays',
      ].sort(),
    );
    expect(Object.keys(dayStates).sort()).toEqual(['DayFailed', 'DayPassed', 'HourRanges', 'PlanDay', 'ReleaseDay', 'Validate']);
    expect(Object.keys(rangeStates).sort()).toEqual(['Extract', 'TransformWrite']);
    expect((asl.States.Plan as State).Resource).toBe('arn:aws:lambda:us-east-1:123456789012:function:Plan');
    expect(JSON.stringify(asl)).not.toMatch(/Fn::|Ref"/);
    // An execution stuck for good times out (and its alarm fires) instead of running for a year.
    expect(asl.TimeoutSeconds).toBe(EXECUTION_TIMEOUT.toSeconds());
  });

  it('fans the planned dates out through a Distributed Map capped at the backfill concurrency', () => {
    expect(days).toMatchObject({
      Type: 'Map',
      ItemsPath: '$.dates',
      ItemSelector: { 'date.$': '$$.Map.Item.Value', 'mode.$': '$.mode', 'owner.$': '$$.Execution.Id' },
      MaxConcurrency: 7,
      ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' }, StartAt: TASK_STATES.planDay },
    });
    expect(synthesizeDefinition().States.Days).toMatchObject({ MaxConcurrency: 4 });
    // A child execution that fails outright (States.Runtime, a data limit) does not stop the other days.
    expect(days.ToleratedFailurePercentage).toBe(100);
    expect(days).not.toHaveProperty('ItemReader');
    expect(days).not.toHaveProperty('ItemBatcher');
  });

  it("runs each hour range of the day plan through Extract and TransformWrite, capped, and hands Validate the plan with every range's result", () => {
    expect(dayStates.PlanDay).toMatchObject({ Type: 'Task', Next: STATE_NAMES.hourRanges });
    expect(dayStates.HourRanges).toMatchObject({
      Type: 'Map',
      ItemsPath: '$.ranges',
      ItemSelector: {
        'date.$': '$.date',
        'mode.$': '$.mode',
        'owner.$': '$.owner',
        'runId.$': '$.runId',
        hours: { 'from.$': '$$.Map.Item.Value.from', 'to.$': '$$.Map.Item.Value.to' },
      },
      MaxConcurrency: 3,
      ResultPath: '$.written',
      Next: TASK_STATES.validate,
      ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' }, StartAt: TASK_STATES.extract },
    });
    expect(rangeStates.Extract).toMatchObject({ Next: TASK_STATES.transformWrite });
    expect(rangeStates.TransformWrite).toMatchObject({ End: true });
    expect(synthesizeDefinition().States.Days).toMatchObject({ ItemProcessor: { States: { HourRanges: { MaxConcurrency: 4 } } } });
    expect(() => synthesizeDefinition({ rangeConcurrency: 0 })).toThrow(/rangeConcurrency: expected an integer from 1 to 25, got 0/);
  });

  it('retries exactly the transient error classes of src/core/errors.ts, with exponential backoff and full jitter', () => {
    // Arrange
    const { transient, terminal } = errorNames();
    // Assess
    expect([...TRANSIENT_ERRORS].sort()).toEqual(transient.sort());
    for (const name of [TASK_STATES.planDay, TASK_STATES.extract, TASK_STATES.transformWrite, TASK_STATES.validate]) {
      const retries = (dayStates[name] ?? rangeStates[name]).Retry!;
      const usesDatabase = STAGE_LIST.find((spec) => spec.state === name)!.needs.database;
      // PlanDay asks again for a busy day at a steady pace for longer than a lease lasts, then a
      // stage holding a database connection waits out throttling (below), before the rest.
      const retry = retries.slice((name === TASK_STATES.planDay ? 1 : 0) + (usesDatabase ? 1 : 0));
      if (usesDatabase) expect(retries[name === TASK_STATES.planDay ? 1 : 0].ErrorEquals, name).toEqual(['Lambda.TooManyRequestsException']);
      if (name === TASK_STATES.planDay) {
        expect(retries[0]).toMatchObject({ ErrorEquals: ['PartitionBusyError'], IntervalSeconds: 10, BackoffRate: 1, JitterStrategy: 'NONE' });
        expect(retries[0].IntervalSeconds! * retries[0].MaxAttempts!).toBeGreaterThanOrEqual(DEFAULTS.lockTtlSeconds);
      }
      expect(retry[0]).toMatchObject({ ErrorEquals: [...TRANSIENT_ERRORS], BackoffRate: 2, MaxAttempts: 4, JitterStrategy: 'FULL' });
      expect(retry[1]).toMatchObject({ ErrorEquals: [...LAMBDA_SERVICE_ERRORS], BackoffRate: 2, JitterStrategy: 'FULL' });
      expect(retry[2]).toMatchObject({ ErrorEquals: [...TIMEOUT_ERRORS], MaxAttempts: 1 });
      // A Lambda timeout or out-of-memory reaches Step Functions as Lambda.Unknown
      expect(retry[2].ErrorEquals).toEqual(expect.arrayContaining(['Sandbox.Timedout', 'Lambda.Unknown']));
      const retried = retries.flatMap((r) => r.ErrorEquals);
      expect(
        retried.filter((e) => terminal.includes(e) || e === 'States.ALL'),
        name,
      ).toEqual([]);
    }
  });

  it('catches whatever is left after the retries per day, keeping the date beside the error, and gives the day up', () => {
    expect(dayStates.PlanDay.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: STATE_NAMES.dayFailed }]);
    for (const name of [STATE_NAMES.hourRanges, TASK_STATES.validate]) {
      expect(dayStates[name].Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: TASK_STATES.releaseDay }]);
    }
    expect(dayStates.ReleaseDay).toMatchObject({
      Type: 'Task',
      Parameters: { 'date.$': '$.date', 'runId.$': '$.runId' },
      ResultPath: null,
      Next: STATE_NAMES.dayFailed,
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.releaseError', Next: STATE_NAMES.dayFailed }],
    });
    expect(dayStates.ReleaseDay.Retry!.flatMap((r) => r.ErrorEquals)).toEqual([...TRANSIENT_ERRORS, ...LAMBDA_SERVICE_ERRORS]);
    // A range's error fails the Map, which the day catches.
    for (const name of [TASK_STATES.extract, TASK_STATES.transformWrite]) expect(rangeStates[name].Catch).toBeUndefined();
    // A failed day's entry in the Map's output has a fixed size: its error stays in its execution.
    expect(dayStates.DayFailed).toMatchObject({ Type: 'Pass' });
    expect(dayStates.DayFailed.Parameters).toEqual({ 'date.$': '$.date', status: 'failed' });
  });

  it('lets bad input fail the execution at Plan: no catch there, and only what a retry may fix retried', () => {
    const plan = asl.States.Plan as State;
    expect(plan.Catch).toBeUndefined();
    const retried = plan.Retry!.flatMap((r) => r.ErrorEquals);
    expect(retried).toEqual(expect.arrayContaining([...TRANSIENT_ERRORS, ...LAMBDA_SERVICE_ERRORS, ...TIMEOUT_ERRORS]));
    expect(retried).not.toContain('InputError');
    expect(retried).not.toContain('States.ALL');
  });

  it('waits out throttling of a database stage for longer than the longest database stage runs', () => {
    // Arrange: the most a throttled invoke is retried for, every delay at its maximum
    const longest = Math.max(...STAGE_LIST.filter((spec) => spec.needs.database).map((spec) => spec.lambda.timeoutSeconds));
    const waits = (r: Retrier & { MaxDelaySeconds?: number }) =>
      Array.from({ length: r.MaxAttempts }, (_, i) => Math.min(r.MaxDelaySeconds ?? Number.POSITIVE_INFINITY, r.IntervalSeconds * r.BackoffRate ** i)).reduce(
        (a, b) => a + b,
        0,
      );
    for (const spec of STAGE_LIST.filter((s) => s.needs.database)) {
      const state = (asl.States[spec.state] ?? dayStates[spec.state] ?? rangeStates[spec.state]) as State;
      // Act: the first retrier that matches a throttle is the one Step Functions applies
      const throttle = state.Retry!.find((r) => r.ErrorEquals.includes('Lambda.TooManyRequestsException'))!;
      // Assess: full jitter waits about half the maximum, which still outlasts the longest stage
      expect(throttle.JitterStrategy, spec.state).toBe('FULL');
      expect(waits(throttle) / 2, spec.state).toBeGreaterThanOrEqual(longest);
    }
  });

  it('catches a failed Snapshot and runs the days, and catches a failure of the Days Map as a whole', () => {
    expect((asl.States.Snapshot as State).Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.snapshotError', Next: STATE_NAMES.noteSnapshotFailed },
    ]);
    expect(asl.States.NoteSnapshotFailed).toMatchObject({ Next: STATE_NAMES.days });
    expect(days.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.daysError', Next: STATE_NAMES.daysAborted }]);
  });
});

describe('a run of the definition', () => {
  class ValidationBreachError extends Error {
    override name = 'ValidationBreachError';
  }
  class StoreUnavailableError extends Error {
    override name = 'StoreUnavailableError';
  }

  class SourceUnavailableError extends Error {
    override name = 'SourceUnavailableError';
  }
  class StagingError extends Error {
    override name = 'StagingError';
  }

  type Hours = { from: number; to: number };
  type RangeEvent = { date: string; mode: string; owner: string; runId: string; hours: Hours };

  /**
   * Stand-ins with the stages' event shapes: one day fails validation, one needs a retry, 03-02
   * is cut into three hour ranges, and `failingRange` (a day and hour) fails for good.
   */
  function handlers(failing: string | undefined, failingRange?: { date: string; from: number }) {
    type Event = { date: string; from: string; to: string; mode?: string };
    const attempts = new Map<string, number>();
    const validated: unknown[] = [];
    const released: unknown[] = [];
    const stages = {
      Plan: async (input: unknown) => {
        const e = input as Event;
        return { mode: e.mode ?? 'overwrite', dates: ['2025-03-01', '2025-03-02', '2025-03-03'].filter((d) => d >= e.from && d <= e.to) };
      },
      Snapshot: async () => ({ runId: 'run-snapshot', snapshotAt: '2025-03-04T00:00:00.000Z', tables: {}, seconds: 0 }),
      PlanDay: async (input: unknown) => {
        const e = input as { date: string; mode: string; owner: string };
        const ranges =
          e.date === '2025-03-02'
            ? [
                { from: 0, to: 8, rows: 4 },
                { from: 8, to: 16, rows: 3 },
                { from: 16, to: 24, rows: 3 },
              ]
            : [{ from: 0, to: 24, rows: 10 }];
        return { ...e, runId: `run-${e.date}`, plannedRows: 10, sourceDuplicateIds: 0, ranges };
      },
      Extract: async (input: unknown) => {
        const e = input as RangeEvent;
        if (failingRange && e.date === failingRange.date && e.hours.from === failingRange.from) throw new StagingError(`hour ${e.hours.from} cannot be staged`);
        const n = (attempts.get(`extract ${e.date}`) ?? 0) + 1;
        attempts.set(`extract ${e.date}`, n);
        if (e.date === '2025-03-01' && n === 1) throw new SourceUnavailableError('connection reset');
        return { ...e, staged: true };
      },
      TransformWrite: async (input: unknown) => {
        const e = input as RangeEvent;
        const n = (attempts.get(e.date) ?? 0) + 1;
        attempts.set(e.date, n);
        if (e.date === '2025-03-03' && n === 1) throw new StoreUnavailableError('SlowDown');
        return { runId: e.runId, date: e.date, hours: e.hours, files: [`part-${e.hours.from}`] };
      },
      Validate: async (input: unknown) => {
        validated.push(input);
        const { date } = input as Event;
        if (date === failing) throw new ValidationBreachError('row_count: expected 10, got 9');
        return { date, rows: 10, runId: 'r', reportKey: 'k' };
      },
      ReleaseDay: async (input: unknown) => {
        released.push(input);
        return { date: (input as Event).date, released: true };
      },
    };
    return { stages, validated, released };
  }

  const retryIntervalOverrides = { Snapshot: 0, PlanDay: 0, Extract: 0, TransformWrite: 0, Validate: 0, ReleaseDay: 0 };

  /** Runs the definition over 2025-03-01..03 with `stages`; what the execution failed with (undefined: it succeeded). */
  async function failureOf(stages: Record<string, (input: unknown) => Promise<unknown>>): Promise<Error | undefined> {
    const machine = new StateMachine(asl as never, { validationOptions: { checkArn: false, checkPaths: false } });
    const execution = machine.run(
      { from: '2025-03-01', to: '2025-03-03' },
      { context: localExecutionContext(), overrides: { taskResourceLocalHandlers: stages as never, retryIntervalOverrides } },
    );
    return execution.result.then(
      () => undefined,
      (error: Error) => error.cause as Error,
    );
  }

  it('succeeds with every day passed, transient errors retried, a day cut into ranges validated once with all of them', async () => {
    // Arrange
    const machine = new StateMachine(asl as never, { validationOptions: { checkArn: false, checkPaths: false } });
    const { stages, validated, released } = handlers(undefined);
    const context = localExecutionContext();
    // Act
    const result = await machine.run(
      { from: '2025-03-01', to: '2025-03-03' },
      { context, overrides: { taskResourceLocalHandlers: stages, retryIntervalOverrides } },
    ).result;
    // Assess
    expect(result).toEqual({
      days: ['2025-03-01', '2025-03-02', '2025-03-03'].map((date) => ({ date, status: 'passed', rows: 10 })),
      anyFailed: false,
    });
    const split = validated.find((v) => (v as { date: string }).date === '2025-03-02') as Record<string, unknown>;
    expect(split).toMatchObject({ date: '2025-03-02', mode: 'overwrite', owner: context.Execution.Id, runId: 'run-2025-03-02', sourceDuplicateIds: 0 });
    expect(split.written).toEqual(
      [0, 8, 16].map((from) => ({ runId: 'run-2025-03-02', date: '2025-03-02', hours: { from, to: from + 8 }, files: [`part-${from}`] })),
    );
    expect(validated).toHaveLength(3);
    expect(released).toEqual([]);
  });

  it("fails only the day whose hour range failed for good, with that range's error", async () => {
    // Arrange
    const machine = new StateMachine(asl as never, { validationOptions: { checkArn: false, checkPaths: false } });
    const { stages, validated, released } = handlers(undefined, { date: '2025-03-02', from: 8 });
    // Act
    const execution = machine.run(
      { from: '2025-03-01', to: '2025-03-03' },
      { context: localExecutionContext(), overrides: { taskResourceLocalHandlers: stages, retryIntervalOverrides } },
    );
    const errorsOfDays = dayErrors(execution.eventLogs);
    const failure = await execution.result.then(
      () => undefined,
      (error: Error) => error,
    );
    // Assess
    const reason = failure?.cause as Error;
    expect(reason.name).toBe(DAYS_FAILED_ERROR);
    expect(JSON.parse(reason.message)).toEqual({
      failed: 1,
      days: 3,
      from: '2025-03-01',
      to: '2025-03-03',
      snapshot: { status: 'published' },
      failedDays: ['2025-03-02'],
    });
    expect(await errorsOfDays).toEqual({ '2025-03-02': { Error: 'StagingError', Cause: 'hour 8 cannot be staged' } });
    expect(validated.map((v) => (v as { date: string }).date).sort()).toEqual(['2025-03-01', '2025-03-03']);
    expect(released).toEqual([{ date: '2025-03-02', runId: 'run-2025-03-02' }]);
  });

  it('passes a single day', async () => {
    const machine = new StateMachine(asl as never, { validationOptions: { checkArn: false, checkPaths: false } });
    const result = await machine.run(
      { from: '2025-03-01', to: '2025-03-01' },
      { context: localExecutionContext(), overrides: { taskResourceLocalHandlers: handlers(undefined).stages, retryIntervalOverrides } },
    ).result;
    expect(result).toEqual({ days: [{ date: '2025-03-01', status: 'passed', rows: 10 }], anyFailed: false });
  });

  it('fails with DaysFailed and the failed days as cause, the other days done', async () => {
    // Arrange
    const machine = new StateMachine(asl as never, { validationOptions: { checkArn: false, checkPaths: false } });
    const execution = machine.run(
      { from: '2025-03-01', to: '2025-03-03' },
      { context: localExecutionContext(), overrides: { taskResourceLocalHandlers: handlers('2025-03-02').stages, retryIntervalOverrides } },
    );
    const errorsOfDays = dayErrors(execution.eventLogs);
    // Act
    const failure = await execution.result.then(
      () => undefined,
      (error: Error) => error,
    );
    // Assess
    const reason = failure?.cause as Error;
    expect(reason.name).toBe(DAYS_FAILED_ERROR);
    expect(JSON.parse(reason.message)).toEqual({
      failed: 1,
      days: 3,
      from: '2025-03-01',
      to: '2025-03-03',
      snapshot: { status: 'published' },
      failedDays: ['2025-03-02'],
    });
    expect(await errorsOfDays).toEqual({ '2025-03-02': { Error: 'ValidationBreachError', Cause: 'row_count: expected 10, got 9' } });
  });

  it('runs every day against the published snapshot when Snapshot fails, then fails with SnapshotFailed', async () => {
    // Arrange
    const { stages, validated } = handlers(undefined);
    let snapshots = 0;
    const failingSnapshot = async () => {
      snapshots++;
      throw new SourceUnavailableError('the database went away');
    };

    // Act
    const reason = await failureOf({ ...stages, Snapshot: failingSnapshot });

    // Assess: retried as a transient error, then caught; every day ran and passed
    expect(snapshots).toBe(5);
    expect(validated.map((v) => (v as { date: string }).date).sort()).toEqual(['2025-03-01', '2025-03-02', '2025-03-03']);
    expect(reason?.name).toBe(SNAPSHOT_FAILED_ERROR);
    expect(JSON.parse(reason!.message)).toEqual({ status: 'failed', error: 'SourceUnavailableError' });
  });

  it('reports a failed snapshot beside the failed days', async () => {
    // Act
    const reason = await failureOf({
      ...handlers('2025-03-02').stages,
      Snapshot: async () => {
        throw new StagingError('users: 3 rows, the source has 4');
      },
    });

    // Assess
    expect(reason?.name).toBe(DAYS_FAILED_ERROR);
    expect(JSON.parse(reason!.message)).toEqual({
      failed: 1,
      days: 3,
      from: '2025-03-01',
      to: '2025-03-03',
      snapshot: { status: 'failed', error: 'StagingError' },
      failedDays: ['2025-03-02'],
    });
  });

  /**
   * Runs the parent's states from `start` on `state`: what follows the Days Map, given what the Map
   * left (aws-local-stepfunctions has no ToleratedFailurePercentage, so a child execution that fails
   * outright cannot be run through it; Step Functions leaves that child's entry out of the results).
   */
  async function afterDays(start: string, state: unknown): Promise<{ output?: unknown; reason?: Error }> {
    const { Plan, Snapshot, Days, NoteSnapshotFailed, ...rest } = asl.States;
    // Not validated: the states the Map's Catch alone leads to are unreachable from TallyDays.
    const machine = new StateMachine({ StartAt: start, States: rest } as never, { validationOptions: { noValidate: true } });
    return machine.run(state as never).result.then(
      (output: unknown) => ({ output }),
      (error: Error) => ({ reason: error.cause as Error }),
    );
  }

  const DATES = ['2025-03-01', '2025-03-05', '2025-03-09'];
  const passedDay = (date: string) => ({ date, status: 'passed', rows: 10 });

  it("fails with DaysUnreported when a day's child execution failed outright and left no entry", async () => {
    // Act
    const { reason } = await afterDays(STATE_NAMES.tallyDays, {
      mode: 'overwrite',
      dates: DATES,
      snapshot: { status: 'published' },
      outcome: { days: [passedDay('2025-03-01'), passedDay('2025-03-09')], anyFailed: false },
    });

    // Assess
    expect(reason?.name).toBe(DAYS_UNREPORTED_ERROR);
    expect(JSON.parse(reason!.message)).toEqual({ days: 3, reported: 2, from: '2025-03-01', to: '2025-03-09', snapshot: { status: 'published' } });
  });

  it('fails with DaysUnreported, naming the error, when the Days Map failed as a whole', async () => {
    // Act
    const { reason } = await afterDays(STATE_NAMES.daysAborted, {
      mode: 'overwrite',
      dates: DATES,
      snapshot: { status: 'published' },
      daysError: { Error: 'States.ItemReaderFailed', Cause: 'the Map Run could not start' },
    });

    // Assess
    expect(reason?.name).toBe(DAYS_UNREPORTED_ERROR);
    expect(JSON.parse(reason!.message)).toEqual({
      days: 3,
      reported: 0,
      from: '2025-03-01',
      to: '2025-03-09',
      error: 'States.ItemReaderFailed',
      snapshot: { status: 'published' },
    });
  });

  it('succeeds with the days as its output when every planned day passed', async () => {
    // Act
    const outcome = { days: DATES.map(passedDay), anyFailed: false };
    const { output } = await afterDays(STATE_NAMES.tallyDays, { mode: 'overwrite', dates: DATES, snapshot: { status: 'published' }, outcome });

    // Assess
    expect(output).toEqual(outcome);
  });
});
