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
import { IcebergCommitConflictError } from '../src/lake/iceberg/commit.js';
import { MetadataGoneError } from '../src/lake/iceberg/file-catalog.js';
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
  DAYS_UNREPORTED_ERROR,
  FLOW_STATES,
  LONGEST_DAYS_FAILED_CAUSE,
  MAX_LISTED_DAYS,
  SNAPSHOT_FAILED_ERROR,
  STEP_FUNCTIONS_LIMITS,
} from '../src/pipeline/definition.js';
import { STAGE_LIST, STAGES, type StageKey } from '../src/pipeline/stages.js';

/** The Lambda task states, by registry key (`src/pipeline/stages.ts` names them). */
export const TASK_STATES = Object.fromEntries(STAGE_LIST.map((spec) => [spec.key, spec.state])) as { readonly [K in StageKey]: (typeof STAGES)[K]['state'] };

/** Every state of the definition, for readers of executions and for tests. */
export const STATE_NAMES = { ...TASK_STATES, ...FLOW_STATES } as const;

export { DAYS_FAILED_ERROR, DAYS_UNREPORTED_ERROR, SNAPSHOT_FAILED_ERROR };

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
  IcebergCommitConflictError,
  MetadataGoneError,
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

/**
 * Throttling of the invoke of a stage that holds a database connection: its function's reserved
 * concurrency caps the connections, so a third execution's days are throttled while the others'
 * extracts and snapshots run for minutes. They wait rather than fail: the retries' longest total
 * wait is twice the longest database stage's timeout (full jitter waits about half of it).
 */
export const THROTTLE_RETRY: RetryProps = (() => {
  const longest = Math.max(...STAGE_LIST.filter((spec) => spec.needs.database).map((spec) => spec.lambda.timeoutSeconds));
  const intervalSeconds = 5;
  const maxDelaySeconds = 120;
  let attempts = 0;
  for (let waited = 0; waited < 2 * longest; attempts++) waited += Math.min(maxDelaySeconds, intervalSeconds * 2 ** attempts);
  return {
    errors: ['Lambda.TooManyRequestsException'],
    interval: Duration.seconds(intervalSeconds),
    backoffRate: 2,
    maxAttempts: attempts,
    maxDelay: Duration.seconds(maxDelaySeconds),
    jitterStrategy: JitterType.FULL,
  };
})();

/**
 * The most an execution may run (`TimeoutSeconds`), so one stuck for good ends as TimedOut and its
 * alarm fires: three days, well above a ten-year backfill at the default concurrency (3,660 days, 4
 * at a time, a few minutes each: about two days). A longer backfill is split, or runs more days at once.
 */
export const EXECUTION_TIMEOUT = Duration.hours(72);

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

function invoke(scope: Construct, key: StageKey, fn: IFunction, comment: string, resultPath?: string, resultSelector?: Record<string, unknown>): LambdaInvoke {
  return new LambdaInvoke(scope, STAGES[key].state, {
    lambdaFunction: fn,
    comment,
    resultPath,
    resultSelector,
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
  // Plan only reads (the lookback's manifests and counts), so any attempt may run again; bad input is terminal, not retried.
  plan.addRetry(THROTTLE_RETRY).addRetry(TRANSIENT_RETRY).addRetry(SERVICE_RETRY).addRetry(TIMEOUT_RETRY);

  const snapshot = invoke(
    scope,
    'snapshot',
    functions.snapshot,
    'Copies users and bikes whole, once for the whole execution, checks the copies and publishes them; the plan output passes through.',
    '$.snapshot',
    { status: 'published' },
  );
  snapshot.addRetry(THROTTLE_RETRY).addRetry(TRANSIENT_RETRY).addRetry(SERVICE_RETRY).addRetry(TIMEOUT_RETRY);

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
  for (const [key, task] of [
    ['planDay', planDay],
    ['extract', extract],
    ['transformWrite', transformWrite],
    ['validate', validate],
  ] as const) {
    if (STAGES[key].needs.database) task.addRetry(THROTTLE_RETRY);
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
    // A day catches its own errors (DayFailed); a child execution can still fail outright (States.Runtime,
    // a data limit, stopped by hand). It must not stop the other days: its entry is missing from the
    // results, which TallyDays notices by counting.
    toleratedFailurePercentage: 100,
    // Wildcards over the (never empty) results only: how an empty filter result is treated differs
    // between Step Functions and aws-local-stepfunctions, so the failed days are filtered only
    // once at least one is known to exist.
    resultSelector: {
      days: JsonPath.listAt('$'),
      anyFailed: JsonPath.arrayContains(JsonPath.listAt('$[*].status'), 'failed'),
    },
    // Beside the plan: the planned dates are what the results are counted against.
    resultPath: '$.outcome',
  });
  days.itemProcessor(planDay.next(hourRanges).next(validate).next(dayPassed));

  // A failed snapshot does not stop the days: they run against the snapshot published before, and
  // the execution reports the failure at the end (SnapshotFailed, or inside a DaysFailed cause).
  const noteSnapshotFailed = new Pass(scope, STATE_NAMES.noteSnapshotFailed, {
    comment: 'The snapshot failed for good: the days run against the published one; the failure is reported at the end.',
    parameters: {
      mode: JsonPath.stringAt('$.mode'),
      dates: JsonPath.listAt('$.dates'),
      snapshot: { status: 'failed', error: JsonPath.stringAt('$.snapshotError.Error') },
    },
  });
  snapshot.addCatch(noteSnapshotFailed, { errors: [Errors.ALL], resultPath: '$.snapshotError' });
  noteSnapshotFailed.next(days);

  const lastDate = JsonPath.arrayGetItem(JsonPath.listAt('$.dates'), JsonPath.mathAdd(JsonPath.arrayLength(JsonPath.listAt('$.dates')) as never, -1) as never);
  const tallyDays = new Pass(scope, STATE_NAMES.tallyDays, {
    comment: 'Counts the days planned and the days the Map reported (a child execution that failed outright reports none).',
    parameters: {
      outcome: JsonPath.objectAt('$.outcome'),
      planned: JsonPath.arrayLength(JsonPath.listAt('$.dates')),
      reported: JsonPath.arrayLength(JsonPath.listAt('$.outcome.days')),
      from: JsonPath.arrayGetItem(JsonPath.listAt('$.dates'), 0),
      to: lastDate,
      snapshot: JsonPath.objectAt('$.snapshot'),
    },
  });

  // Days whose outcome is unknown: the Map failed as a whole (its Catch), or some child executions
  // failed outright. The cause says how many; the Map Run lists the failed child executions.
  const describeDaysUnreported = new Pass(scope, STATE_NAMES.describeDaysUnreported, {
    comment: 'Turns the count of unreported days into the JSON text of the execution failure cause.',
    parameters: { cause: JsonPath.jsonToString(JsonPath.objectAt('$')) },
  });
  describeDaysUnreported.next(
    new Fail(scope, STATE_NAMES.daysUnreported, {
      comment: "Some days' outcome is unknown: the Days Map failed, or a day's child execution failed outright (see the Map Run's failed executions).",
      error: DAYS_UNREPORTED_ERROR,
      causePath: JsonPath.stringAt('$.cause'),
    }),
  );
  const daysAborted = new Pass(scope, STATE_NAMES.daysAborted, {
    comment: 'The Days Map failed as a whole: no day is known to have passed.',
    parameters: {
      days: JsonPath.arrayLength(JsonPath.listAt('$.dates')),
      reported: 0,
      from: JsonPath.arrayGetItem(JsonPath.listAt('$.dates'), 0),
      to: lastDate,
      error: JsonPath.stringAt('$.daysError.Error'),
      snapshot: JsonPath.objectAt('$.snapshot'),
    },
  });
  days.addCatch(daysAborted, { errors: [Errors.ALL], resultPath: '$.daysError' });
  daysAborted.next(describeDaysUnreported);
  const countUnreported = new Pass(scope, STATE_NAMES.countUnreported, {
    comment: 'Fewer days reported than planned.',
    parameters: {
      days: JsonPath.numberAt('$.planned'),
      reported: JsonPath.numberAt('$.reported'),
      from: JsonPath.stringAt('$.from'),
      to: JsonPath.stringAt('$.to'),
      snapshot: JsonPath.objectAt('$.snapshot'),
    },
  });
  countUnreported.next(describeDaysUnreported);

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
      failed: JsonPath.arrayLength(JsonPath.listAt("$.outcome.days[?(@.status == 'failed')]")),
      days: JsonPath.numberAt('$.planned'),
      from: JsonPath.stringAt('$.from'),
      to: JsonPath.stringAt('$.to'),
      dayResults: JsonPath.listAt('$.outcome.days'),
      snapshot: JsonPath.objectAt('$.snapshot'),
    },
  });
  const summary = {
    failed: JsonPath.numberAt('$.failed'),
    days: JsonPath.numberAt('$.days'),
    from: JsonPath.stringAt('$.from'),
    to: JsonPath.stringAt('$.to'),
    snapshot: JsonPath.objectAt('$.snapshot'),
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

  const describeSnapshotFailed = new Pass(scope, STATE_NAMES.describeSnapshotFailed, {
    comment: "Every day passed against the snapshot published before; the cause names the snapshot's error.",
    parameters: { cause: JsonPath.jsonToString(JsonPath.objectAt('$.snapshot')) },
  });
  describeSnapshotFailed.next(
    new Fail(scope, STATE_NAMES.snapshotFailed, {
      comment: 'Every day passed, but users and bikes were not published: the lake has the snapshot of an earlier execution.',
      error: SNAPSHOT_FAILED_ERROR,
      causePath: JsonPath.stringAt('$.cause'),
    }),
  );
  const done = new Succeed(scope, STATE_NAMES.done, { comment: 'Every day passed.', outputPath: '$.outcome' });
  const checkDays = new Choice(scope, STATE_NAMES.checkDays)
    .when(Condition.not(Condition.numberEqualsJsonPath('$.reported', '$.planned')), countUnreported)
    .when(Condition.booleanEquals('$.outcome.anyFailed', true), countDays.next(chooseDaysList))
    .when(Condition.stringEquals('$.snapshot.status', 'failed'), describeSnapshotFailed)
    .otherwise(done);

  return plan.next(snapshot).next(days).next(tallyDays).next(checkDays);
}
