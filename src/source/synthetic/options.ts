/**
 * What the synthetic source generator is asked for (days, rentals per day, users, bikes, seed,
 * defect rate, time zone), its defaults and bounds, and the checks that turn bad input into an
 * `InputError` naming the field.
 */
import { parseTimeZone, type CalendarDay } from '../../core/day.js';
import { InputError } from '../../core/errors.js';

export const DEFAULT_USERS = 1000;
export const DEFAULT_BIKES = 300;
export const DEFAULT_SEED = 42;
/**
 * Share of rentals whose `rent_cost` is junk text (`error`, `N/A`, `12,50`, ...), on top of the
 * fixed-rate anomalies below.
 */
export const DEFAULT_ERROR_RATE = 0.01;
export const MAX_RENTALS_PER_DAY = 10_000_000;
export const MAX_USERS = 1_000_000;
export const MAX_BIKES = 1_000_000;

/** What the generator produces for one day. */
export interface RentalDayOptions {
  /** Rentals that start on each local day, 0..10,000,000. */
  rentalsPerDay: number;
  /** Users with ids 1..users that rentals reference (default 1000). */
  users?: number;
  /** Bikes with ids 1..bikes that rentals reference (default 300). */
  bikes?: number;
  /** Seed of every random choice; same seed, same bytes (default 42). */
  seed?: number;
  /** Share of rentals with a junk `rent_cost`, 0..1 (default 0.01). */
  errorRate?: number;
  /** IANA time zone whose local days hold the rentals (default UTC). */
  timeZone?: string;
}

/** The days to seed and what each of them holds. */
export interface SeedOptions extends RentalDayOptions {
  from: CalendarDay;
  to: CalendarDay;
}

/** What a call to `seed` (`load.ts`) wrote. */
export interface SeedSummary {
  days: number;
  rentals: number;
  users: number;
  bikes: number;
  seconds: number;
}

/** The options with every default filled in and every bound checked. */
export type ResolvedDayOptions = Required<RentalDayOptions>;

function integerIn(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InputError(field, `an integer from ${min.toLocaleString('en-US')} to ${max.toLocaleString('en-US')}`, String(value));
  }
  return value;
}

/** Fills in the defaults and checks every bound; throws `InputError` naming the first bad field. */
export function resolveDayOptions(options: RentalDayOptions): ResolvedDayOptions {
  const errorRate = options.errorRate ?? DEFAULT_ERROR_RATE;
  if (typeof errorRate !== 'number' || !(errorRate >= 0 && errorRate <= 1)) {
    throw new InputError('errorRate', 'a number from 0 to 1', String(errorRate));
  }
  return {
    rentalsPerDay: integerIn('rentalsPerDay', options.rentalsPerDay, 0, MAX_RENTALS_PER_DAY),
    users: integerIn('users', options.users ?? DEFAULT_USERS, 1, MAX_USERS),
    bikes: integerIn('bikes', options.bikes ?? DEFAULT_BIKES, 1, MAX_BIKES),
    seed: integerIn('seed', options.seed ?? DEFAULT_SEED, 0, Number.MAX_SAFE_INTEGER),
    errorRate,
    timeZone: parseTimeZone(options.timeZone ?? 'UTC', 'timeZone'),
  };
}
