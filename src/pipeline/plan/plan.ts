/**
 * Plan: turns an execution input into the list of days to run. Accepts `{ "date" }`,
 * `{ "from", "to" }` (backfill) or the daily schedule's `{ "scheduledTime" }` (which means
 * "yesterday" in the partition time zone), each with an optional `mode`.
 */
import { addDays, dayAt, daysBetween, parseDay, type CalendarDay } from '../../core/day.js';
import { InputError } from '../../core/errors.js';
import { parseMode, type RunPlan } from '../contracts.js';

/** Most days one execution may cover (ten years). */
export const MAX_DAYS_PER_EXECUTION = 3_660;

export interface PlanOptions {
  readonly timeZone: string;
  /** Longest range a single execution may cover. */
  readonly maxDays: number;
  readonly now?: Date;
}

const FORMS = '{ "date": "YYYY-MM-DD" }, { "from": "YYYY-MM-DD", "to": "YYYY-MM-DD" } or { "scheduledTime": "<ISO 8601>" }, each with an optional "mode"';

/** Checks the execution input and lists its days; never a day after today in `timeZone`. */
export function planRun(input: unknown, options: PlanOptions): RunPlan {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new InputError('input', FORMS, JSON.stringify(input));
  const e = input as Record<string, unknown>;
  const today = dayAt(options.now ?? new Date(), options.timeZone);
  const mode = parseMode(e.mode);
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
    case 'scheduledTime': {
      const at = typeof e.scheduledTime === 'string' ? new Date(e.scheduledTime) : new Date(Number.NaN);
      if (Number.isNaN(at.getTime())) throw new InputError('scheduledTime', 'an ISO 8601 timestamp', String(e.scheduledTime));
      days = [addDays(dayAt(at, options.timeZone), -1)];
      break;
    }
    default:
      throw new InputError('input', FORMS, `fields ${keys || '(none)'}`);
  }
  const last = days.at(-1)!;
  if (last.iso > today.iso) {
    throw new InputError(days.length === 1 ? 'date' : 'to', `a day no later than today (${today.iso} in ${options.timeZone})`, last.iso);
  }
  return { mode, dates: days.map((d) => d.iso) };
}
