/**
 * Runs the state machine definition that the CDK stack deploys, in this process, with
 * aws-local-stepfunctions: each Task state is mapped by name (the registry's `state`) to its
 * stage, run with `runStage` under the day's lease as its Lambda would run it. `etl run`,
 * `etl backfill`, `npm start`, the tests and the benchmark all go through here, so local runs and
 * the cloud share one definition (retries, catches, the Maps' concurrency, input checks).
 *
 * One difference, for speed only: a range's transform-write runs while its extract reads the rows
 * (`transform-write/overlap.ts`; `overlap: false` runs them apart, as the Lambdas do).
 *
 * A `LocalExecution` owns what one execution has: its lake session (interrupt token and held
 * leases), what its days' stages reported, its stages in flight, and Step Functions' payload
 * limits as the service applies them. Two executions in one process share nothing.
 */
import { randomUUID } from 'node:crypto';
import type { LogLevel } from '@aws-lambda-powertools/logger/types';
import { ExecutionAbortedError, ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import { requireDatabaseUrl, type Config } from '../core/config.js';
import { PartitionBusyError } from '../core/errors.js';
import { ReadableLogger } from '../core/log.js';
import { openStore } from '../lake/open.js';
import { icebergUpkeepOf } from '../lake/iceberg/upkeep.js';
import { LakeSession } from '../lake/session.js';
import { UNFINISHED_WRITE_AGE_MS, type ObjectStore } from '../lake/store.js';
import { withClient } from '../source/connect.js';
import type { RunPlan, TransformOutput, ValidateOutput } from './contracts.js';
import {
  causeMessage,
  DATA_LIMIT_EXCEEDED,
  DAYS_FAILED_ERROR,
  DAYS_UNREPORTED_ERROR,
  failedDaysOf,
  loadDefinition,
  STEP_FUNCTIONS_LIMITS,
  type AslDefinition,
} from './definition.js';
import { ExecutionDays, type DayOutcome, type DayResult } from './execution-days.js';
import { RangeOverlap } from './transform-write/overlap.js';
import { ParquetThreads } from '../formats/parquet-thread.js';
import { loadStage } from './implementations.js';
import { runStage } from './stage.js';
import { STAGE_LIST, STAGES } from './stages.js';

export type { DayOutcome } from './execution-days.js';

/**
 * The context object a local execution sees (`$$.Execution.Id` names the partition lock's owner),
 * shaped like a Step Functions execution of the stack's state machine.
 */
export function localExecutionContext(
  input: unknown = {},
  name = `local-${randomUUID()}`,
): { Execution: { Id: string; Name: string; StartTime: string; Input: never } } {
  return {
    Execution: {
      Id: `arn:aws:states:us-east-1:123456789012:execution:Pipeline:${name}`,
      Name: name,
      StartTime: new Date().toISOString(),
      Input: input as never,
    },
  };
}

type TaskHandler = (input: unknown) => Promise<unknown>;

/**
 * Gives each stage's Task state of `definition` its Lambda's timeout as `TimeoutSeconds` (in
 * place; returns it). In AWS a Lambda task runs until its function's timeout, while
 * aws-local-stepfunctions cuts a Task without `TimeoutSeconds` at 60 s: a local run of a
 * 20,000,000-row day failed with `States.Timeout` in transform-write.
 */
export function withLambdaTimeouts(definition: Pick<AslDefinition, 'States'>): Pick<AslDefinition, 'States'> {
  const timeouts = new Map(STAGE_LIST.map((spec) => [spec.state, spec.lambda.timeoutSeconds]));
  const visit = (states: AslDefinition['States']) => {
    for (const [name, state] of Object.entries(states)) {
      const seconds = timeouts.get(name);
      if (state.Type === 'Task' && seconds !== undefined && state.TimeoutSeconds === undefined) state.TimeoutSeconds = seconds;
      for (const nested of [state.ItemProcessor, state.Iterator, ...((state.Branches as unknown[] | undefined) ?? [])] as (
        | { States?: AslDefinition['States'] }
        | undefined
      )[])
        if (nested?.States) visit(nested.States);
    }
  };
  visit(definition.States);
  return definition;
}

export interface LocalExecutionOptions {
  /** The Map's MaxConcurrency, as the stack's `backfillConcurrency`. */
  readonly concurrency: number;
  /** Hour ranges of one day at once, as the stack's `rangeConcurrency`; its default otherwise. */
  readonly rangeConcurrency?: number;
  /** Told each day's outcome as the day finishes. */
  readonly onDay?: (outcome: DayOutcome) => void;
  /** Milliseconds between retries instead of the definition's backoff (tests). */
  readonly retryIntervalMs?: number;
  /**
   * Wraps the handler of a task state (fault injection in tests): given the state's own handler,
   * returns the one to run instead.
   */
  readonly handlers?: Partial<Record<string, (own: TaskHandler) => TaskHandler>>;
  /** The lake to run against instead of the one `config` names (a fault-injecting store in tests). */
  readonly store?: ObjectStore;
  /** Where the stages' log lines go (default: stderr). */
  readonly logLine?: (line: string) => void;
  /** The least severe level of those lines (default: `POWERTOOLS_LOG_LEVEL`, else INFO). */
  readonly logLevel?: LogLevel;
  /**
   * The execution's name (default: a new `local-<uuid>`). Its ARN owns the days' leases, so a
   * second execution of the same name stands for a retry of the first (it may take their leases over).
   */
  readonly executionName?: string;
  /**
   * Stops the execution (a local run's Ctrl-C): no stage starts, nothing more is published, and
   * every day this execution holds is swept of its run's leftovers and given back.
   */
  readonly signal?: AbortSignal;
  /** Told when a day waits for another run that holds it (who, until when), before each retry. */
  readonly onBusy?: (date: string, holder: string) => void;
  /**
   * Each range's transform-write runs while its extract reads the rows (`transform-write/overlap.ts`);
   * default true. False runs the stages one after the other, as their Lambdas do.
   */
  readonly overlap?: boolean;
}

/** A day that failed and the error it failed with, from its `DayFailed` state's input. */
export interface DayFailure {
  readonly date: string;
  readonly error: string;
  readonly cause: string;
}

export interface LocalExecutionResult {
  /** ABORTED: stopped by `signal`; the days in flight were given back (`interrupted`). */
  readonly status: 'SUCCEEDED' | 'FAILED' | 'ABORTED';
  /** The days whose leases an interruption gave back, their leftovers swept. */
  readonly interrupted?: readonly string[];
  readonly outcomes: DayOutcome[];
  /** Error name and cause when the execution failed (`DaysFailed`, `InputError`, `States.DataLimitExceeded`, ...). */
  readonly error?: string;
  /** The failed days of a `DaysFailed` execution with their errors, in date order (the cause names only the dates). */
  readonly failures?: readonly DayFailure[];
  readonly cause?: string;
}

/** How long an interrupted run waits for its stages in flight to stop before it sweeps. */
const INTERRUPT_PATIENCE_MS = 10_000;

/** What a task state's answers tell the execution about its days (observed around the stage's own handler). */
interface StateObserver {
  readonly before?: (days: ExecutionDays, event: unknown) => void;
  readonly after?: (days: ExecutionDays, event: unknown, output: unknown) => void;
  readonly failed?: (event: unknown, error: unknown) => void;
}

const dateOf = (event: unknown) => String((event as { date?: unknown })?.date);

/** Step Functions' limit on a state's output: the error it fails an execution with, or undefined. */
function outputOverLimit(state: string, output: unknown): { error: string; cause: string } | undefined {
  const bytes = Buffer.byteLength(JSON.stringify(output ?? null));
  if (bytes <= STEP_FUNCTIONS_LIMITS.payloadBytes) return undefined;
  return {
    error: DATA_LIMIT_EXCEEDED,
    cause: `The state/task '${state}' returned a result with a size exceeding the maximum number of bytes service limit (${bytes} > ${STEP_FUNCTIONS_LIMITS.payloadBytes}).`,
  };
}

/** Step Functions' limit on a Fail state's cause: the error it fails an execution with instead, or undefined. */
function failCauseOverLimit(definition: AslDefinition, name: string, message: string): { error: string; cause: string } | undefined {
  const failErrors = Object.values(definition.States).filter((state) => state.Type === 'Fail' && state.Error === name);
  if (failErrors.length === 0 || message.length <= STEP_FUNCTIONS_LIMITS.causeChars) return undefined;
  const cause = `The cause of the Fail state's error ${name} has ${message.length} characters, over the limit of ${STEP_FUNCTIONS_LIMITS.causeChars}.`;
  return { error: DATA_LIMIT_EXCEEDED, cause };
}

/** One execution of the definition in this process. */
export class LocalExecution {
  readonly session: LakeSession;
  readonly days = new ExecutionDays();
  readonly #inFlight = new Set<Promise<unknown>>();
  /** The overlap of extract and transform-write of this execution's ranges, unless turned off. */
  #overlap: RangeOverlap | undefined;
  /** The threads its transforms encode Parquet on (ended with the execution). */
  #threads: ParquetThreads | undefined;
  /** The days the DayPassed/DayFailed states reported, by date. */
  readonly #reported = new Map<string, DayResult>();
  /** Set once a state returned more than Step Functions' limit: the execution fails with it. */
  #overLimit: { error: string; cause: string } | undefined;

  constructor(
    readonly config: Config,
    readonly options: LocalExecutionOptions,
  ) {
    this.session = new LakeSession(undefined, icebergUpkeepOf(config));
  }

  /** What each task state's answers tell about the days. */
  readonly #observers: Record<string, StateObserver> = {
    [STAGES.plan.state]: { after: (days, _e, plan) => (days.plan = plan as RunPlan) },
    [STAGES.planDay.state]: {
      before: (days, e) => days.started(dateOf(e)),
      failed: (e, error) => {
        if (error instanceof PartitionBusyError) this.options.onBusy?.(dateOf(e), error.message);
      },
    },
    [STAGES.extract.state]: {
      after: (days, e, out) => {
        const staged = out as { hours: { from: number }; sourceCount: number };
        days.extracted(dateOf(e), staged.hours.from, staged.sourceCount);
      },
    },
    [STAGES.transformWrite.state]: { after: (days, e, out) => days.wrote(dateOf(e), out as TransformOutput) },
    [STAGES.validate.state]: { after: (days, e, out) => days.validated(dateOf(e), out as ValidateOutput) },
  };

  /**
   * A task state's handler, composed once: the stage run as its Lambda runs it (`runStage`), the
   * observation of its answer, a test's fault wrapper if any, and tracking while it is in flight.
   */
  #handler(state: string, own: TaskHandler): TaskHandler {
    const observer = this.#observers[state] ?? {};
    const observed: TaskHandler = async (event) => {
      observer.before?.(this.days, event);
      try {
        const output = await own(event);
        observer.after?.(this.days, event, output);
        return output;
      } catch (error) {
        observer.failed?.(event, error);
        throw error;
      }
    };
    const run = this.options.handlers?.[state]?.(observed) ?? observed;
    return (event) => this.#track(run(event));
  }

  /** The task handlers of every stage in the registry, keyed by state name. */
  async #handlers(): Promise<Record<string, TaskHandler>> {
    const { config, options } = this;
    const lake = await (options.store ?? openStore(config));
    // Temporary files of writes a killed run left on a local disk (the rest it left, the next run of its day sweeps).
    await lake.sweepTemporaryFiles?.(UNFINISHED_WRITE_AGE_MS);
    const store = this.session.token.guard(lake);
    const withSource = <T>(work: Parameters<typeof withClient<T>>[1]) => withClient(requireDatabaseUrl(config), work);
    const handlers: Record<string, TaskHandler> = {};
    // A logger per invocation, as each Lambda invocation has its own: the days of an execution run
    // at once here, and a stage's logger carries the day it works on (a shared one mixed them up).
    const loggerOf = (name: string) => () => new ReadableLogger(name, options.logLine, options.logLevel);
    // The overlapped transforms encode on threads of their own, the first started now: it loads
    // while the plan and the snapshot leave a core idle.
    const threads = options.overlap === false ? undefined : new ParquetThreads();
    threads?.prewarm();
    this.#threads = threads;
    const overlap =
      threads &&
      new RangeOverlap({
        config,
        logger: loggerOf(STAGES.transformWrite.name),
        track: (work) => void this.#track(work).catch(() => undefined),
        encode: threads.encode,
      });
    this.#overlap = overlap;
    for (const spec of STAGE_LIST) {
      const loaded = await loadStage(spec.key);
      const stage =
        spec.key === 'extract' && overlap ? overlap.extractStage(loaded) : spec.key === 'transformWrite' && overlap ? overlap.transformStage(loaded) : loaded;
      const logger = loggerOf(spec.name);
      const own: TaskHandler = (event) =>
        runStage(stage, event, { config, log: logger(), store, withSource, session: this.session }, { ttlMs: config.lockTtlMs });
      handlers[spec.state] = this.#handler(spec.state, own);
    }
    return handlers;
  }

  /** Counts `work` in flight until it settles. */
  #track<T>(work: Promise<T>): Promise<T> {
    this.#inFlight.add(work);
    return work.finally(() => this.#inFlight.delete(work));
  }

  /**
   * Stages in flight finish (a Map's other iterations after one failed), as their Lambdas would after
   * the execution; then what overlapped transforms wrote for ranges whose TransformWrite never ran goes.
   */
  async #settled(): Promise<void> {
    await Promise.allSettled([...this.#inFlight]);
    await this.#overlap?.discardUnclaimed();
  }

  /**
   * Interrupts: no stage starts (the caller aborted the state machine), nothing more is written or
   * published, the stages in flight end at their next write (or run out of patience), then every
   * day this execution holds is swept and given back. Returns those days.
   */
  interrupt(): Promise<string[]> {
    return this.session.interrupt(() => Promise.race([this.#settled(), new Promise((r) => setTimeout(r, INTERRUPT_PATIENCE_MS).unref())]));
  }

  /** Follows the execution's events: each day's verdict as it comes, and any state's output over the payload limit. */
  async #watch(events: AsyncIterable<{ type: string; state?: { name: string; input?: unknown; output?: unknown } }>, abort: () => void): Promise<void> {
    for await (const event of events) {
      if (event.type !== 'StateExited' || !event.state) continue;
      if (this.#overLimit === undefined) {
        this.#overLimit = outputOverLimit(event.state.name, event.state.output);
        if (this.#overLimit) abort();
      }
      if (event.state.name !== 'DayPassed' && event.state.name !== 'DayFailed') continue;
      // A failed day's entry holds only its date; its error is in the DayFailed state's input.
      const failure = (event.state.input as { error?: { Error?: string; Cause?: unknown } }).error;
      const day = { ...(event.state.output as DayResult), ...(failure && { error: failure.Error, cause: String(failure.Cause ?? '') }) };
      this.days.finished(day.date);
      if (!this.#reported.has(day.date)) {
        this.#reported.set(day.date, day);
        this.options.onDay?.(this.days.outcomeOf(day));
      }
    }
  }

  /** Executes the definition for `input` (`{date}` or `{from,to}`, optional `mode`). */
  async run(input: Record<string, unknown>): Promise<LocalExecutionResult> {
    try {
      return await this.#run(input);
    } finally {
      await this.#threads?.close();
    }
  }

  async #run(input: Record<string, unknown>): Promise<LocalExecutionResult> {
    const { options } = this;
    const handlers = await this.#handlers();
    const definition = loadDefinition({ backfillConcurrency: options.concurrency, rangeConcurrency: options.rangeConcurrency });
    // The definition is the stack's own, validated by aws-local-stepfunctions in the test that
    // checks it equals the synthesis; validating it again on every run costs a schema compile.
    const machine = new StateMachine(withLambdaTimeouts(definition) as never, { validationOptions: { noValidate: true } });
    const retryIntervalOverrides =
      options.retryIntervalMs === undefined ? undefined : Object.fromEntries(STAGE_LIST.map((spec) => [spec.state, options.retryIntervalMs!]));
    const execution = machine.run(input as never, {
      context: localExecutionContext(input, options.executionName),
      overrides: { taskResourceLocalHandlers: handlers as never, retryIntervalOverrides },
    });
    const interrupted = new Promise<readonly string[]>((resolve) => {
      const stop = () => {
        execution.abort();
        void this.interrupt().then(resolve);
      };
      if (options.signal?.aborted) stop();
      else options.signal?.addEventListener('abort', stop, { once: true });
    });
    const watch = this.#watch(execution.eventLogs as never, () => execution.abort());
    try {
      const output = (await execution.result) as { days: DayResult[] };
      await this.#settled();
      await watch.catch(() => undefined);
      return this.#overLimitResult() ?? { status: 'SUCCEEDED', outcomes: this.days.outcomes(output.days) };
    } catch (error) {
      const aborted = error instanceof ExecutionAbortedError || options.signal?.aborted === true;
      if (!aborted) await this.#settled();
      await watch.catch(() => undefined);
      const overLimit = this.#overLimitResult();
      if (overLimit) return overLimit;
      if (aborted) return this.#abortedResult(await interrupted);
      if (!(error instanceof ExecutionError)) throw error;
      return this.#failedResult(definition, error);
    }
  }

  #overLimitResult(): LocalExecutionResult | undefined {
    return this.#overLimit && { status: 'FAILED', outcomes: this.days.outcomes([...this.#reported.values()]), ...this.#overLimit };
  }

  /** Stopped by the signal: the days in flight were given back by their own stage's failure or by the sweep after it. */
  #abortedResult(givenBack: readonly string[]): LocalExecutionResult {
    const dates = this.days.dates;
    const interrupted = [...new Set([...givenBack, ...dates.filter((date) => !this.#reported.has(date))])].sort();
    const outcomes = [...dates]
      .sort()
      .map((date) => this.days.outcomeOf(this.#reported.get(date) ?? { date, status: 'failed', error: 'Interrupted', cause: 'stopped by the user' }));
    return { status: 'ABORTED', outcomes, interrupted };
  }

  /** Failed: a Fail state (days failed, bad input) or a state's error; the failed days with their errors. */
  #failedResult(definition: AslDefinition, error: ExecutionError): LocalExecutionResult {
    const cause = (error as { cause?: { name?: string; message?: string } }).cause;
    const name = cause?.name ?? 'ExecutionFailed';
    const message = cause?.message ?? error.message;
    const tooLong = failCauseOverLimit(definition, name, message);
    if (tooLong) return { status: 'FAILED', outcomes: this.days.outcomes([...this.#reported.values()]), ...tooLong };
    let failed: DayResult[] = [];
    if (name === DAYS_FAILED_ERROR) {
      try {
        failed = failedDaysOf(message).map((date) => this.#reported.get(date) ?? { date, status: 'failed', error: name });
      } catch {
        failed = [];
      }
    }
    const failedDates = new Set(failed.map((d) => d.date));
    // A day that reported nothing when some days' outcome is unknown failed with the execution.
    const unreported = (date: string): DayResult =>
      name === DAYS_UNREPORTED_ERROR ? { date, status: 'failed', error: name, cause: message } : { date, status: 'passed' };
    const passed = [...new Set([...this.days.dates, ...this.#reported.keys()])]
      .filter((date) => !failedDates.has(date))
      .map((date): DayResult => this.#reported.get(date) ?? unreported(date));
    const failures = failed.map((d) => ({ date: d.date, error: d.error ?? name, cause: d.cause ?? '' }));
    return { status: 'FAILED', outcomes: this.days.outcomes([...passed, ...failed]), error: name, cause: message, failures };
  }
}

/** Executes the definition for `input` (`{date}` or `{from,to}`, optional `mode`) in a new `LocalExecution`. */
export function runLocalExecution(config: Config, input: Record<string, unknown>, options: LocalExecutionOptions): Promise<LocalExecutionResult> {
  return new LocalExecution(config, options).run(input);
}

export { causeMessage };
