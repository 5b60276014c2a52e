/**
 * The payloads that travel between the stages (Lambda events and results), checked at each
 * stage's door: a malformed event fails with `InputError` naming the field.
 */
import { parseDay, type CalendarDay, type HourRange } from '../core/day.js';
import { InputError } from '../core/errors.js';
import type { ExtractResult } from './extract/extract.js';
import { isRunId, stagingPrefix } from '../lake/layout.js';
import type { DayPlan } from './plan-day/plan-day.js';
import type { TransformResult, WriteMode } from './transform-write/transform.js';
import type { RunOfDay } from './validate/validate.js';

export const WRITE_MODES: readonly WriteMode[] = ['overwrite', 'append'];

export function parseMode(value: unknown, field = 'mode'): WriteMode {
  if (value === undefined) return 'overwrite';
  if (typeof value !== 'string' || !WRITE_MODES.includes(value as WriteMode)) {
    throw new InputError(field, `one of ${WRITE_MODES.join(', ')}`, value === undefined ? undefined : String(value));
  }
  return value as WriteMode;
}

function asObject(event: unknown, what: string, field = 'event'): Record<string, unknown> {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) throw new InputError(field, `a JSON object (${what})`, JSON.stringify(event));
  return event as Record<string, unknown>;
}

function onlyFields(event: Record<string, unknown>, allowed: readonly string[]): void {
  const extra = Object.keys(event).filter((k) => !allowed.includes(k));
  if (extra.length > 0) throw new InputError(extra[0], `no such field (allowed: ${allowed.join(', ')})`, String(event[extra[0]]));
}

export interface DayEvent {
  readonly day: CalendarDay;
  readonly mode: WriteMode;
  /** Who may take the partition lock over (the Step Functions execution); default: the run. */
  readonly owner: string | undefined;
}

function parseOwner(value: unknown): string | undefined {
  if (value !== undefined && (typeof value !== 'string' || value === '' || value.length > 512)) {
    throw new InputError('owner', 'a non-empty string of at most 512 characters (an execution ARN)', String(value));
  }
  return value as string | undefined;
}

function parseRunId(value: unknown): string {
  if (!isRunId(value)) throw new InputError('runId', 'an id like 20250301T000000000Z-0a1b2c3d', String(value));
  return value;
}

/** The plan-day event: `{ "date": "YYYY-MM-DD", "mode"?: "overwrite" | "append", "owner"?: string }` */
export function parseDayEvent(event: unknown): DayEvent {
  const e = asObject(event, '{ "date": "YYYY-MM-DD", "mode": "overwrite" | "append" }');
  onlyFields(e, ['date', 'mode', 'owner']);
  return { day: parseDay(e.date, 'date'), mode: parseMode(e.mode), owner: parseOwner(e.owner) };
}

/** The release-day event: `{ "date": "YYYY-MM-DD", "runId": string }`, the run giving the day up. */
export function parseReleaseEvent(event: unknown): { day: CalendarDay; runId: string } {
  const e = asObject(event, '{ "date": "YYYY-MM-DD", "runId": "<run id>" }');
  onlyFields(e, ['date', 'runId']);
  return { day: parseDay(e.date, 'date'), runId: parseRunId(e.runId) };
}

/** What plan-day returns: the day plan plus the write mode for the later stages. */
export type DayPlanOutput = DayPlan & { readonly mode: WriteMode };

/** Most hours a local day can have (a day that falls back one hour has 25). */
const MAX_DAY_HOURS = 25;

const HOURS_FORM = `{ "from": h, "to": h } with whole hours 0 <= from < to <= ${MAX_DAY_HOURS}`;

/** An hour range `{ from, to }` (other fields dropped); `field` names it in the error. */
function parseHours(value: unknown, field: string): HourRange {
  const { from, to } = asObject(value, HOURS_FORM, field);
  if (!Number.isInteger(from) || !Number.isInteger(to) || (from as number) < 0 || (from as number) >= (to as number) || (to as number) > MAX_DAY_HOURS) {
    throw new InputError(field, HOURS_FORM, JSON.stringify(value));
  }
  return { from: from as number, to: to as number };
}

export interface ExtractEvent extends DayEvent {
  /** The run the day plan made (its lock must still be held). */
  readonly runId: string;
  /** The hours of the day to extract; the whole day when absent. */
  readonly hours: HourRange | undefined;
}

/**
 * The extract event: `{ "date", "runId", "mode"?, "owner"?, "hours"?: { "from", "to" } }`; in the
 * pipeline, one hour range of the day plan with the plan's run id.
 */
export function parseExtractEvent(event: unknown): ExtractEvent {
  const e = asObject(event, '{ "date": "YYYY-MM-DD", "mode": "overwrite" | "append" }');
  onlyFields(e, ['date', 'mode', 'runId', 'owner', 'hours']);
  return {
    day: parseDay(e.date, 'date'),
    mode: parseMode(e.mode),
    owner: parseOwner(e.owner),
    runId: parseRunId(e.runId),
    hours: e.hours === undefined ? undefined : parseHours(e.hours, 'hours'),
  };
}

/** What extract returns: its result plus the write mode for the next stage. */
export type ExtractOutput = ExtractResult & { readonly mode: WriteMode };

function checkRunKeys(runId: unknown, keys: unknown[], prefixOf: (runId: string) => string, field: string): string {
  if (!isRunId(runId)) throw new InputError('runId', 'an id like 20250301T000000000Z-0a1b2c3d', String(runId));
  for (const key of keys) {
    if (typeof key !== 'string' || !key.startsWith(prefixOf(runId)) || key.includes('..')) {
      throw new InputError(field, `a key under ${prefixOf(runId)}`, String(key));
    }
  }
  return runId;
}

/** The transform-write event: extract's output, checked for the keys it will read. */
export function parseTransformEvent(event: unknown): { day: CalendarDay; extract: ExtractOutput } {
  const e = asObject(event, 'the extract stage output') as unknown as ExtractOutput;
  const day = parseDay(e.date, 'date');
  parseMode(e.mode);
  if (!Number.isInteger(e.sourceCount) || e.sourceCount < 0) throw new InputError('sourceCount', 'a non-negative integer', String(e.sourceCount));
  parseHours(e.hours, 'hours');
  if (typeof e.snapshotAt !== 'string' || Number.isNaN(Date.parse(e.snapshotAt))) throw new InputError('snapshotAt', 'an ISO 8601 timestamp', String(e.snapshotAt));
  if (typeof e.owner !== 'string' || e.owner === '') throw new InputError('owner', 'the partition lock owner passed on by extract', String(e.owner));
  const staging = asObject(e.staging, 'staging keys');
  const staged = ['rentals', 'users', 'bikes'].filter((t) => t === 'rentals' || staging[t] !== undefined);
  checkRunKeys(e.runId, staged.map((t) => (staging[t] as { key?: unknown } | undefined)?.key), stagingPrefix, 'staging');
  return { day, extract: e };
}

/**
 * The validate event: the day plan's run (`runId`, `mode`, `owner`, `sourceDuplicateIds`, `ranges`)
 * and `written`, what transform-write returned for each hour range; checked for the keys it will read.
 */
export function parseValidateEvent(event: unknown): { day: CalendarDay; run: RunOfDay; written: TransformResult[] } {
  const e = asObject(event, 'the day plan with the written ranges');
  const day = parseDay(e.date, 'date');
  const mode = parseMode(e.mode);
  const runId = parseRunId(e.runId);
  const owner = parseOwner(e.owner);
  if (owner === undefined) throw new InputError('owner', 'the partition lock owner passed on by plan-day', undefined);
  if (!Number.isInteger(e.sourceDuplicateIds) || (e.sourceDuplicateIds as number) < 0) {
    throw new InputError('sourceDuplicateIds', 'a non-negative integer', String(e.sourceDuplicateIds));
  }
  if (!Array.isArray(e.ranges) || e.ranges.length === 0) throw new InputError('ranges', 'the non-empty list of hour ranges of the day plan', JSON.stringify(e.ranges));
  const ranges = e.ranges.map((range, i) => parseHours(range, `ranges[${i}]`));
  if (!Array.isArray(e.written) || e.written.length === 0) throw new InputError('written', 'a non-empty list of transform-write outputs, one per hour range', JSON.stringify(e.written));
  const written = e.written.map((item, i) => {
    const range = asObject(item, `written[${i}]: a transform-write output`) as unknown as TransformResult;
    if (!Array.isArray(range.files)) throw new InputError(`written[${i}].files`, 'a list of written files', String(range.files));
    if (typeof range.metrics !== 'object' || range.metrics === null) throw new InputError(`written[${i}].metrics`, 'the range metrics object', String(range.metrics));
    parseHours(range.hours, `written[${i}].hours`);
    if (range.runId !== runId) throw new InputError(`written[${i}].runId`, `the run of the day plan (${runId})`, String(range.runId));
    checkRunKeys(range.runId, range.files.map((f) => f?.key), () => 'rentals/', `written[${i}].files`);
    return range;
  });
  return { day, run: { runId, mode, owner, sourceDuplicateIds: e.sourceDuplicateIds as number, ranges }, written };
}
