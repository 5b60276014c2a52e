/**
 * Runs the state machine definition that the CDK stack deploys, in this process, with
 * aws-local-stepfunctions: each Task state is mapped by name to the handler module its Lambda
 * runs. `etl run`, `etl backfill` and `npm start` all go through here, so local runs and the
 * cloud share one definition (retries, catches, the Map's concurrency, input checks).
 */
import { randomUUID } from 'node:crypto';
import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import { createExtractHandler } from './extract/handler.js';
import { createPlanHandler } from './plan/handler.js';
import { createPlanDayHandler } from './plan-day/handler.js';
import { createReleaseDayHandler } from './release-day/handler.js';
import { createTransformWriteHandler } from './transform-write/handler.js';
import { createValidateHandler } from './validate/handler.js';
import { synthesizeDefinition, TASK_STATES } from '../../infra/definition.js';
import type { Config } from '../core/config.js';
import { ReadableLogger } from '../core/log.js';
import type { TransformResult } from './transform-write/transform.js';
import type { ValidateResult } from './validate/validate.js';
import type { DayOutcome } from '../../cli/summary.js';

/**
 * The context object a local execution sees (`$$.Execution.Id` names the partition lock's owner),
 * shaped like a Step Functions execution of the stack's state machine.
 */
export function localExecutionContext(input: unknown = {}): { Execution: { Id: string; Name: string; StartTime: string; Input: never } } {
  const name = `local-${randomUUID()}`;
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
  /** Replaces the handler of a task state (fault injection in tests). */
  readonly handlers?: Partial<Record<(typeof TASK_STATES)[keyof typeof TASK_STATES], (input: unknown) => Promise<unknown>>>;
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
  sourceRows: Map<number, number>;
  written: Map<number, TransformResult>;
  validate?: ValidateResult;
}

function sum(values: Iterable<number>): number | undefined {
  let total: number | undefined;
  for (const value of values) total = (total ?? 0) + value;
  return total;
}

type DayResult = { date: string; status: 'passed' | 'failed'; error?: string; cause?: string };

/** Executes the definition for `input` (`{date}` or `{from,to}`, optional `mode`). */
export async function runLocalExecution(config: Config, input: Record<string, unknown>, options: LocalExecutionOptions): Promise<LocalExecutionResult> {
  const records = new Map<string, DayRecord>();
  const record = (date: string) => {
    let r = records.get(date);
    if (!r) records.set(date, (r = { started: performance.now(), sourceRows: new Map(), written: new Map() }));
    return r;
  };
  const plan = createPlanHandler(config, () => new ReadableLogger('plan'));
  const planDay = createPlanDayHandler(config, () => new ReadableLogger('plan-day'));
  const extract = createExtractHandler(config, () => new ReadableLogger('extract'));
  const transform = createTransformWriteHandler(config, () => new ReadableLogger('transform-write'));
  const validate = createValidateHandler(config, () => new ReadableLogger('validate'));
  const releaseDay = createReleaseDayHandler(config, () => new ReadableLogger('release-day'));
  const dateOf = (event: unknown) => String((event as { date?: unknown })?.date);
  const handlers: Record<string, (input: unknown) => Promise<unknown>> = {
    Plan: (e) => plan(e),
    PlanDay: async (e) => {
      const r = record(dateOf(e));
      r.started = performance.now();
      return planDay(e);
    },
    Extract: async (e) => {
      const staged = await extract(e);
      record(dateOf(e)).sourceRows.set(staged.hours.from, staged.sourceCount);
      return staged;
    },
    TransformWrite: async (e) => {
      const written = await transform(e);
      record(dateOf(e)).written.set(written.hours.from, written);
      return written;
    },
    Validate: async (e) => (record(dateOf(e)).validate = await validate(e)),
    ReleaseDay: (e) => releaseDay(e),
    ...options.handlers,
  };
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
      seconds: r ? (performance.now() - r.started) / 1000 : 0,
      error: day.status === 'failed' ? `${day.error}: ${causeMessage(day.cause)}` : undefined,
      note: v && v.warnings.length > 0 ? `${v.warnings.length} warning(s)` : undefined,
    };
  };

  const definition = synthesizeDefinition({ backfillConcurrency: options.concurrency, rangeConcurrency: options.rangeConcurrency });
  const machine = new StateMachine(definition as never, {
    validationOptions: { checkArn: false, checkPaths: false },
  });
  const retryIntervalOverrides =
    options.retryIntervalMs === undefined ? undefined : Object.fromEntries(Object.values(TASK_STATES).map((name) => [name, options.retryIntervalMs!]));
  const execution = machine.run(input as never, {
    context: localExecutionContext(input),
    overrides: { taskResourceLocalHandlers: handlers as never, retryIntervalOverrides },
  });
  const reported = new Set<string>();
  const watch = (async () => {
    for await (const event of execution.eventLogs) {
      if (event.type !== 'StateExited' || (event.state.name !== 'DayPassed' && event.state.name !== 'DayFailed')) continue;
      const day = event.state.output as DayResult;
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

/** The readable part of a task failure's cause (Lambda's JSON in AWS, the message locally). */
export function causeMessage(cause: string | undefined): string {
  if (!cause) return '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: string };
    return parsed.errorMessage ?? cause;
  } catch {
    return cause;
  }
}
