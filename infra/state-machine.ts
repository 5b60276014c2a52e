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
 *                    └▶ ListFailedDays ─▶ DaysFailed (error `DaysFailed`, cause = JSON list of the failed days)
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
import { PartitionBusyError, PreconditionFailedError, SourceUnavailableError, StoreUnavailableError, TransientError } from '../src/core/errors.js';
import { CONCURRENCY_LIMITS, DAYS_FAILED_ERROR, FLOW_STATES } from '../src/pipeline/definition.js';
import { STAGE_LIST, STAGES, type StageKey } from '../src/pipeline/stages.js';

/** The Lambda task states, by registry key (`src/pipeline/stages.ts` names them). */
export const TASK_STATES = Object.fromEntries(STAGE_LIST.map((spec) => [spec.key, spec.state])) as { readonly [K in StageKey]: (typeof STAGES)[K]['state'] };

/** Every state of the definition, for readers of executions and for tests. */
export const STATE_NAMES = { ...TASK_STATES, ...FLOW_STATES } as const;

export { DAYS_FAILED_ERROR };

/**
 * Errors a later attempt may not see (`TransientError` and its subclasses in `shared/errors.ts`):
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
}

function invoke(scope: Construct, key: StageKey, fn: IFunction, comment: string): LambdaInvoke {
  return new LambdaInvoke(scope, STAGES[key].state, {
    lambdaFunction: fn,
    comment,
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
 * error `DaysFailed` and as cause the JSON list of `{ "date", "status": "failed", "error", "cause" }`.
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
  const dayFailed = new Pass(scope, STATE_NAMES.dayFailed, {
    comment: 'The day failed for good (terminal error, or retries exhausted); the other days go on.',
    parameters: {
      date: JsonPath.stringAt('$.date'),
      status: 'failed',
      error: JsonPath.stringAt('$.error.Error'),
      cause: JsonPath.stringAt('$.error.Cause'),
    },
  });

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

  // The cause is built in a Pass state rather than with an intrinsic in the Fail state's CausePath:
  // both are valid ASL, but aws-local-stepfunctions only resolves plain paths in CausePath.
  const listFailedDays = new Pass(scope, STATE_NAMES.listFailedDays, {
    comment: 'Turns the failed days into the JSON text of the execution failure cause.',
    parameters: { cause: JsonPath.jsonToString(JsonPath.listAt("$.days[?(@.status == 'failed')]")) },
  });
  const daysFailed = new Fail(scope, STATE_NAMES.daysFailed, {
    comment: 'At least one day failed; the cause lists each failed day with its error.',
    error: DAYS_FAILED_ERROR,
    causePath: JsonPath.stringAt('$.cause'),
  });
  const done = new Succeed(scope, STATE_NAMES.done, { comment: 'Every day passed.' });
  const checkDays = new Choice(scope, STATE_NAMES.checkDays)
    .when(Condition.booleanEquals('$.anyFailed', true), listFailedDays.next(daysFailed))
    .otherwise(done);

  return plan.next(days).next(checkDays);
}
