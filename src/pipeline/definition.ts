/**
 * The state machine definition as the build emitted it: `npm run build` synthesizes the CDK stack
 * once (`infra/emit-definition.ts`) and writes its Amazon States Language to `dist/definition.json`.
 * Local executions load that file instead of building the stack, so `etl run` never loads
 * aws-cdk-lib; `test/cli/definition.test.ts` checks the file equals what the stack synthesizes.
 *
 * Also here, free of CDK: the names of the states that are not a stage's task, the error of a
 * failed execution and the limits of the two Maps' concurrency, which readers of executions
 * (`cli/remote-execution.ts`) and the loader need.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { daysBetween, parseDay } from '../core/day.js';
import { MAX_DAYS_PER_EXECUTION, MAX_LISTED_DATES } from './plan/plan.js';

/** An Amazon States Language document. */
export interface AslDefinition {
  readonly StartAt: string;
  readonly States: Record<string, Record<string, unknown>>;
  readonly Comment?: string;
  readonly [field: string]: unknown;
}

/** The states of the definition that are not a stage's task state (those are in `stages.ts`). */
export const FLOW_STATES = {
  days: 'Days',
  hourRanges: 'HourRanges',
  dayPassed: 'DayPassed',
  dayFailed: 'DayFailed',
  checkDays: 'CheckDays',
  countDays: 'CountDays',
  chooseDaysList: 'ChooseDaysList',
  listFailedDays: 'ListFailedDays',
  listPassedDays: 'ListPassedDays',
  allDaysFailed: 'AllDaysFailed',
  describeDaysFailed: 'DescribeDaysFailed',
  daysFailed: 'DaysFailed',
  done: 'Done',
  noteSnapshotFailed: 'NoteSnapshotFailed',
  tallyDays: 'TallyDays',
  daysAborted: 'DaysAborted',
  countUnreported: 'CountUnreported',
  describeDaysUnreported: 'DescribeDaysUnreported',
  daysUnreported: 'DaysUnreported',
  describeSnapshotFailed: 'DescribeSnapshotFailed',
  snapshotFailed: 'SnapshotFailed',
} as const;

/** The error the execution fails with when at least one day failed. */
export const DAYS_FAILED_ERROR = 'DaysFailed';

/**
 * The error the execution fails with when some days' outcome is unknown: the Days Map failed as a
 * whole, or a day's child execution failed outright. Cause: `{ days, reported, from, to, error?, snapshot }`.
 */
export const DAYS_UNREPORTED_ERROR = 'DaysUnreported';

/**
 * The error the execution fails with when every day passed but the snapshot of users and bikes
 * failed (the days ran against the one published before). Cause: `{ status: "failed", error }`.
 */
export const SNAPSHOT_FAILED_ERROR = 'SnapshotFailed';

/** Whether the execution published users and bikes, as its causes report it. */
export interface SnapshotOutcome {
  readonly status: 'published' | 'failed';
  /** The snapshot's error name when it failed (its cause is in the Snapshot state's history). */
  readonly error?: string;
}

/**
 * Step Functions quotas on an execution's data, which the definition is built to respect and the
 * local executor enforces as AWS does (failing the execution with `DATA_LIMIT_EXCEEDED`).
 */
export const STEP_FUNCTIONS_LIMITS = {
  /** A state's input or output, as UTF-8 JSON (a Map's output is every iteration's output). */
  payloadBytes: 256 * 1024,
  /** The cause of a Fail state, in characters. */
  causeChars: 32_768,
} as const;

/** The error of an execution whose state's data passed a limit; no Catch catches it. */
export const DATA_LIMIT_EXCEEDED = 'States.DataLimitExceeded';

/**
 * The cause of a `DaysFailed` execution, as JSON: how many of how many days failed, the first and
 * last day, and the shorter list: the failed days, or (more than `MAX_LISTED_DAYS` failed, only
 * in a backfill) the days that passed, every other day from `from` to `to` having failed. Each
 * day's error is in its own execution of the Days Map run (and its stage's logs).
 */
export interface DaysFailedCause {
  readonly failed: number;
  readonly days: number;
  readonly from: string;
  readonly to: string;
  readonly failedDays?: readonly string[];
  readonly passedDays?: readonly string[];
  readonly snapshot?: SnapshotOutcome;
}

/**
 * Most failed days the cause lists by date: half the most days of an execution, so that the
 * shorter list (failed or passed days, 13 characters each) keeps the cause within its limit. A
 * `dates` input names at most as many, so all of its failed days are listed.
 */
export const MAX_LISTED_DAYS = MAX_LISTED_DATES;

/** Characters of the longest `DaysFailed` cause: `MAX_LISTED_DAYS` dates and the counts around them. */
export const LONGEST_DAYS_FAILED_CAUSE = JSON.stringify({
  failed: MAX_DAYS_PER_EXECUTION,
  days: MAX_DAYS_PER_EXECUTION,
  from: '2000-01-01',
  to: '2000-01-01',
  snapshot: { status: 'failed', error: 'E'.repeat(256) },
  failedDays: Array.from({ length: MAX_LISTED_DAYS }, () => '2000-01-01'),
}).length;

/** What Step Functions accepts as `MaxConcurrency` of each Map, as the stack checks it. */
export const CONCURRENCY_LIMITS = {
  /** Days at once (the Distributed Map `Days`). */
  backfillConcurrency: { min: 1, max: 10_000 },
  /** Hour ranges of one day at once (the inline Map `HourRanges`; a day has at most 25 hours). */
  rangeConcurrency: { min: 1, max: 25 },
} as const;

/** The directory holding the package's `package.json`: the repository, or the installed package. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return dir;
}

/** Where the build writes the definition: `dist/definition.json` under the package root. */
export function definitionPath(): string {
  return join(packageRoot(), 'dist', 'definition.json');
}

export interface DefinitionOptions {
  /** `MaxConcurrency` of the `Days` Map, as the stack's `backfillConcurrency`. */
  readonly backfillConcurrency: number;
  /** `MaxConcurrency` of the `HourRanges` Map, as the stack's `rangeConcurrency`; the stack's default when left out. */
  readonly rangeConcurrency?: number;
}

function checkConcurrency(field: keyof typeof CONCURRENCY_LIMITS, value: number): number {
  const { min, max } = CONCURRENCY_LIMITS[field];
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${field}: expected an integer from ${min} to ${max}, got ${value}`);
  return value;
}

/** The Map state named `name`, at any depth of nested Maps and Parallels. */
function findMap(states: AslDefinition['States'], name: string): Record<string, unknown> | undefined {
  for (const [key, state] of Object.entries(states)) {
    if (key === name && state.Type === 'Map') return state;
    const nested = [state.ItemProcessor, state.Iterator, ...((state.Branches as unknown[] | undefined) ?? [])] as (
      | { States?: AslDefinition['States'] }
      | undefined
    )[];
    for (const machine of nested) {
      const found = machine?.States && findMap(machine.States, name);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * The definition the stack deploys, read from `dist/definition.json`, with the `MaxConcurrency` of
 * the `Days` and `HourRanges` Maps set as the stack would set them for these props. Throws when the
 * file is missing (run `npm run build`) or a concurrency is out of range.
 */
export function loadDefinition(options: DefinitionOptions): AslDefinition {
  const backfill = checkConcurrency('backfillConcurrency', options.backfillConcurrency);
  const range = options.rangeConcurrency === undefined ? undefined : checkConcurrency('rangeConcurrency', options.rangeConcurrency);
  const path = definitionPath();
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    throw new Error(`${path} is missing: run npm run build (it writes the state machine definition the CDK stack synthesizes)`);
  }
  const definition = JSON.parse(text) as AslDefinition;
  for (const [name, value] of [
    [FLOW_STATES.days, backfill],
    [FLOW_STATES.hourRanges, range],
  ] as const) {
    const map = findMap(definition.States, name);
    if (!map) throw new Error(`${path} has no Map state ${name}: run npm run build`);
    if (value !== undefined) map.MaxConcurrency = value;
  }
  return definition;
}

/** The readable part of a failed state's cause: a Lambda error's `errorMessage` in AWS, the message itself locally. */
export function causeMessage(cause: string | undefined): string {
  if (!cause) return '';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: string };
    return parsed.errorMessage ?? cause;
  } catch {
    return cause;
  }
}

/**
 * The failed days of a `DaysFailed` cause (`DaysFailedCause`), in date order. Throws when the cause
 * is not one: a malformed cause, or a list of passed days that does not fit its `from`..`to`.
 */
export function failedDaysOf(cause: string): string[] {
  const parsed = JSON.parse(cause) as Partial<DaysFailedCause>;
  const dates = (list: unknown) => Array.isArray(list) && list.every((d) => typeof d === 'string');
  if (typeof parsed?.failed !== 'number' || typeof parsed.days !== 'number' || typeof parsed.from !== 'string' || typeof parsed.to !== 'string') {
    throw new Error(`not a ${DAYS_FAILED_ERROR} cause: ${cause.slice(0, 200)}`);
  }
  if (dates(parsed.failedDays)) return [...(parsed.failedDays as string[])];
  const every = daysBetween(parseDay(parsed.from, 'from'), parseDay(parsed.to, 'to')).map((d) => d.iso);
  const passed = new Set(dates(parsed.passedDays) ? (parsed.passedDays as string[]) : []);
  const failed = every.filter((d) => !passed.has(d));
  if (every.length !== parsed.days || failed.length !== parsed.failed)
    throw new Error(`a ${DAYS_FAILED_ERROR} cause whose days do not add up: ${cause.slice(0, 200)}`);
  return failed;
}
