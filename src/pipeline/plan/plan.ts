/**
 * Plan: turns an execution input into the list of days to run. Accepts `{ "date" }`,
 * `{ "from", "to" }` (backfill), `{ "dates": [...] }` (scattered days, such as the failed days of an
 * earlier execution) or the daily schedule's `{ "scheduledTime" }` (which means "yesterday" in the
 * partition time zone), each with an optional `mode`.
 *
 * The schedule's input heals the lake (`staleness.ts`): of yesterday and the `lookbackDays` days
 * before it, a published day whose partition no longer matches the source (its change signal
 * moved) runs again (`stale`), and a day never published after the lake's first day runs
 * (`missing`: a schedule that failed). Yesterday runs every time, labelled `new` (never published),
 * `stale`, or `rerun` (published and current: the schedule rewrites it anyway, since late rows of
 * yesterday are the likeliest and an execution of no days is not one). A day never published
 * before the lake's first day is left to a backfill. A scheduled time whose yesterday is not over
 * yet is refused. The plan says why each day runs and lists the days it leaves alone.
 */
import { addDays, dayAt, daysBetween, parseDay, type CalendarDay } from '../../core/day.js';
import { InputError } from '../../core/errors.js';
import { parseMode, type PlannedDay, type RunPlan, type SkipReason, type WriteMode } from '../contracts.js';
import type { DayCheck } from './staleness.js';

/** How far ahead of this clock a schedule's time may be (a scheduler's clock is not this one). */
const CLOCK_SKEW_MS = 5 * 60_000;

/** Most days one execution may cover (ten years). */
export const MAX_DAYS_PER_EXECUTION = 3_660;

/**
 * Most days a `{ "dates": [...] }` input may name: half of `MAX_DAYS_PER_EXECUTION`, so that however
 * many of them fail, a `DaysFailed` cause lists them by date (`MAX_LISTED_DAYS` in `definition.ts`).
 */
export const MAX_LISTED_DATES = Math.ceil(MAX_DAYS_PER_EXECUTION / 2);

export interface PlanOptions {
  readonly timeZone: string;
  /** Longest range a single execution may cover. */
  readonly maxDays: number;
  readonly now?: Date;
  /** Days before yesterday a schedule's input re-checks (`REPUBLISH_LOOKBACK_DAYS`); 0 or absent: none. */
  readonly lookbackDays?: number;
}

const FORMS =
  '{ "date": "YYYY-MM-DD" }, { "from": "YYYY-MM-DD", "to": "YYYY-MM-DD" }, { "dates": ["YYYY-MM-DD", ...] } or { "scheduledTime": "<ISO 8601>" }, each with an optional "mode", or { "appendTime": "<ISO 8601>" }';

/** The days of a `dates` list, oldest first, each once; at least one, at most `MAX_LISTED_DATES`. */
function parseDates(value: unknown): CalendarDay[] {
  const expected = `a list of 1 to ${MAX_LISTED_DATES} dates as YYYY-MM-DD`;
  if (!Array.isArray(value) || value.length === 0) throw new InputError('dates', expected, JSON.stringify(value));
  const days = [...new Map(value.map((d, i) => parseDay(d, `dates[${i}]`)).map((d) => [d.iso, d])).values()];
  if (days.length > MAX_LISTED_DATES) throw new InputError('dates', expected, `${days.length} dates`);
  return days.sort((a, b) => (a.iso < b.iso ? -1 : 1));
}

/** What an execution input asks for. */
interface Request {
  readonly mode: WriteMode;
  readonly days: readonly CalendarDay[];
  /** From a schedule: `days` is yesterday alone, and the lookback applies. */
  readonly scheduled: boolean;
}

/** Checks the execution input; never a day after today in `timeZone`. */
function readInput(input: unknown, options: PlanOptions): Request {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new InputError('input', FORMS, JSON.stringify(input));
  const e = input as Record<string, unknown>;
  const today = dayAt(options.now ?? new Date(), options.timeZone);
  // The append schedule's input: the day of `appendTime` (today), appended to.
  const mode = 'appendTime' in e && e.mode === undefined ? 'append' : parseMode(e.mode);
  const keys = Object.keys(e)
    .filter((k) => k !== 'mode')
    .sort()
    .join(',');
  let days: CalendarDay[];
  switch (keys) {
    case 'date':
      days = [parseDay(e.date, 'date')];
      break;
    case 'from,to':
      days = daysBetween(parseDay(e.from, 'from'), parseDay(e.to, 'to'), options.maxDays);
      break;
    case 'dates':
      days = parseDates(e.dates);
      break;
    case 'scheduledTime': {
      const at = typeof e.scheduledTime === 'string' ? new Date(e.scheduledTime) : new Date(Number.NaN);
      if (Number.isNaN(at.getTime())) throw new InputError('scheduledTime', 'an ISO 8601 timestamp', String(e.scheduledTime));
      days = [addDays(dayAt(at, options.timeZone), -1)];
      // Its yesterday must be over: a schedule time in the future would publish a day still running
      // (a schedule firing at midnight a few minutes ahead of this clock is not refused).
      const skewed = dayAt(new Date((options.now ?? new Date()).getTime() + CLOCK_SKEW_MS), options.timeZone);
      if (days[0].iso >= skewed.iso) {
        throw new InputError('scheduledTime', `a time whose yesterday is over (not after today, ${today.iso} in ${options.timeZone})`, String(e.scheduledTime));
      }
      break;
    }
    case 'appendTime': {
      const at = typeof e.appendTime === 'string' ? new Date(e.appendTime) : new Date(Number.NaN);
      if (Number.isNaN(at.getTime())) throw new InputError('appendTime', 'an ISO 8601 timestamp', String(e.appendTime));
      if (mode !== 'append') throw new InputError('mode', 'append (or no mode) with appendTime', mode);
      days = [dayAt(at, options.timeZone)];
      break;
    }
    default:
      throw new InputError('input', FORMS, `fields ${keys || '(none)'}`);
  }
  const last = days.at(-1)!;
  if (last.iso > today.iso) {
    throw new InputError(
      keys === 'dates' ? 'dates' : days.length === 1 ? 'date' : 'to',
      `a day no later than today (${today.iso} in ${options.timeZone})`,
      last.iso,
    );
  }
  const scheduled = keys === 'scheduledTime';
  if (scheduled && mode === 'append' && (options.lookbackDays ?? 0) > 0) {
    // An append adds new rows only: it would leave a stale day's changed rows as they are.
    throw new InputError('mode', 'overwrite (or no mode) with scheduledTime while REPUBLISH_LOOKBACK_DAYS > 0: a stale day is replaced, not appended to', mode);
  }
  return { mode, days, scheduled };
}

/** Why a checked day runs, or undefined when it is left alone; yesterday always runs, saying why. */
function reasonOf(check: DayCheck, yesterday: CalendarDay): PlannedDay | undefined {
  const { date, state, detail } = check;
  if (date !== yesterday.iso) return state === 'stale' || state === 'missing' ? { date, kind: state, detail } : undefined;
  if (state === 'current') return { date, kind: 'rerun', detail: `yesterday, re-run every schedule (${detail})` };
  return state === 'stale' ? { date, kind: 'stale', detail: `yesterday: ${detail}` } : { date, kind: 'new', detail: 'yesterday' };
}

/**
 * The plan of a schedule's input from the checks of its lookback and of yesterday (the last; when
 * it was not checked, it is new): the stale and missing days, oldest first, then yesterday.
 */
function scheduledPlan(mode: WriteMode, yesterday: CalendarDay, checks: readonly DayCheck[]): RunPlan {
  const all = checks.some((c) => c.date === yesterday.iso) ? checks : [...checks, { date: yesterday.iso, state: 'unpublished' as const, detail: '' }];
  const reasons = all.flatMap((c) => reasonOf(c, yesterday) ?? []);
  const left = all.filter((c): c is DayCheck & { state: SkipReason } => reasonOf(c, yesterday) === undefined);
  return {
    mode,
    dates: reasons.map((r) => r.date),
    reasons,
    skipped: left.map((c) => ({ date: c.date, kind: c.state, detail: c.detail })),
  };
}

/**
 * Checks the execution input and lists its days, without looking at the lake: a schedule's input
 * plans yesterday alone. The CLI checks its flags with it before anything runs.
 */
export function planRun(input: unknown, options: PlanOptions): RunPlan {
  const { mode, days, scheduled } = readInput(input, options);
  return scheduled ? scheduledPlan(mode, days[0], []) : { mode, dates: days.map((d) => d.iso) };
}

export interface LookbackOptions extends PlanOptions {
  readonly lookbackDays: number;
  /** Tells whether each day's published partition is current or stale, or the day unpublished or missing (`checkDays`). */
  readonly checkDays: (days: readonly CalendarDay[]) => Promise<readonly DayCheck[]>;
}

/** The days before `yesterday` a schedule's input re-checks, oldest first. */
export function lookbackWindow(yesterday: CalendarDay, lookbackDays: number): CalendarDay[] {
  return Array.from({ length: lookbackDays }, (_, i) => addDays(yesterday, i - lookbackDays));
}

/**
 * The plan stage's work: `planRun`, and for a schedule's input the checks of its lookback and of
 * yesterday: the stale and missing days run, then yesterday, labelled by what its check found.
 */
export async function planExecution(input: unknown, options: LookbackOptions): Promise<RunPlan> {
  const { mode, days, scheduled } = readInput(input, options);
  if (!scheduled) return { mode, dates: days.map((d) => d.iso) };
  const checked = [...lookbackWindow(days[0], options.lookbackDays), days[0]];
  return scheduledPlan(mode, days[0], await options.checkDays(checked));
}
