/**
 * Calendar days of the lake: parsing `YYYY-MM-DD`, the half-open UTC window a local day covers
 * in a time zone, date ranges and the Hive partition path of a day.
 */
import { InputError } from './errors.js';

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** A calendar date with no time zone, as written in partition paths. */
export interface CalendarDay {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  /** `YYYY-MM-DD` */
  readonly iso: string;
}

/** Parses a strict `YYYY-MM-DD` that names a real date; `field` goes into the error. */
export function parseDay(value: unknown, field = 'date'): CalendarDay {
  const expected = 'a calendar date as YYYY-MM-DD';
  if (typeof value !== 'string') throw new InputError(field, expected, value === undefined ? undefined : String(value));
  const match = ISO_DATE.exec(value);
  if (!match) throw new InputError(field, expected, value);
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const probe = new Date(Date.UTC(year, month - 1, day));
  if (year < 1970 || probe.getUTCFullYear() !== year || probe.getUTCMonth() !== month - 1 || probe.getUTCDate() !== day) {
    throw new InputError(field, `${expected} that exists (from 1970)`, value);
  }
  return { year, month, day, iso: value };
}

/** Checks an IANA time zone name (`UTC`, `Europe/Berlin`). */
export function parseTimeZone(value: string, field = 'PARTITION_TIMEZONE'): string {
  // The default needs no check: ICU's time-zone data costs about 20 ms of every cold start to load.
  if (value === 'UTC') return value;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: value }).resolvedOptions().timeZone;
  } catch {
    throw new InputError(field, 'an IANA time zone such as UTC or Europe/Berlin', value);
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** Offset of `timeZone` from UTC at the instant `epochMs`, in milliseconds (east positive). */
export function zoneOffsetMs(epochMs: number, timeZone: string): number {
  // The default zone needs no ICU: building its formatter costs about 20 ms of every cold start.
  if (timeZone === 'UTC') return 0;
  const parts = formatterFor(timeZone).formatToParts(new Date(epochMs));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return asUtc - Math.floor(epochMs / 1000) * 1000;
}

/** Bounds on local midnight around the same wall time in UTC: zones span UTC-12 to UTC+14. */
const SEARCH_BEFORE_MS = 15 * 3_600_000;
const SEARCH_AFTER_MS = 13 * 3_600_000;

/**
 * The first UTC instant whose local date in `timeZone` is `day`. Usually local 00:00; where a
 * clock change skips midnight (America/Santiago), the first instant after the gap.
 */
function localMidnight(day: CalendarDay, timeZone: string): Date {
  const wall = Date.UTC(day.year, day.month - 1, day.day);
  const candidate = wall - zoneOffsetMs(wall - zoneOffsetMs(wall, timeZone), timeZone);
  if (dayAt(new Date(candidate), timeZone).iso === day.iso && dayAt(new Date(candidate - 1), timeZone).iso < day.iso) {
    return new Date(candidate);
  }
  // Midnight does not exist on this day: search for the instant the local date turns over.
  let lo = wall - SEARCH_BEFORE_MS;
  let hi = wall + SEARCH_AFTER_MS;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (dayAt(new Date(mid), timeZone).iso >= day.iso) hi = mid;
    else lo = mid;
  }
  return new Date(hi);
}

/** The half-open window [start, end) of UTC instants that fall on `day` in `timeZone`. */
export function dayWindow(day: CalendarDay, timeZone: string): { start: Date; end: Date } {
  return { start: localMidnight(day, timeZone), end: localMidnight(addDays(day, 1), timeZone) };
}

/**
 * Whole hours `[from, to)` of a day, counted from the start of its window: a day too big for one
 * invocation is cut into such ranges. A daylight-saving day has 23 or 25 of them.
 */
export interface HourRange {
  readonly from: number;
  readonly to: number;
}

/** How many hour ranges of one hour a window holds (the last may be cut short by the window's end). */
export function windowHours(window: { start: Date; end: Date }): number {
  return Math.ceil((window.end.getTime() - window.start.getTime()) / HOUR_MS);
}

/** The part of `window` that `range` covers, cut at the window's end. */
export function hourWindow(window: { start: Date; end: Date }, range: HourRange): { start: Date; end: Date } {
  const start = window.start.getTime();
  return { start: new Date(start + range.from * HOUR_MS), end: new Date(Math.min(start + range.to * HOUR_MS, window.end.getTime())) };
}

/** `day` moved by `n` calendar days. */
export function addDays(day: CalendarDay, n: number): CalendarDay {
  const d = new Date(Date.UTC(day.year, day.month - 1, day.day) + n * DAY_MS);
  return fromUtcDate(d);
}

function fromUtcDate(d: Date): CalendarDay {
  const iso = d.toISOString().slice(0, 10);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), iso };
}

/** The calendar day that `instant` falls on in `timeZone`. */
export function dayAt(instant: Date, timeZone: string): CalendarDay {
  return fromUtcDate(new Date(instant.getTime() + zoneOffsetMs(instant.getTime(), timeZone)));
}

/** Every day from `from` to `to`, both included; rejects reversed or over-long ranges. */
export function daysBetween(from: CalendarDay, to: CalendarDay, maxDays = Number.POSITIVE_INFINITY): CalendarDay[] {
  const count = Math.round((Date.UTC(to.year, to.month - 1, to.day) - Date.UTC(from.year, from.month - 1, from.day)) / DAY_MS) + 1;
  if (count < 1) throw new InputError('to', `a date on or after from (${from.iso})`, to.iso);
  if (count > maxDays) throw new InputError('to', `a range of at most ${maxDays} days`, `${count} days`);
  return Array.from({ length: count }, (_, i) => addDays(from, i));
}

/** The Hive partition columns of the lake, outermost first (integers; month and day written with two digits). */
export const PARTITION_COLUMNS = ['year', 'month', 'day'] as const;

/** Hive partition path of a day: `year=YYYY/month=MM/day=DD`. */
export function partitionPath(day: CalendarDay): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `year=${day.year}/month=${pad(day.month)}/day=${pad(day.day)}`;
}
