/**
 * The payloads that travel between the stages (Lambda events and results), declared once as
 * valibot schemas: each stage's input is checked at its door, a malformed event fails with
 * `InputError` naming the field, and the TypeScript types are inferred from the schemas. A
 * schema's input type is what a stage returns (plain JSON); its output type is what the next
 * stage works with (dates parsed into `CalendarDay`).
 *
 * This module describes the stages; it imports none of them.
 */
import * as v from 'valibot';
import { parseDay, type HourRange } from '../core/day.js';
import { InputError } from '../core/errors.js';
import { isRunId, rentalsPartitionPrefix, stagedKey, stagingPrefix } from '../lake/layout.js';

// --- Building blocks -------------------------------------------------------------------------

/** A transformation by a parser that throws `InputError`: its `expected` becomes the issue's message. */
function parsedBy<I, T>(parse: (value: I) => T) {
  return v.rawTransform<I, T>(({ dataset, addIssue, NEVER }) => {
    try {
      return parse(dataset.value);
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      addIssue({ message: error.expected, received: error.actual });
      return NEVER;
    }
  });
}

/** A JSON object with exactly these fields; an unknown one is named with the allowed ones. */
function exactly<const E extends v.ObjectEntries>(entries: E, form: string) {
  const allowed = Object.keys(entries).join(', ');
  return v.strictObject(entries, (issue) => (issue.expected === 'never' ? `no such field (allowed: ${allowed})` : `a JSON object (${form})`));
}

const count = (what = 'a non-negative integer') => v.pipe(v.number(what), v.integer(what), v.minValue(0, what));

/** The change signal's digest: a decimal integer, as Postgres's numeric sum prints it. */
const digestSchema = v.pipe(v.string('a decimal integer'), v.regex(/^-?\d+$/, 'a decimal integer'));

const isoTimestamp = v.pipe(
  v.string('an ISO 8601 timestamp'),
  v.check((s) => !Number.isNaN(Date.parse(s)), 'an ISO 8601 timestamp'),
);

export const WRITE_MODES = ['overwrite', 'append'] as const;
export type WriteMode = (typeof WRITE_MODES)[number];

const modeSchema = v.optional(v.picklist(WRITE_MODES, `one of ${WRITE_MODES.join(', ')}`), 'overwrite');

/** Checks a write mode (`mode` field or `--mode` flag); absent means overwrite. */
export function parseMode(value: unknown, field = 'mode'): WriteMode {
  if (value === undefined) return 'overwrite';
  if (typeof value !== 'string' || !(WRITE_MODES as readonly string[]).includes(value)) {
    throw new InputError(field, `one of ${WRITE_MODES.join(', ')}`, String(value));
  }
  return value as WriteMode;
}

const DATE_FORM = 'a calendar date as YYYY-MM-DD';
const daySchema = v.pipe(
  v.string(DATE_FORM),
  parsedBy((value: string) => parseDay(value, 'date')),
);

const RUN_ID_FORM = 'an id like 20250301T000000000Z-0a1b2c3d';
const runIdSchema = v.custom<string>(isRunId, RUN_ID_FORM);

const OWNER_FORM = 'a non-empty string of at most 512 characters (an execution ARN)';
const ownerSchema = v.pipe(v.string(OWNER_FORM), v.minLength(1, OWNER_FORM), v.maxLength(512, OWNER_FORM));

/** Most hours a local day can have (a day that falls back one hour has 25). */
export const MAX_DAY_HOURS = 25;
const HOURS_FORM = `{ "from": h, "to": h } with whole hours 0 <= from < to <= ${MAX_DAY_HOURS}`;

function isHourRange(value: unknown): value is HourRange {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const { from, to } = value as Record<string, unknown>;
  return Number.isInteger(from) && Number.isInteger(to) && (from as number) >= 0 && (from as number) < (to as number) && (to as number) <= MAX_DAY_HOURS;
}

/** An hour range `{ from, to }`; other fields are dropped. */
const hoursSchema = v.pipe(
  v.custom<HourRange>(isHourRange, HOURS_FORM),
  v.transform(({ from, to }): HourRange => ({ from, to })),
);

/** Turns the first issue into `InputError(field, expected, actual)`. */
function toInputError(issues: readonly v.BaseIssue<unknown>[], root: string): InputError {
  const issue = issues[0];
  const keys = issue.path?.map((item) => item.key) ?? [];
  const field = keys.reduce<string>((path, key) => (typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${String(key)}` : String(key)), '') || root;
  const actual = issue.input === undefined ? undefined : typeof issue.input === 'string' ? issue.input : JSON.stringify(issue.input);
  return new InputError(field, issue.message, actual);
}

/** Parses `value` with `schema` or throws `InputError` naming the first bad field. */
export function parseContract<S extends v.GenericSchema>(schema: S, value: unknown, root = 'event'): v.InferOutput<S> {
  const result = v.safeParse(schema, value);
  if (!result.success) throw toInputError(result.issues, root);
  return result.output;
}

// --- Plan: the execution input -> the days to run --------------------------------------------

/**
 * Why a day runs: the day a schedule is for (`new`; `rerun` when it is published and current:
 * the schedule rewrites yesterday every time), a published day whose partition no longer matches
 * the source (`stale`), a day of the lookback never published after the lake's first day
 * (`missing`), or a day the input names (`requested`).
 */
export const RUN_REASONS = ['new', 'rerun', 'stale', 'missing', 'requested'] as const;
/** Why a day of the schedule does not run: it matches the source, or was never published before the lake's first day. */
export const SKIP_REASONS = ['current', 'unpublished'] as const;
export type RunReason = (typeof RUN_REASONS)[number];
export type SkipReason = (typeof SKIP_REASONS)[number];

const plannedDaySchema = v.object({ date: v.string(), kind: v.picklist(RUN_REASONS), detail: v.string() });
const skippedDaySchema = v.object({ date: v.string(), kind: v.picklist(SKIP_REASONS), detail: v.string() });
/** A day of the plan and why it runs (or not), with the figures that decided it. */
export type PlannedDay = v.InferOutput<typeof plannedDaySchema>;
export type SkippedDay = v.InferOutput<typeof skippedDaySchema>;

export const runPlanSchema = v.object({
  mode: v.picklist(WRITE_MODES),
  /** The days to run, oldest first: what the state machine's Map reads. */
  dates: v.array(v.string()),
  /**
   * Why each of `dates` runs, in their order; only for a schedule's input. Every day of a date or
   * range input is `requested` (left out: the plan of a ten-year backfill must stay small).
   */
  reasons: v.optional(v.array(plannedDaySchema)),
  /** The days of a schedule's lookback that do not run. */
  skipped: v.optional(v.array(skippedDaySchema)),
  /** Source columns the table declaration does not name, as `rentals.promo_code (text)`: not carried into the lake. */
  undeclaredColumns: v.optional(v.array(v.string())),
});
/** What plan returns: the write mode and the days of the execution, and for a schedule why each runs. */
export type RunPlan = v.InferOutput<typeof runPlanSchema>;

// --- Plan-day: one day of the run -> the run id, the lease and the hour ranges ---------------

export const dayEventSchema = exactly(
  { date: daySchema, mode: modeSchema, owner: v.optional(ownerSchema) },
  '{ "date": "YYYY-MM-DD", "mode"?: "overwrite" | "append", "owner"?: string }',
);
/** The plan-day event. `owner`: who may take the partition lease over (the execution); default the run. */
export type DayEvent = v.InferOutput<typeof dayEventSchema>;

const plannedRangeSchema = v.object({ from: count(), to: count(), rows: count() });
/** An hour range with the rentals counted in it while planning. */
export type PlannedRange = v.InferOutput<typeof plannedRangeSchema>;

/** What plan-day returns: the run of the day and how the day is cut. */
export interface DayPlan {
  readonly runId: string;
  readonly date: string;
  readonly mode: WriteMode;
  /** Who holds the partition lease for this run (the Step Functions execution, or the run itself). */
  readonly owner: string;
  /** The day's rentals when planned; each range's extract counts its own rows again in its snapshot. */
  readonly plannedRows: number;
  /** Rows of the day repeating another row's rental_id. */
  readonly sourceDuplicateIds: number;
  /** The ranges, in order, covering the whole day without gaps. */
  readonly ranges: readonly PlannedRange[];
}

// --- Extract: one hour range of the day -> its staged tables ---------------------------------

export const rangeEventSchema = exactly(
  { date: daySchema, mode: modeSchema, owner: v.optional(ownerSchema), runId: runIdSchema, hours: v.optional(hoursSchema) },
  '{ "date": "YYYY-MM-DD", "runId", "mode"?, "owner"?, "hours"?: { "from", "to" } }',
);
/** The extract event: one hour range of the day plan with the plan's run id (the whole day without `hours`). */
export type RangeEvent = v.InferOutput<typeof rangeEventSchema>;

const stagedTableSchema = v.object({ key: v.string('a staging key'), rows: count(), bytes: count() });
export type StagedTable = v.InferOutput<typeof stagedTableSchema>;

const underPrefix = (key: string, prefix: string) => key.startsWith(prefix) && !key.includes('..');

export const extractOutputSchema = v.pipe(
  v.object(
    {
      runId: runIdSchema,
      date: daySchema,
      mode: modeSchema,
      owner: ownerSchema,
      hours: hoursSchema,
      /** count(*) of the range's rentals in the extract snapshot. */
      sourceCount: count(),
      /** Their change signal's digest in that snapshot (absent from an extract older than the signal). */
      sourceDigest: v.optional(digestSchema),
      /** An append's: the rows the digest covers (the whole range), where `sourceCount` counts only the rows it read. */
      digestRows: v.optional(count()),
      /** Source columns the table declaration does not name, as `rentals.promo_code (text)` (schema drift). */
      undeclaredColumns: v.optional(v.array(v.string())),
      /** Source time of the snapshot. */
      snapshotAt: isoTimestamp,
      /** count(*) of the day before's rentals in the same snapshot: read by the range from hour 0 only. */
      previousDayCount: v.optional(count()),
      staging: v.object({ rentals: stagedTableSchema }, 'the staged tables { rentals }'),
      /** An append's bound: it read only rows keyed above `aboveKey` or changed after `changedAfter` (`sourceCount` counts those). */
      appendBound: v.optional(v.object({ aboveKey: v.string(), changedAfter: isoTimestamp })),
      seconds: v.number(),
    },
    'the extract stage output',
  ),
  v.forward(
    v.check((e) => underPrefix(e.staging.rentals.key, stagingPrefix(e.runId)), "keys under the run's _staging/<runId>/ prefix"),
    ['staging'],
  ),
);
/** What extract returns and transform-write reads. */
export type ExtractOutput = v.InferInput<typeof extractOutputSchema>;
export type TransformEvent = v.InferOutput<typeof extractOutputSchema>;

// --- Transform-write: a staged range -> Parquet files, quarantine, metrics -------------------

const writtenFileSchema = v.object({ key: v.string('an object key'), rows: count(), bytes: count() });
export type WrittenFile = v.InferOutput<typeof writtenFileSchema>;

const rangeMetricsSchema = v.object(
  {
    rows: count(),
    nullCounts: v.record(v.string(), count()),
    negativeDurations: count(),
    negativeCosts: count(),
    quarantined: count(),
    /** Source rows left out of the lake (quarantined whole: a required value is NULL). */
    excluded: count(),
    rejectReasons: v.record(v.string(), count()),
    /** An append's source rows left out as already published; of those, changed in the source since. */
    alreadyPublished: v.optional(count()),
    changedSincePublish: v.optional(count()),
    /** Keys found more than once in the published partition an append builds on. */
    publishedDuplicateIds: v.optional(count()),
    /** On a day still in progress: rentals open at the snapshot (end NULL, recently started), and their NULLs per column. */
    open: v.optional(count()),
    openNullCounts: v.optional(v.record(v.string(), count())),
  },
  'the range metrics object',
);
/** The quality measures of one hour range's rows. */
export type RangeMetrics = v.InferOutput<typeof rangeMetricsSchema>;
/** The measures of a whole day's rows; duplicate ids are counted for the whole day when planned. */
export type DayMetrics = RangeMetrics & { readonly duplicateIds: number };

const transformOutputSchema = v.object(
  {
    runId: runIdSchema,
    hours: hoursSchema,
    sourceCount: count(),
    sourceDigest: v.optional(digestSchema),
    digestRows: v.optional(count()),
    undeclaredColumns: v.optional(v.array(v.string())),
    snapshotAt: isoTimestamp,
    /** Extract's count of the day before (the range from hour 0), for the day-over-day check. */
    previousDayCount: v.optional(count()),
    files: v.array(writtenFileSchema, 'a list of written files'),
    quarantineKey: v.optional(v.string()),
    metrics: rangeMetricsSchema,
    schemaFingerprint: v.string(),
    seconds: v.number(),
  },
  'a transform-write output',
);
/** What transform-write returns for one hour range. */
export type TransformOutput = v.InferOutput<typeof transformOutputSchema>;

// --- Validate: the day plan and every written range -> the published partition --------------

/** A path to `written[i].<field>` for an issue found by a check of the whole event. */
function writtenPath(event: { written: readonly unknown[] }, i: number, field: string, value: unknown) {
  const range = event.written[i] as Record<string, unknown>;
  return [
    { type: 'object', origin: 'value', input: event, key: 'written', value: event.written },
    { type: 'array', origin: 'value', input: event.written, key: i, value: range },
    { type: 'object', origin: 'value', input: range, key: field, value },
  ] as unknown as [v.IssuePathItem, ...v.IssuePathItem[]];
}

export const validateEventSchema = v.pipe(
  v.looseObject(
    {
      date: daySchema,
      mode: modeSchema,
      runId: runIdSchema,
      owner: ownerSchema,
      sourceDuplicateIds: count(),
      ranges: v.pipe(
        v.array(hoursSchema, 'the non-empty list of hour ranges of the day plan'),
        v.minLength(1, 'the non-empty list of hour ranges of the day plan'),
      ),
      written: v.pipe(
        v.array(transformOutputSchema, 'a non-empty list of transform-write outputs, one per hour range'),
        v.minLength(1, 'a non-empty list of transform-write outputs, one per hour range'),
      ),
    },
    'the day plan with the written ranges',
  ),
  // Every range is the plan's run's, and writes only into the run's staging of the day's partition.
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const event = dataset.value;
    const prefix = stagedKey(event.runId, rentalsPartitionPrefix(event.date));
    event.written.forEach((range, i) => {
      if (range.runId !== event.runId) {
        addIssue({ message: `the run of the day plan (${event.runId})`, input: range.runId, path: writtenPath(event, i, 'runId', range.runId) });
      }
      const outside = range.files.find((f) => !underPrefix(f.key, prefix));
      if (outside) addIssue({ message: `keys under ${prefix}`, input: outside.key, path: writtenPath(event, i, 'files', range.files) });
    });
  }),
);
export type ValidateEvent = v.InferOutput<typeof validateEventSchema>;

/** What validate returns once the day is published. */
export interface ValidateOutput {
  readonly runId: string;
  readonly date: string;
  readonly verdict: 'passed';
  readonly sourceCount: number;
  readonly rows: number;
  readonly partitionRows: number;
  readonly files: number;
  readonly bytes: number;
  readonly quarantined: number;
  readonly warnings: readonly string[];
  readonly reportKey: string;
  readonly removed: number;
  /** From the first file promoted into the partition to the last superseded one removed (0: nothing published). */
  readonly publishWindowMs: number;
  readonly seconds: number;
  /** An append that left more than `COMPACT_ABOVE_FILES` files compacted the partition after its publish. */
  readonly compacted?: { readonly filesBefore: number; readonly filesAfter: number; readonly runId: string };
}

// --- Snapshot: once per execution, users and bikes copied whole and published ---------------

/** The plan's output passes through the snapshot stage untouched: it reads nothing of it. */
export const snapshotEventSchema = v.looseObject({}, 'a JSON object (the plan output)');

// --- Release-day: a day that failed for good -> its lease given back ------------------------

export const releaseEventSchema = exactly({ date: daySchema, runId: runIdSchema }, '{ "date": "YYYY-MM-DD", "runId": "<run id>" }');
export type ReleaseEvent = v.InferOutput<typeof releaseEventSchema>;
