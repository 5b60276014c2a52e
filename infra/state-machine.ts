/**
 * The pipeline's Amazon States Language, built with CDK:
 *
 *   Plan ─▶ Days (Distributed Map over the planned dates, at most `backfillConcurrency` at once)
 *             └─ per date: PlanDay ─▶ HourRanges ─▶ Validate ─▶ DayPassed
 *                                     └─ per hour range of the day (one range unless the day is
 *                                        too big for one invocation; at most `rangeConcurrency`
 *                                        at once): Extract ─▶ TransformWrite
 *                          any error left after the retries ─▶ ReleaseDay ─▶ DayFailed
 *                          (PlanDay gives its lock back itself, so its errors go to DayFailed)
 *        ─▶ CheckDays ─▶ Done (every day passed)
 *                    └▶ CountDays ─▶ ChooseDaysList ─▶ ListFailedDays | ListPassedDays | AllDaysFailed
 *                         ─▶ DescribeDaysFailed ─▶ DaysFailed (error `DaysFailed`, cause `DaysFailedCause`)
 *
 * Within Step Functions' limits (`STEP_FUNCTIONS_LIMITS`) however many days fail: a day's entry in
 * the Map's result has a fixed size (its error stays in its own execution), and the cause lists the
 * shorter of the failed and the passed days.
 *
 * Task states are matched by NAME when the definition runs locally (`aws-local-stepfunctions`
 * maps each to the in-process handler), so the names in `TASK_STATES` are part of the contract.
 */
import { Duration } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import {
  Choice,
  Condition,
  DistributedMap,
  Errors,
  Fail,
  JitterType,
  JsonPath,
  Map as InlineMap,
  Pass,
  StateMachineType,
  Succeed,
  TaskInput,
  type IChainable,
  type RetryProps,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { DEFAULTS } from '../src/core/config.js';
import { PartitionBusyError, PreconditionFailedError, SourceUnavailableError, StoreUnavailableError, TransientError } from '../src/core/errors.js';
import {
  CONCURRENCY_LIMITS,
  DAYS_FAILED_ERROR,
  FLOW_STATES,
  LONGEST_DAYS_FAILED_CAUSE,
  MAX_LISTED_DAYS,
  STEP_FUNCTIONS_LIMITS,
} from '../src/pipeline/definition.js';
import { STAGE_LIST, STAGES, type StageKey } from '../src/pipeline/stages.js';

/** The Lambda task states, by registry key (`src/pipeline/stages.ts` names them). */
export const TASK_STATES = Object.fromEntries(STAGE_LIST.map((spec) => [spec.key, spec.state])) as { readonly [K in StageKey]: (typeof STAGES)[K]['state'] };

/** Every state of the definition, for readers of executions and for tests. */
export const STATE_NAMES = { ...TASK_STATES, ...FLOW_STATES } as const;

export { DAYS_FAILED_ERROR };

/**
 * Errors a later attempt may not see (`TransientError` and its subclasses in `src/core/errors.ts`):
 * an unreachable database or store, throttling, a lost conditional write, a busy partition.
 */
export const TRANSIENT_ERRORS: readonly string[] = [
  TransientError,
  SourceUnavailableError,
  StoreUnavailableError,
  PreconditionFailedError,
  PartitionBusyError,
].map((error) => error.name);

/** Failures of the Lambda service itself, including throttling of the invoke. */
export const LAMBDA_SERVICE_ERRORS: readonly string[] = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'Lambda.ClientExecutionTimeoutException',
];

/**
 * A function that ran out of time or memory: `Sandbox.Timedout`, or `Lambda.Unknown`, which is how
 * Step Functions reports a Lambda timeout or out-of-memory of a function invoked synchronously
 * (`States.Timeout` should a task timeout be added). Tried once more: every stage may run again
 * under its lease (extract re-stages, transform-write writes run-unique files, validate sees a
 * publish it already made); a slow source may recover, a day too big for the limit will not.
 */
export const TIMEOUT_ERRORS: readonly string[] = ['Sandbox.Timedout', 'Lambda.Unknown', Errors.TIMEOUT];

const TRANSIENT_RETRY: RetryProps = {
  errors: [...TRANSIENT_ERRORS],
  interval: Duration.seconds(5),
  backoffRate: 2,
  maxAttempts: 4,
  maxDelay: Duration.minutes(2),
  jitterStrategy: JitterType.FULL,
};

/** How often a run waiting for a busy day asks again. */
export const BUSY_RETRY_INTERVAL_SECONDS = 10;

/**
 * A day another run holds: asked again every `BUSY_RETRY_INTERVAL_SECONDS`, without jitter (which
 * would shorten the wait), for longer than a lease lasts, so a holder that is gone without giving
 * the day back (its lease runs out) never fails the waiting run. A holder provably gone is taken
 * over on the first attempt.
 */
export function busyRetry(lockTtlSeconds: number): RetryProps {
  return {
    errors: [PartitionBusyError.name],
    interval: Duration.seconds(BUSY_RETRY_INTERVAL_SECONDS),
    backoffRate: 1,
    maxAttempts: Math.ceil(lockTtlSeconds / BUSY_RETRY_INTERVAL_SECONDS) + 1,
    jitterStrategy: JitterType.NONE,
  };
}

const SERVICE_RETRY: RetryProps = {
  errors: [...LAMBDA_SERVICE_ERRORS],
  interval: Duration.seconds(2),
  backoffRate: 2,
  maxAttempts: 6,
  maxDelay: Duration.minutes(1),
  jitterStrategy: JitterType.FULL,
};

const TIMEOUT_RETRY: RetryProps = {
  errors: [...TIMEOUT_ERRORS],
  interval: Duration.seconds(30),
  backoffRate: 2,
  maxAttempts: 1,
  jitterStrategy: JitterType.FULL,
};

/** The function of every stage in the registry. */
export type PipelineFunctions = { readonly [K in StageKey]: IFunction };

export interface PipelineDefinitionProps {
  readonly functions: PipelineFunctions;
  /** Most days in flight at once; each holds one database connection while it extracts. */
  readonly backfillConcurrency: number;
  /** Most hour ranges of one day in flight at once (only days cut into ranges have several). */
  readonly rangeConcurrency: number;
  /** The partition lease's length (`PARTITION_LOCK_TTL_SECONDS`): a day's wait for a busy day outlasts it. */
  readonly lockTtlSeconds?: number;
}

function invoke(scope: Construct, key: StageKey, fn: IFunction, comment: string, resultPath?: string): LambdaInvoke {
  return new LambdaInvoke(scope, STAGES[key].state, {
    lambdaFunction: fn,
    comment,
    resultPath,
    // The function's return value is the state output, not the { Payload, StatusCode } envelope.
    payloadResponseOnly: true,
    // Service errors are retried below, with jitter, next to the other retriers.
    retryOnServiceExceptions: false,
  });
}

/**
 * Builds the states of the pipeline in `scope` and returns the chain to give to the state machine.
 *
 * Input: `{ "date": "YYYY-MM-DD" }`, `{ "from": ..., "to": ..., "mode"?: "overwrite" | "append" }`
 * or EventBridge Scheduler's `{ "scheduledTime": "<ISO 8601>" }`; `Plan` checks it and fails the
 * execution with `InputError` before any day starts. Output when every day passed:
 * `{ "days": [{ "date", "status": "passed", "rows" }, ...], "anyFailed": false }`; otherwise it fails with
 * error `DaysFailed` and as cause the JSON of a `DaysFailedCause` (`src/pipeline/definition.ts`).
 */
export function buildPipelineDefinition(scope: Construct, props: PipelineDefinitionProps): IChainable {
  for (const field of ['backfillConcurrency', 'rangeConcurrency'] as const) {
    const { min, max } = CONCURRENCY_LIMITS[field];
    const value = props[field];
    if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${field}: expected an integer from ${min} to ${max}, got ${value}`);
  }
  const { functions } = props;

  const plan = invoke(scope, 'plan', functions.plan, 'Checks the input and turns it into { mode, dates }; bad input fails here with InputError.');
  plan.addRetry(SERVICE_RETRY);

  const snapshot = invoke(
    scope,
    'snapshot',
    functions.snapshot,
    'Copies users and bikes whole, once for the whole execution, checks the copies and publishes them; the plan output passes through.',
    '$.snapshot',
  );
  snapshot.addRetry(TRANSIENT_RETRY).addRetry(SERVICE_RETRY).addRetry(TIMEOUT_RETRY);

  const planDay = invoke(
    scope,
    'planDay',
    functions.planDay,
    'Names the run, takes the partition lease and cuts a day too big for one invocation into hour ranges.',
  );
  const extract = invoke(scope, 'extract', functions.extract, "Copies the range's rows from Postgres into the staging area.");
  const transformWrite = invoke(
    scope,
    'transformWrite',
    functions.transformWrite,
    'Casts the staged range and writes Parquet data files and quarantine lines.',
  );
  const validate = invoke(scope, 'validate', functions.validate, 'Checks the files of every range, writes the report and publishes the partition manifest.');

  // Kept small on purpose: the Map's results travel in the execution (256 KiB at most), so a
  // 10-year backfill must fit; the day's report in the lake has the details.
  const dayPassed = new Pass(scope, STATE_NAMES.dayPassed, {
    comment: 'The day is published; its report is under _reports/ in the lake.',
    parameters: { date: JsonPath.stringAt('$.date'), status: 'passed', rows: JsonPath.numberAt('$.rows') },
  });
  // Its error stays in the day's own execution (its input here): error names and causes have no
  // bound, and 3,660 entries of 41 bytes must fit in the 256 KiB of the Map's output.
  const dayFailed = new Pass(scope, STATE_NAMES.dayFailed, {
    comment: "The day failed for good (terminal error, or retries exhausted); the other days go on. Its error is in this day's execution.",
    parameters: { date: JsonPath.stringAt('$.date'), status: 'failed' },
  });

  planDay.addRetry(busyRetry(props.lockTtlSeconds ?? DEFAULTS.lockTtlSeconds));
  for (const task of [planDay, extract, transformWrite, validate]) {
    task.addRetry(TRANSIENT_RETRY).addRetry(SERVICE_RETRY).addRetry(TIMEOUT_RETRY);
  }

  const hourRanges = new InlineMap(scope, STATE_NAMES.hourRanges, {
    comment: 'Extracts and writes each hour range of the day, at most rangeConcurrency at once; one range unless the day is too big for one invocation.',
    itemsPath: JsonPath.stringAt('$.ranges'),
    itemSelector: {
      date: JsonPath.stringAt('$.date'),
      mode: JsonPath.stringAt('$.mode'),
      owner: JsonPath.stringAt('$.owner'),
      runId: JsonPath.stringAt('$.runId'),
      hours: { from: JsonPath.numberAt('$$.Map.Item.Value.from'), to: JsonPath.numberAt('$$.Map.Item.Value.to') },
    },
    maxConcurrency: props.rangeConcurrency,
    // Beside the plan, so validate gets the run (id, mode, owner, duplicate count) and every range.
    resultPath: '$.written',
  });
  hourRanges.itemProcessor(extract.next(transformWrite));

  const releaseDay = new LambdaInvoke(scope, TASK_STATES.releaseDay, {
    lambdaFunction: functions.releaseDay,
    comment: "Gives the failed day's partition lock back, so another run need not wait for it to expire.",
    payload: TaskInput.fromObject({ date: JsonPath.stringAt('$.date'), runId: JsonPath.stringAt('$.runId') }),
    payloadResponseOnly: true,
    retryOnServiceExceptions: false,
    // The day's error stays the state's content.
    resultPath: JsonPath.DISCARD,
  });
  releaseDay.addRetry(TRANSIENT_RETRY).addRetry(SERVICE_RETRY);
  // Failing to release hides nothing: the lock expires, and the day's own error is what is reported.
  releaseDay.addCatch(dayFailed, { errors: [Errors.ALL], resultPath: '$.releaseError' });
  releaseDay.next(dayFailed);

  // Each state's input carries `date`, so the catch keeps it and adds the error beside it. A range
  // that fails stops the others and fails the day at the Map.
  planDay.addCatch(dayFailed, { errors: [Errors.ALL], resultPath: '$.error' });
  for (const state of [hourRanges, validate]) {
    state.addCatch(releaseDay, { errors: [Errors.ALL], resultPath: '$.error' });
  }

  const days = new DistributedMap(scope, STATE_NAMES.days, {
    comment: 'One child execution per date, at most backfillConcurrency at once.',
    itemsPath: JsonPath.stringAt('$.dates'),
    // owner: the parent execution, so a retried day (a new run) may take over its own partition lock.
    itemSelector: { date: JsonPath.stringAt('$$.Map.Item.Value'), mode: JsonPath.stringAt('$.mode'), owner: JsonPath.stringAt('$$.Execution.Id') },
    maxConcurrency: props.backfillConcurrency,
    // A day can take longer than the 5 minutes an Express child execution may run.
    mapExecutionType: StateMachineType.STANDARD,
    // Wildcards over the (never empty) results only: how an empty filter result is treated differs
    // between Step Functions and aws-local-stepfunctions, so the failed days are filtered only
    // once at least one is known to exist.
    resultSelector: {
      days: JsonPath.listAt('$'),
      anyFailed: JsonPath.arrayContains(JsonPath.listAt('$[*].status'), 'failed'),
    },
  });
  days.itemProcessor(planDay.next(hourRanges).next(validate).next(dayPassed));

  // The cause: counts, the first and last day, and the shorter of the failed and the passed days (at
  // most MAX_LISTED_DAYS dates either way). Filters run only on lists known not to come out empty:
  // Step Functions and aws-local-stepfunctions both fail on an empty filter result.
  const failedDays = "$.dayResults[?(@.status == 'failed')].date";
  const passedDays = "$.dayResults[?(@.status == 'passed')].date";
  if (LONGEST_DAYS_FAILED_CAUSE > STEP_FUNCTIONS_LIMITS.causeChars) {
    throw new Error(
      `a DaysFailed cause may list ${MAX_LISTED_DAYS} days: ${LONGEST_DAYS_FAILED_CAUSE} characters, over the ${STEP_FUNCTIONS_LIMITS.causeChars} of a cause`,
    );
  }
  const countDays = new Pass(scope, STATE_NAMES.countDays, {
    comment: 'Counts the days and the failed days, and finds the first and the last day.',
    parameters: {
      failed: JsonPath.arrayLength(JsonPath.listAt("$.days[?(@.status == 'failed')]")),
      days: JsonPath.arrayLength(JsonPath.listAt('$.days')),
      from: JsonPath.arrayGetItem(JsonPath.listAt('$.days[*].date'), 0),
      // (Intrinsics are typed as strings by the CDK; in the definition they nest as they should.)
      to: JsonPath.arrayGetItem(JsonPath.listAt('$.days[*].date'), JsonPath.mathAdd(JsonPath.arrayLength(JsonPath.listAt('$.days')) as never, -1) as never),
      dayResults: JsonPath.listAt('$.days'),
    },
  });
  const summary = {
    failed: JsonPath.numberAt('$.failed'),
    days: JsonPath.numberAt('$.days'),
    from: JsonPath.stringAt('$.from'),
    to: JsonPath.stringAt('$.to'),
  };
  const listFailedDays = new Pass(scope, STATE_NAMES.listFailedDays, {
    comment: `At most ${MAX_LISTED_DAYS} days failed: lists them.`,
    parameters: { ...summary, failedDays: JsonPath.listAt(failedDays) },
  });
  const listPassedDays = new Pass(scope, STATE_NAMES.listPassedDays, {
    comment: 'More days failed than the cause may list, not all: lists the passed ones (fewer); every other day from..to failed.',
    parameters: { ...summary, passedDays: JsonPath.listAt(passedDays) },
  });
  const allDaysFailed = new Pass(scope, STATE_NAMES.allDaysFailed, {
    comment: 'Every day from..to failed.',
    parameters: summary,
  });
  // The cause is built in a Pass state rather than with an intrinsic in the Fail state's CausePath:
  // both are valid ASL, but aws-local-stepfunctions only resolves plain paths in CausePath.
  const describeDaysFailed = new Pass(scope, STATE_NAMES.describeDaysFailed, {
    comment: 'Turns the summary into the JSON text of the execution failure cause.',
    parameters: { cause: JsonPath.jsonToString(JsonPath.objectAt('$')) },
  });
  const daysFailed = new Fail(scope, STATE_NAMES.daysFailed, {
    comment: "At least one day failed; the cause says which (each day's error is in its execution of the Days map run).",
    error: DAYS_FAILED_ERROR,
    causePath: JsonPath.stringAt('$.cause'),
  });
  describeDaysFailed.next(daysFailed);
  const chooseDaysList = new Choice(scope, STATE_NAMES.chooseDaysList)
    .when(Condition.numberLessThanEquals('$.failed', MAX_LISTED_DAYS), listFailedDays.next(describeDaysFailed))
    .when(Condition.numberEqualsJsonPath('$.failed', '$.days'), allDaysFailed.next(describeDaysFailed))
    .otherwise(listPassedDays.next(describeDaysFailed));
  const done = new Succeed(scope, STATE_NAMES.done, { comment: 'Every day passed.' });
  const checkDays = new Choice(scope, STATE_NAMES.checkDays).when(Condition.booleanEquals('$.anyFailed', true), countDays.next(chooseDaysList)).otherwise(done);

  return plan.next(snapshot).next(days).next(checkDays);
}
