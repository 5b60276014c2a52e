/**
 * Runs the state machine definition that the CDK stack deploys, in this process, with
 * aws-local-stepfunctions: each Task state is mapped by name (the registry's `state`) to its
 * stage, run with `runStage` under the day's lease as its Lambda would run it. `etl run`,
 * `etl backfill`, `npm start`, the tests and the benchmark all go through here, so local runs and
 * the cloud share one definition (retries, catches, the Maps' concurrency, input checks).
 */
import { randomUUID } from 'node:crypto';
import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import { requireDatabaseUrl, type Config } from '../core/config.js';
import { ReadableLogger } from '../core/log.js';
import { openStore } from '../lake/open.js';
import type { ObjectStore } from '../lake/store.js';
import { withClient } from '../source/connect.js';
import type { TransformOutput, ValidateOutput } from './contracts.js';
import { causeMessage, loadDefinition } from './definition.js';
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
  /**
   * The execution's name (default: a new `local-<uuid>`). Its ARN owns the days' leases, so a
   * second execution of the same name stands for a retry of the first (it may take their leases over).
   */
  readonly executionName?: string;
}

export interface LocalExecutionResult {
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly outcomes: DayOutcome[];
  /** Error name and cause when the execution failed (`DaysFailed`, `InputError`, ...). */
  readonly error?: string;
  readonly cause?: string;
}

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

/** The task handlers of every stage in the registry, keyed by state name, run as their Lambdas run them. */
async function stageHandlers(config: Config, options: Pick<LocalExecutionOptions, 'store' | 'logLine'>): Promise<Record<string, TaskHandler>> {
  const store = options.store ?? openStore(config);
  const withSource = <T>(work: Parameters<typeof withClient<T>>[1]) => withClient(requireDatabaseUrl(config), work);
  const handlers: Record<string, TaskHandler> = {};
  for (const spec of STAGE_LIST) {
    const stage = await loadStage(spec.key);
    handlers[spec.state] = (event) =>
      runStage(stage, event, { config, log: new ReadableLogger(spec.name, options.logLine), store, withSource }, { ttlMs: config.lockTtlMs });
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
  const observed: Record<string, TaskHandler> = {
    ...own,
    [STAGES.planDay.state]: async (e) => {
      record(dateOf(e)).started = performance.now();
      return own[STAGES.planDay.state](e);
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
  const outcomeOf = (day: DayResult): DayOutcome => {
    const r = records.get(day.date);
    const v = r?.validate;
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
    };
  };

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
  const reported = new Set<string>();
  const watch = (async () => {
    for await (const event of execution.eventLogs) {
      if (event.type !== 'StateExited' || (event.state.name !== 'DayPassed' && event.state.name !== 'DayFailed')) continue;
      const day = event.state.output as DayResult;
      const r = records.get(day.date);
      if (r && r.finished === undefined) r.finished = performance.now();
      if (!reported.has(day.date)) {
        reported.add(day.date);
        options.onDay?.(outcomeOf(day));
      }
    }
  })();

  try {
    const output = (await execution.result) as { days: DayResult[] };
    await watch.catch(() => undefined);
    return { status: 'SUCCEEDED', outcomes: output.days.map(outcomeOf) };
  } catch (error) {
    await watch.catch(() => undefined);
    if (!(error instanceof ExecutionError)) throw error;
    const cause = (error as { cause?: { name?: string; message?: string } }).cause;
    const name = cause?.name ?? 'ExecutionFailed';
    const message = cause?.message ?? error.message;
    let failed: DayResult[] = [];
    if (name === 'DaysFailed') {
      try {
        failed = JSON.parse(message) as DayResult[];
      } catch {
        failed = [];
      }
    }
    const failedDates = new Set(failed.map((d) => d.date));
    const passed = [...records.keys()].filter((date) => !failedDates.has(date)).map((date) => ({ date, status: 'passed' as const }));
    const outcomes = [...passed, ...failed].map(outcomeOf).sort((a, b) => (a.date < b.date ? -1 : 1));
    return { status: 'FAILED', outcomes, error: name, cause: message };
  }
}

export { causeMessage };
