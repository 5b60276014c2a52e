/**
 * Plan: turns an execution input into the list of days to run. Accepts `{ "date" }`,
 * `{ "from", "to" }` (backfill), `{ "dates": [...] }` (scattered days, such as the failed days of an
 * earlier execution) or the daily schedule's `{ "scheduledTime" }` (which means "yesterday" in the
 * partition time zone), each with an optional `mode`.
 *
 * The schedule's input also looks back: of the `lookbackDays` days before yesterday, those whose
 * published partition has gone stale (`staleness.ts`) run again. A day of that window that was
 * never published does not: the schedule publishes yesterday, a backfill publishes the past, and
 * the lookback only keeps published days in step with late changes. The plan says why each day
 * runs and lists the days of the window it leaves alone.
 */
import { addDays, dayAt, daysBetween, parseDay, type CalendarDay } from '../../core/day.js';
import { InputError } from '../../core/errors.js';
import { parseMode, type RunPlan, type WriteMode } from '../contracts.js';
import type { DayCheck } from './staleness.js';

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

/** The plan of a schedule's input: the stale days of the lookback, then yesterday. */
function scheduledPlan(mode: WriteMode, yesterday: CalendarDay, checks: readonly DayCheck[]): RunPlan {
  const stale = checks.filter((c) => c.state === 'stale');
  return {
    mode,
    dates: [...stale.map((c) => c.date), yesterday.iso],
    reasons: [
      ...stale.map((c) => ({ date: c.date, kind: 'stale' as const, detail: c.detail })),
      { date: yesterday.iso, kind: 'new' as const, detail: 'yesterday' },
    ],
    skipped: checks.flatMap((c) => (c.state === 'stale' ? [] : [{ date: c.date, kind: c.state, detail: c.detail }])),
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
  /** Tells whether each day's published partition is current, stale or missing (`checkDays`). */
  readonly checkDays: (days: readonly CalendarDay[]) => Promise<readonly DayCheck[]>;
}

/** The days before `yesterday` a schedule's input re-checks, oldest first. */
export function lookbackWindow(yesterday: CalendarDay, lookbackDays: number): CalendarDay[] {
  return Array.from({ length: lookbackDays }, (_, i) => addDays(yesterday, i - lookbackDays));
}

/** The plan stage's work: `planRun`, and for a schedule's input the stale days of its lookback. */
export async function planExecution(input: unknown, options: LookbackOptions): Promise<RunPlan> {
  const { mode, days, scheduled } = readInput(input, options);
  if (!scheduled) return { mode, dates: days.map((d) => d.iso) };
  const window = lookbackWindow(days[0], options.lookbackDays);
  return scheduledPlan(mode, days[0], window.length > 0 ? await options.checkDays(window) : []);
}
