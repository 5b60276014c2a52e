/**
 * Runs the state machine definition that the CDK stack deploys, in this process, with
 * aws-local-stepfunctions: each Task state is mapped by name (the registry's `state`) to its
 * stage, run with `runStage` under the day's lease as its Lambda would run it. `etl run`,
 * `etl backfill`, `npm start`, the tests and the benchmark all go through here, so local runs and
 * the cloud share one definition (retries, catches, the Maps' concurrency, input checks).
 */
import { randomUUID } from 'node:crypto';
import { ExecutionAbortedError, ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import { requireDatabaseUrl, type Config } from '../core/config.js';
import type { LogLevel } from '@aws-lambda-powertools/logger/types';
import { ReadableLogger } from '../core/log.js';
import { releaseHeldLeases } from '../lake/lease.js';
import { openStore } from '../lake/open.js';
import { ensureNotInterrupted, interruptPublishing } from '../lake/publish.js';
import { STAGING_ROOT } from '../lake/layout.js';
import { PartitionBusyError } from '../core/errors.js';
import { UNFINISHED_WRITE_AGE_MS, type ObjectStore } from '../lake/store.js';
import { withClient } from '../source/connect.js';
import type { RunPlan, RunReason, SkipReason, TransformOutput, ValidateOutput } from './contracts.js';
import { causeMessage, DATA_LIMIT_EXCEEDED, DAYS_FAILED_ERROR, failedDaysOf, loadDefinition, STEP_FUNCTIONS_LIMITS, type AslDefinition } from './definition.js';
import { loadStage } from './implementations.js';
import { runStage } from './stage.js';
import { STAGE_LIST, STAGES } from './stages.js';

/** How one day of an execution went, as the CLI's progress lines and summary table show it. */
export interface DayOutcome {
  readonly date: string;
  readonly verdict: 'passed' | 'failed' | 'skipped';
  readonly sourceRows?: number;
  readonly writtenRows?: number;
  readonly quarantined?: number;
  readonly files?: number;
  readonly bytes?: number;
  /** From the day's first stage starting to its last one ending; unknown for a remote execution (printed as -). */
  readonly seconds?: number;
  readonly error?: string;
  readonly note?: string;
  /** How long the publish let a glob reader see old and new files together (`publishPartition`). */
  readonly publishWindowMs?: number;
  /** Why the day ran, or was left alone (a day of the schedule's lookback that is current), from the plan. */
  readonly reason?: { readonly kind: RunReason | SkipReason; readonly detail?: string };
}

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
  readonly handlers?: Partial<Record<string, (own: (input: unknown) => Promise<unknown>) => (input: unknown) => Promise<unknown>>>;
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
   * every day this process holds is swept of its run's leftovers and given back.
   */
  readonly signal?: AbortSignal;
  /** Told when a day waits for another run that holds it (who, until when), before each retry. */
  readonly onBusy?: (date: string, holder: string) => void;
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

/** What the day's stages returned so far, by the first hour of each range (a retry replaces its range's entry). */
interface DayRecord {
  started: number;
  finished?: number;
  sourceRows: Map<number, number>;
  written: Map<number, TransformOutput>;
  validate?: ValidateOutput;
}

function sum(values: Iterable<number>): number | undefined {
  let total: number | undefined;
  for (const value of values) total = (total ?? 0) + value;
  return total;
}

type DayResult = { date: string; status: 'passed' | 'failed'; error?: string; cause?: string };
type TaskHandler = (input: unknown) => Promise<unknown>;

/** A day that failed and the error it failed with, from its `DayFailed` state's input. */
export interface DayFailure {
  readonly date: string;
  readonly error: string;
  readonly cause: string;
}

/** The error Step Functions fails an execution with when a state's output passes its limit, or undefined. */
function outputOverLimit(state: string, output: unknown): { error: string; cause: string } | undefined {
  const bytes = Buffer.byteLength(JSON.stringify(output ?? null));
  if (bytes <= STEP_FUNCTIONS_LIMITS.payloadBytes) return undefined;
  return {
    error: DATA_LIMIT_EXCEEDED,
    cause: `The state/task '${state}' returned a result with a size exceeding the maximum number of bytes service limit (${bytes} > ${STEP_FUNCTIONS_LIMITS.payloadBytes}).`,
  };
}

/** The errors the definition's Fail states fail with (their cause has a limit of its own). */
function failStateErrors(definition: AslDefinition): Set<string> {
  return new Set(
    Object.values(definition.States)
      .filter((state) => state.Type === 'Fail' && typeof state.Error === 'string')
      .map((state) => state.Error as string),
  );
}

/**
 * The lake as the stages of an interruptible run use it: once the run is interrupted, no new data
 * file, staged table or quarantine object is started (`InterruptedError`), so the stages in flight
 * stop at their next write and nothing lands after the sweep.
 */
function stopsWritingWhenInterrupted(store: ObjectStore): ObjectStore {
  return {
    location: store.location,
    putObject: (key, body, options) => {
      if (key.startsWith(STAGING_ROOT)) ensureNotInterrupted();
      return store.putObject(key, body, options);
    },
    upload: (key, body, contentType) => {
      ensureNotInterrupted();
      return store.upload(key, body, contentType);
    },
    getObject: (key) => store.getObject(key),
    readStream: (key) => store.readStream(key),
    readRange: (key, start, end) => store.readRange(key, start, end),
    head: (key) => store.head(key),
    list: (prefix) => store.list(prefix),
    deleteObjects: (keys) => store.deleteObjects(keys),
    promote: (from, to) => store.promote(from, to),
    sweepTemporaryFiles: store.sweepTemporaryFiles ? (age) => store.sweepTemporaryFiles!(age) : undefined,
  };
}

/** The task handlers of every stage in the registry, keyed by state name, run as their Lambdas run them. */
async function stageHandlers(config: Config, options: Pick<LocalExecutionOptions, 'store' | 'logLine' | 'logLevel'>): Promise<Record<string, TaskHandler>> {
  const lake = await (options.store ?? openStore(config));
  // Temporary files of writes a killed run left on a local disk (the rest it left, the next run of its day sweeps).
  await lake.sweepTemporaryFiles?.(UNFINISHED_WRITE_AGE_MS);
  const store = stopsWritingWhenInterrupted(lake);
  const withSource = <T>(work: Parameters<typeof withClient<T>>[1]) => withClient(requireDatabaseUrl(config), work);
  const handlers: Record<string, TaskHandler> = {};
  for (const spec of STAGE_LIST) {
    const stage = await loadStage(spec.key);
    handlers[spec.state] = (event) =>
      runStage(stage, event, { config, log: new ReadableLogger(spec.name, options.logLine, options.logLevel), store, withSource }, { ttlMs: config.lockTtlMs });
  }
  return handlers;
}

/** Executes the definition for `input` (`{date}` or `{from,to}`, optional `mode`). */
export async function runLocalExecution(config: Config, input: Record<string, unknown>, options: LocalExecutionOptions): Promise<LocalExecutionResult> {
  const records = new Map<string, DayRecord>();
  const record = (date: string) => {
    let r = records.get(date);
    if (!r) {
      r = { started: performance.now(), sourceRows: new Map(), written: new Map() };
      records.set(date, r);
    }
    return r;
  };
  const own = await stageHandlers(config, options);
  const dateOf = (event: unknown) => String((event as { date?: unknown })?.date);
  let plan: RunPlan | undefined;
  const observed: Record<string, TaskHandler> = {
    ...own,
    [STAGES.plan.state]: async (e) => {
      plan = (await own[STAGES.plan.state](e)) as RunPlan;
      return plan;
    },
    [STAGES.planDay.state]: async (e) => {
      record(dateOf(e)).started = performance.now();
      try {
        return await own[STAGES.planDay.state](e);
      } catch (error) {
        if (error instanceof PartitionBusyError) options.onBusy?.(dateOf(e), error.message);
        throw error;
      }
    },
    [STAGES.extract.state]: async (e) => {
      const staged = (await own[STAGES.extract.state](e)) as { hours: { from: number }; sourceCount: number };
      record(dateOf(e)).sourceRows.set(staged.hours.from, staged.sourceCount);
      return staged;
    },
    [STAGES.transformWrite.state]: async (e) => {
      const written = (await own[STAGES.transformWrite.state](e)) as TransformOutput;
      record(dateOf(e)).written.set(written.hours.from, written);
      return written;
    },
    [STAGES.validate.state]: async (e) => {
      const published = (await own[STAGES.validate.state](e)) as ValidateOutput;
      record(dateOf(e)).validate = published;
      return published;
    },
  };
  const handlers: Record<string, TaskHandler> = { ...observed };
  for (const [state, wrap] of Object.entries(options.handlers ?? {})) if (wrap) handlers[state] = wrap(observed[state]);
  const inFlight = new Set<Promise<unknown>>();
  for (const [state, handler] of Object.entries(handlers)) {
    handlers[state] = (event) => {
      const work = handler(event);
      inFlight.add(work);
      return work.finally(() => inFlight.delete(work));
    };
  }
  const outcomeOf = (day: DayResult): DayOutcome => {
    const r = records.get(day.date);
    const v = r?.validate;
    const planned = plan?.reasons?.find((p) => p.date === day.date);
    return {
      date: day.date,
      verdict: day.status,
      sourceRows: v?.sourceCount ?? sum(r?.sourceRows.values() ?? []),
      writtenRows: v?.rows ?? sum([...(r?.written.values() ?? [])].map((w) => w.metrics.rows)),
      quarantined: v?.quarantined ?? sum([...(r?.written.values() ?? [])].map((w) => w.metrics.quarantined)),
      files: v?.files ?? sum([...(r?.written.values() ?? [])].map((w) => w.files.length)),
      bytes: v?.bytes,
      seconds: r ? ((r.finished ?? performance.now()) - r.started) / 1000 : 0,
      error: day.status === 'failed' ? `${day.error}: ${causeMessage(day.cause)}` : undefined,
      note: v && v.warnings.length > 0 ? `${v.warnings.length} warning(s)` : undefined,
      publishWindowMs: v?.publishWindowMs,
      reason: planned ? { kind: planned.kind, detail: planned.detail } : { kind: 'requested' },
    };
  };
  // The days of the schedule's lookback the plan left alone, beside the days that ran.
  const withSkipped = (outcomes: DayOutcome[]): DayOutcome[] =>
    [...outcomes, ...(plan?.skipped ?? []).map((s): DayOutcome => ({ date: s.date, verdict: 'skipped', reason: { kind: s.kind, detail: s.detail } }))].sort(
      (a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0),
    );

  const definition = loadDefinition({ backfillConcurrency: options.concurrency, rangeConcurrency: options.rangeConcurrency });
  // The definition is the stack's own, validated by aws-local-stepfunctions in the test that
  // checks it equals the synthesis; validating it again on every run costs a schema compile.
  const machine = new StateMachine(definition as never, { validationOptions: { noValidate: true } });
  const retryIntervalOverrides =
    options.retryIntervalMs === undefined ? undefined : Object.fromEntries(STAGE_LIST.map((spec) => [spec.state, options.retryIntervalMs!]));
  const execution = machine.run(input as never, {
    context: localExecutionContext(input, options.executionName),
    overrides: { taskResourceLocalHandlers: handlers as never, retryIntervalOverrides },
  });
  const interrupted = new Promise<readonly string[]>((resolve) => {
    const stop = async () => {
      execution.abort();
      // No write starts any more; a publish in flight commits or gives up; the stages in flight end
      // at their next write (or run out of patience); then every day this process holds is swept and given back.
      const settled = interruptPublishing().then(() => Promise.allSettled([...inFlight]));
      await Promise.race([settled, new Promise((r) => setTimeout(r, INTERRUPT_PATIENCE_MS).unref())]);
      resolve(await releaseHeldLeases());
    };
    if (options.signal?.aborted) void stop();
    else options.signal?.addEventListener('abort', () => void stop(), { once: true });
  });
  const reported = new Map<string, DayResult>();
  // Step Functions fails an execution whose state returns more than its limit, whatever it would do next.
  let overLimit: { error: string; cause: string } | undefined;
  const watch = (async () => {
    for await (const event of execution.eventLogs) {
      if (event.type !== 'StateExited') continue;
      if (overLimit === undefined) {
        overLimit = outputOverLimit(event.state.name, event.state.output);
        if (overLimit) execution.abort();
      }
      if (event.state.name !== 'DayPassed' && event.state.name !== 'DayFailed') continue;
      // A failed day's entry holds only its date; its error is in the DayFailed state's input.
      const failure = (event.state.input as { error?: { Error?: string; Cause?: unknown } }).error;
      const day = { ...(event.state.output as DayResult), ...(failure && { error: failure.Error, cause: String(failure.Cause ?? '') }) };
      const r = records.get(day.date);
      if (r && r.finished === undefined) r.finished = performance.now();
      if (!reported.has(day.date)) {
        reported.set(day.date, day);
        options.onDay?.(outcomeOf(day));
      }
    }
  })();

  // Stages still in flight when the execution ended (a Map's other iterations after one failed)
  // finish before the outcome is told, as their Lambdas would finish after the execution.
  const settled = async () => {
    await Promise.allSettled([...inFlight]);
  };
  try {
    const output = (await execution.result) as { days: DayResult[] };
    await settled();
    await watch.catch(() => undefined);
    if (overLimit) return { status: 'FAILED', outcomes: withSkipped([...reported.values()].map(outcomeOf)), ...overLimit };
    return { status: 'SUCCEEDED', outcomes: withSkipped(output.days.map(outcomeOf)) };
  } catch (error) {
    if (!(error instanceof ExecutionAbortedError || options.signal?.aborted)) await settled();
    await watch.catch(() => undefined);
    if (overLimit) return { status: 'FAILED', outcomes: withSkipped([...reported.values()].map(outcomeOf)), ...overLimit };
    if (error instanceof ExecutionAbortedError || options.signal?.aborted) {
      // The days in flight: given back by their own stage's failure or by the sweep after it.
      const days = [...new Set([...(await interrupted), ...[...records.keys()].filter((date) => !reported.has(date))])].sort();
      const outcomes = [...records.keys()]
        .sort()
        .map((date) => outcomeOf(reported.get(date) ?? { date, status: 'failed', error: 'Interrupted', cause: 'stopped by the user' }));
      return { status: 'ABORTED', outcomes, interrupted: days };
    }
    if (!(error instanceof ExecutionError)) throw error;
    const cause = (error as { cause?: { name?: string; message?: string } }).cause;
    const name = cause?.name ?? 'ExecutionFailed';
    const message = cause?.message ?? error.message;
    if (failStateErrors(definition).has(name) && message.length > STEP_FUNCTIONS_LIMITS.causeChars) {
      const tooLong = `The cause of the Fail state's error ${name} has ${message.length} characters, over the limit of ${STEP_FUNCTIONS_LIMITS.causeChars}.`;
      return { status: 'FAILED', outcomes: withSkipped([...reported.values()].map(outcomeOf)), error: DATA_LIMIT_EXCEEDED, cause: tooLong };
    }
    let failed: DayResult[] = [];
    if (name === DAYS_FAILED_ERROR) {
      try {
        failed = failedDaysOf(message).map((date) => reported.get(date) ?? { date, status: 'failed', error: name });
      } catch {
        failed = [];
      }
    }
    const failedDates = new Set(failed.map((d) => d.date));
    const passed = [...new Set([...records.keys(), ...reported.keys()])]
      .filter((date) => !failedDates.has(date))
      .map((date): DayResult => reported.get(date) ?? { date, status: 'passed' });
    const outcomes = [...passed, ...failed].map(outcomeOf).sort((a, b) => (a.date < b.date ? -1 : 1));
    const failures = failed.map((d) => ({ date: d.date, error: d.error ?? name, cause: d.cause ?? '' }));
    return { status: 'FAILED', outcomes: withSkipped(outcomes), error: name, cause: message, failures };
  }
}

export { causeMessage };
