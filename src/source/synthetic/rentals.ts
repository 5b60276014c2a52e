/**
 * Synthetic rentals, day by day. They look like a city bike-share's: rentals that peak in the
 * morning and evening rush hours, right-skewed durations, the city's tariff (`city.ts`). They also
 * carry the defects a real source has (junk costs, open rentals, clocks that run backwards,
 * refunds booked as negative costs) at known rates, so the pipeline's quarantine and quality
 * checks have something to find.
 *
 * Everything is a pure function of the options: a day's rentals depend only on (seed, day,
 * rentalsPerDay, errorRate, users, bikes) and the time zone that places the day, never on the
 * range it was seeded in.
 */
import { dayWindow, type CalendarDay } from '../../core/day.js';
import { bikeTypeOf, formatCents, priceCents, stationIndex, stationsFor } from './city.js';
import { resolveDayOptions, type RentalDayOptions, type ResolvedDayOptions } from './options.js';
import { normalOf, randomStream, STREAM } from './prng.js';

/** Share of rentals still open: `rent_end`, `end_station` and `rent_cost` are NULL. */
export const OPEN_RENTAL_RATE = 0.01;
/** Share of rentals whose `rent_end` lies before `rent_start` (a dock with a wrong clock). */
export const END_BEFORE_START_RATE = 0.002;
/** Share of rentals with a negative `rent_cost` such as `-2.50` (a refund booked as a rental). */
export const NEGATIVE_COST_RATE = 0.0005;
/**
 * The junk `rent_cost` values drawn at `errorRate`, besides the real price written with a decimal
 * comma (`12,50`). None of them parses as a decimal with a point.
 */
export const JUNK_RENT_COSTS: readonly string[] = ['error', 'N/A', '', 'NaN', 'free'];

type RentalKind = 'closed' | 'open' | 'endBeforeStart' | 'negativeCost' | 'junkCost';

/** Picks a rental's kind from one uniform draw; the anomalies never overlap. */
function rentalKind(u: number, errorRate: number): RentalKind {
  let bound = OPEN_RENTAL_RATE;
  if (u < bound) return 'open';
  bound += END_BEFORE_START_RATE;
  if (u < bound) return 'endBeforeStart';
  bound += NEGATIVE_COST_RATE;
  if (u < bound) return 'negativeCost';
  bound += errorRate;
  if (u < bound) return 'junkCost';
  return 'closed';
}

/** A row of `rentals`, keyed by its column names. */
export interface RentalRow {
  rental_id: number;
  user_id: number;
  bike_id: number;
  rent_start: Date;
  rent_end: Date | null;
  start_station: string | null;
  end_station: string | null;
  rent_cost: string | null;
  updated_at: Date;
}

/** When in the local day rentals start: two rush hours on a daytime base and a quiet night. */
const DEMAND = {
  morningRush: { share: 0.24, hour: 8, sdHours: 0.8 },
  eveningRush: { share: 0.3, hour: 17.5, sdHours: 1.1 },
  daytime: { share: 0.4, fromHour: 6, toHour: 22 },
  // The remaining share is spread evenly over all 24 hours.
} as const;

/** A local time of day in hours [0, 24) drawn from {@link DEMAND}; uses three draws. */
function startHourOf(next: () => number): number {
  const component = next();
  const u1 = next();
  const u2 = next();
  const { morningRush, eveningRush, daytime } = DEMAND;
  let hour: number;
  if (component < morningRush.share) hour = morningRush.hour + morningRush.sdHours * normalOf(u1, u2);
  else if (component < morningRush.share + eveningRush.share) hour = eveningRush.hour + eveningRush.sdHours * normalOf(u1, u2);
  else if (component < morningRush.share + eveningRush.share + daytime.share) hour = daytime.fromHour + u1 * (daytime.toHour - daytime.fromHour);
  else hour = u1 * 24;
  return ((hour % 24) + 24) % 24;
}

/** Ride lengths: mostly short trips (median 15 min), a few leisure rides of an hour or more. */
const DURATION = {
  trip: { medianMinutes: 15, sigma: 0.6 },
  leisure: { share: 0.04, medianMinutes: 75, sigma: 0.55 },
  minSeconds: 60,
  maxSeconds: 5 * 3600,
} as const;

function durationSecondsOf(kind: number, u1: number, u2: number): number {
  const { medianMinutes, sigma } = kind < DURATION.leisure.share ? DURATION.leisure : DURATION.trip;
  const seconds = Math.round(medianMinutes * 60 * Math.exp(sigma * normalOf(u1, u2)));
  return Math.min(DURATION.maxSeconds, Math.max(DURATION.minSeconds, seconds));
}

const DAY_MS = 86_400_000;
/** Rentals of one day take ids from `day number * RENTAL_IDS_PER_DAY`. */
export const RENTAL_IDS_PER_DAY = 100_000_000;

function epochDayOf(day: CalendarDay): number {
  return Math.round(Date.UTC(day.year, day.month - 1, day.day) / DAY_MS);
}

/** The first rental id of a day; the day's ids are [first, first + rentalsPerDay). */
export function firstRentalIdOf(day: CalendarDay): number {
  return epochDayOf(day) * RENTAL_IDS_PER_DAY;
}

/**
 * The day's rent_start instants in ascending order, so rental ids grow with time as in a real
 * source. Local hours map onto the day's window, so a 23- or 25-hour day still holds them all.
 */
function rentStartsOf(day: CalendarDay, options: ResolvedDayOptions): Float64Array {
  const next = randomStream(options.seed, STREAM.rentStarts, epochDayOf(day));
  const window = dayWindow(day, options.timeZone);
  const start = window.start.getTime();
  const length = window.end.getTime() - start;
  const starts = new Float64Array(options.rentalsPerDay);
  for (let i = 0; i < starts.length; i++) {
    // Whole seconds, and never past the window's end.
    starts[i] = start + Math.floor(((startHourOf(next) / 24) * length) / 1000) * 1000;
  }
  return starts.sort();
}

/**
 * The rentals that start on `day` (local to `options.timeZone`), in rental_id order.
 *
 * The rows depend only on the options and the day, never on other days, so a day seeded alone
 * equals the same day seeded inside a range. Every row draws the same count of random numbers,
 * so a different `errorRate` changes which rows are defective and nothing else.
 */
export function rentalsForDay(day: CalendarDay, options: RentalDayOptions): Generator<RentalRow> {
  return generateRentals(day, resolveDayOptions(options));
}

/** {@link rentalsForDay} for options already resolved (the loader resolves them once for all days). */
export function* generateRentals(day: CalendarDay, resolved: ResolvedDayOptions): Generator<RentalRow> {
  const { seed, users, bikes, errorRate } = resolved;
  const stations = stationsFor(seed);
  const starts = rentStartsOf(day, resolved);
  const firstId = firstRentalIdOf(day);
  const next = randomStream(seed, STREAM.rentals, epochDayOf(day));

  for (let index = 0; index < starts.length; index++) {
    // Eleven draws per row, always in this order.
    const uUser = next();
    const uBike = next();
    const uFrom = next();
    const uRoundTrip = next();
    const uTo = next();
    const uRideKind = next();
    const uLength1 = next();
    const uLength2 = next();
    const uKind = next();
    const uJunk = next();
    const uLag = next();

    // Regular riders (low ids) ride far more often than occasional ones.
    const userId = 1 + Math.floor(users * uUser ** 1.6);
    const bikeId = 1 + Math.floor(bikes * uBike);
    const from = stationIndex(stations, uFrom);
    const to = uRoundTrip < 0.12 ? from : stationIndex(stations, uTo);
    const durationSeconds = durationSecondsOf(uRideKind, uLength1, uLength2);
    const rentStart = starts[index];
    const kind = rentalKind(uKind, errorRate);

    let rentEnd: number | null = rentStart + durationSeconds * 1000;
    let cost: string | null = formatCents(priceCents(bikeTypeOf(seed, bikeId), durationSeconds));
    switch (kind) {
      case 'open':
        rentEnd = null;
        cost = null;
        break;
      case 'endBeforeStart':
        rentEnd = rentStart - durationSeconds * 1000;
        break;
      case 'negativeCost':
        cost = `-${cost}`;
        break;
      case 'junkCost': {
        const junk = Math.floor(uJunk * (JUNK_RENT_COSTS.length + 1));
        cost = junk < JUNK_RENT_COSTS.length ? JUNK_RENT_COSTS[junk] : cost.replace('.', ',');
        break;
      }
      case 'closed':
        break;
    }
    const lastChange = rentEnd === null ? rentStart : Math.max(rentStart, rentEnd);

    yield {
      rental_id: firstId + index,
      user_id: userId,
      bike_id: bikeId,
      rent_start: new Date(rentStart),
      rent_end: rentEnd === null ? null : new Date(rentEnd),
      start_station: stations.names[from],
      end_station: rentEnd === null ? null : stations.names[to],
      rent_cost: cost,
      // The dock reports a few seconds to two minutes after the event.
      updated_at: new Date(lastChange + 1000 + Math.floor(uLag * 120) * 1000),
    };
  }
}
