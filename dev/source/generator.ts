/**
 * Synthetic bike-rental data for the source tables (`users`, `bikes`, `rentals`) and its bulk
 * loader.
 *
 * The data looks like a city bike-share: 40-60 named stations, a fleet of city, e-bikes, cargo and
 * folding bikes, rentals that peak in the morning and evening rush hours, right-skewed durations
 * and a tariff. It also carries the defects a real source has (junk costs, open rentals, clocks
 * that run backwards, refunds booked as negative costs) at known rates, so the pipeline's
 * quarantine and quality checks have something to find.
 *
 * Everything is a pure function of the options: a day's rentals depend only on (seed, day,
 * rentalsPerDay, errorRate, users, bikes) and the time zone that places the day, never on the
 * range it was seeded in, and users and bikes depend only on (seed, id).
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { base, en, Faker } from '@faker-js/faker';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { classifyDbError } from '../../src/source/connect.js';
import { addDays, daysBetween, dayWindow, parseTimeZone, type CalendarDay } from '../../src/core/day.js';
import { InputError } from '../../src/core/errors.js';
import { BIKES, RENTALS, USERS, type ColumnKind, type SourceTable } from '../../src/core/schema.js';

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

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

/** What a call to {@link seed} wrote. */
export interface SeedSummary {
  days: number;
  rentals: number;
  users: number;
  bikes: number;
  seconds: number;
}

type ResolvedDayOptions = Required<RentalDayOptions>;

function integerIn(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InputError(field, `an integer from ${min.toLocaleString('en-US')} to ${max.toLocaleString('en-US')}`, String(value));
  }
  return value;
}

function resolveDayOptions(options: RentalDayOptions): ResolvedDayOptions {
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

// ---------------------------------------------------------------------------------------------
// Anomalies
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Randomness: a seeded faker for names, a fast PRNG for per-row numbers
// ---------------------------------------------------------------------------------------------

/** Separates the random streams drawn from one seed. */
const STREAM = { stations: 1, users: 2, bikes: 3, rentStarts: 4, rentals: 5 } as const;

/** murmur3's finaliser: spreads every input bit over the 32-bit result. */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A 32-bit hash of the seed and a few small integers. */
function hashOf(seed: number, ...values: number[]): number {
  let h = mix32((seed >>> 0) ^ 0x9e3779b9);
  h = mix32(h ^ Math.floor(seed / 2 ** 32));
  for (const v of values) h = mix32((h + Math.imul(v | 0, 0xcc9e2d51)) ^ Math.floor(v / 2 ** 32));
  return h;
}

/** A uniform number in [0, 1) fixed by the seed and a few integers. */
function uniformOf(seed: number, ...values: number[]): number {
  return hashOf(seed, ...values) / 2 ** 32;
}

/** sfc32, a small fast PRNG, started from the seed and a stream's integers: uniform in [0, 1). */
function randomStream(seed: number, ...values: number[]): () => number {
  let a = hashOf(seed, ...values, 1);
  let b = hashOf(seed, ...values, 2);
  let c = hashOf(seed, ...values, 3);
  let d = hashOf(seed, ...values, 4);
  const next = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  return next;
}

/** A standard normal from two uniforms (Box-Muller). */
function normalOf(u1: number, u2: number): number {
  return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
}

function seededFaker(seed: number, stream: number): Faker {
  const faker = new Faker({ locale: [en, base] });
  faker.seed([seed >>> 0, Math.floor(seed / 2 ** 32), stream]);
  return faker;
}

// ---------------------------------------------------------------------------------------------
// Stations
// ---------------------------------------------------------------------------------------------

/** A city's docking stations, fixed per seed, and how busy each one is. */
export interface StationNetwork {
  readonly names: readonly string[];
  /** Station index for a uniform draw, weighted by popularity: `pick[floor(u * pick.length)]`. */
  readonly pick: Uint8Array;
}

const STATION_PICK_SLOTS = 4096;
const stationNetworks = new Map<number, StationNetwork>();

/** The 40-60 named stations of the city a seed describes; a few downtown ones are much busier. */
export function stationsFor(seed: number): StationNetwork {
  const cached = stationNetworks.get(seed);
  if (cached) return cached;
  const faker = seededFaker(seed, STREAM.stations);
  const count = faker.number.int({ min: 40, max: 60 });
  const names = new Set<string>();
  while (names.size < count) {
    const street = faker.location.street();
    names.add(names.size % 4 === 3 ? `${street} / ${faker.location.street()}` : street);
  }
  // Zipf-like popularity: the first stations are the central ones.
  const weights = Array.from({ length: count }, (_, i) => 1 / (i + 1) ** 0.7);
  const total = weights.reduce((sum, w) => sum + w, 0);
  const pick = new Uint8Array(STATION_PICK_SLOTS);
  let slot = 0;
  let cumulative = 0;
  weights.forEach((weight, station) => {
    cumulative += weight / total;
    const last = station === count - 1 ? STATION_PICK_SLOTS : Math.round(cumulative * STATION_PICK_SLOTS);
    for (; slot < last; slot++) pick[slot] = station;
  });
  const network = { names: [...names], pick };
  stationNetworks.set(seed, network);
  return network;
}

function stationIndex(network: StationNetwork, u: number): number {
  return network.pick[Math.floor(u * STATION_PICK_SLOTS)];
}

// ---------------------------------------------------------------------------------------------
// Fleet and tariff
// ---------------------------------------------------------------------------------------------

interface BikeType {
  readonly name: string;
  /** Share of the fleet. */
  readonly share: number;
  /** Price per started minute, in cents; the unlock fee comes on top. */
  readonly centsPerMinute: number;
  readonly models: readonly string[];
}

/** The fleet's bike types and their tariff. Shares add up to 1. */
const BIKE_TYPES: readonly BikeType[] = [
  { name: 'city', share: 0.55, centsPerMinute: 10, models: ['Urban Classic 3', 'Metro 7', 'Commuter Step-Through', 'Cityline 8'] },
  { name: 'e-bike', share: 0.3, centsPerMinute: 25, models: ['Volt E5', 'Pulse Assist 500', 'Current E-City'] },
  { name: 'cargo', share: 0.08, centsPerMinute: 30, models: ['Longtail L2', 'Box Cargo E'] },
  { name: 'folding', share: 0.07, centsPerMinute: 12, models: ['Fold 16', 'Compact 20'] },
];
const UNLOCK_FEE_CENTS = 100;
/** The tariff never charges more than a day pass. */
const DAY_PASS_CENTS = 3000;
const OUT_OF_SERVICE_RATE = 0.03;
const BIKE_WITHOUT_HOME_RATE = 0.02;

/** A bike's type, fixed by seed and id so rentals can price a ride without loading the fleet. */
function bikeTypeOf(seed: number, bikeId: number): BikeType {
  let u = uniformOf(seed, STREAM.bikes, bikeId, 1);
  for (const type of BIKE_TYPES) {
    if (u < type.share) return type;
    u -= type.share;
  }
  return BIKE_TYPES[0];
}

/** Price of a ride in cents: unlock fee plus every started minute, capped at a day pass. */
function priceCents(type: BikeType, durationSeconds: number): number {
  const minutes = Math.max(1, Math.ceil(durationSeconds / 60));
  return Math.min(DAY_PASS_CENTS, UNLOCK_FEE_CENTS + minutes * type.centsPerMinute);
}

/** Cents as the source writes them: `3.45`. */
function formatCents(cents: number): string {
  const rest = cents % 100;
  return `${Math.floor(cents / 100)}.${rest < 10 ? '0' : ''}${rest}`;
}

// ---------------------------------------------------------------------------------------------
// Rows
// ---------------------------------------------------------------------------------------------

/** A row of `users`, keyed by its column names. */
export interface UserRow {
  user_id: number;
  first_name: string;
  last_name: string;
  email: string;
  age: number | null;
  city: string | null;
  /** `YYYY-MM-DD` */
  signup_date: string;
}

/** A row of `bikes`, keyed by its column names. */
export interface BikeRow {
  bike_id: number;
  model: string;
  bike_type: string;
  home_station: string | null;
  in_service: boolean;
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

const SIGNUPS_FROM = '2018-01-01T00:00:00Z';
const SIGNUPS_TO = '2024-12-31T00:00:00Z';

/**
 * Users 1..count. Drawn in id order from one seeded faker, so user n is the same whatever the
 * count.
 */
export function* usersFor(count: number, seed = DEFAULT_SEED): Generator<UserRow> {
  const faker = seededFaker(seed, STREAM.users);
  for (let userId = 1; userId <= count; userId++) {
    const firstName = faker.person.firstName();
    const lastName = faker.person.lastName();
    const email = faker.internet.email({ firstName, lastName }).toLowerCase();
    const age = faker.number.int({ min: 16, max: 79 });
    const city = faker.location.city();
    const signup = faker.date.between({ from: SIGNUPS_FROM, to: SIGNUPS_TO });
    const details = faker.number.float();
    yield {
      user_id: userId,
      first_name: firstName,
      last_name: lastName,
      email,
      // Some profiles were never completed.
      age: details < 0.05 ? null : age,
      city: details >= 0.05 && details < 0.08 ? null : city,
      signup_date: signup.toISOString().slice(0, 10),
    };
  }
}

/** Bikes 1..count; bike n depends only on (seed, n). */
export function* bikesFor(count: number, seed = DEFAULT_SEED): Generator<BikeRow> {
  const stations = stationsFor(seed);
  for (let bikeId = 1; bikeId <= count; bikeId++) {
    const type = bikeTypeOf(seed, bikeId);
    const model = type.models[Math.floor(uniformOf(seed, STREAM.bikes, bikeId, 2) * type.models.length)];
    const home = uniformOf(seed, STREAM.bikes, bikeId, 3);
    yield {
      bike_id: bikeId,
      model,
      bike_type: type.name,
      home_station: home < BIKE_WITHOUT_HOME_RATE ? null : stations.names[stationIndex(stations, uniformOf(seed, STREAM.bikes, bikeId, 4))],
      in_service: uniformOf(seed, STREAM.bikes, bikeId, 5) >= OUT_OF_SERVICE_RATE,
    };
  }
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

function* generateRentals(day: CalendarDay, resolved: ResolvedDayOptions): Generator<RentalRow> {
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

// ---------------------------------------------------------------------------------------------
// COPY text format
// ---------------------------------------------------------------------------------------------

const COPY_SPECIAL = /[\\\t\n\r]/;
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** A text value as a field of `COPY ... FROM STDIN` text format; NULL becomes `\N`. */
export function escapeCopyText(value: string | null): string {
  if (value === null) return '\\N';
  return COPY_SPECIAL.test(value) ? value.replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c]) : value;
}

const TWO_DIGITS = Array.from({ length: 60 }, (_, n) => String(n).padStart(2, '0'));
const THREE_DIGITS = Array.from({ length: 1000 }, (_, n) => String(n).padStart(3, '0'));
let isoDayNumber = Number.NaN;
let isoDayPrefix = '';

/**
 * `date.toISOString()`, several times faster: rows of a day share their date part, so only the
 * time of day is formatted per value. Timestamps are most of a rental's COPY text.
 */
function isoTimestamp(date: Date): string {
  const ms = date.getTime();
  const dayNumber = Math.floor(ms / DAY_MS);
  if (dayNumber !== isoDayNumber) {
    isoDayNumber = dayNumber;
    isoDayPrefix = new Date(dayNumber * DAY_MS).toISOString().slice(0, 11);
  }
  let rest = ms - dayNumber * DAY_MS;
  const millis = rest % 1000;
  rest = (rest - millis) / 1000;
  const seconds = rest % 60;
  rest = (rest - seconds) / 60;
  const minutes = rest % 60;
  const hours = (rest - minutes) / 60;
  return `${isoDayPrefix}${TWO_DIGITS[hours]}:${TWO_DIGITS[minutes]}:${TWO_DIGITS[seconds]}.${THREE_DIGITS[millis]}Z`;
}

function copyField(kind: ColumnKind, value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  switch (kind) {
    case 'timestamptz':
      return isoTimestamp(value as Date);
    case 'bool':
      return value ? 't' : 'f';
    case 'text':
    case 'date':
      return escapeCopyText(value as string);
    case 'int64':
    case 'int32':
      return String(value);
  }
}

/** One row as a line of COPY text, its fields in the table's column order. */
export function copyTextLine(table: SourceTable, row: object): string {
  const record = row as Record<string, unknown>;
  let line = '';
  for (let i = 0; i < table.columns.length; i++) {
    const column = table.columns[i];
    line += (i === 0 ? '' : '\t') + copyField(column.kind, record[column.name]);
  }
  return `${line}\n`;
}

const ROWS_PER_CHUNK = 4096;

/** Rows as COPY text in chunks of a few thousand lines, so no day is ever one string. */
function* copyTextChunks(table: SourceTable, rows: Iterable<object>, counter: { rows: number }): Generator<string> {
  let chunk = '';
  let inChunk = 0;
  for (const row of rows) {
    chunk += copyTextLine(table, row);
    counter.rows++;
    if (++inChunk === ROWS_PER_CHUNK) {
      yield chunk;
      chunk = '';
      inChunk = 0;
    }
  }
  if (inChunk > 0) yield chunk;
}

/** Streams rows into `target` (a table with the same columns as `table`); returns the row count. */
async function copyRows(client: pg.Client, table: SourceTable, target: string, rows: Iterable<object>): Promise<number> {
  const counter = { rows: 0 };
  const columns = table.columns.map((c) => c.name).join(', ');
  await pipeline(Readable.from(copyTextChunks(table, rows, counter)), client.query(copyFrom(`COPY ${target} (${columns}) FROM STDIN`)));
  return counter.rows;
}

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

/** Writes rows 1..N of `users` or `bikes`: new ids are inserted, existing ones overwritten. */
async function upsertById(client: pg.Client, table: SourceTable, rows: Iterable<object>): Promise<number> {
  const staging = `seed_${table.name}`;
  const [key, ...rest] = table.columns.map((c) => c.name);
  await client.query(`CREATE TEMP TABLE ${staging} (LIKE ${table.name}) ON COMMIT DROP`);
  const count = await copyRows(client, table, staging, rows);
  const columns = [key, ...rest].join(', ');
  await client.query(
    `INSERT INTO ${table.name} (${columns}) SELECT ${columns} FROM ${staging} ` +
      `ON CONFLICT (${key}) DO UPDATE SET ${rest.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}`,
  );
  return count;
}

/** SQLSTATE of a permission the role lacks. */
const INSUFFICIENT_PRIVILEGE = '42501';

/**
 * Lets the rest of the transaction skip the per-row foreign-key triggers, as
 * `pg_restore --disable-triggers` does, when the role may (a superuser); they cost more than half
 * of a large load. Safe here because every rental references ids 1..users and 1..bikes that this
 * transaction has just upserted and still holds locked. Returns false, changing nothing, when the
 * role may not.
 */
async function skipReferenceChecks(client: pg.Client): Promise<boolean> {
  await client.query('SAVEPOINT skip_reference_checks');
  try {
    await client.query('SET LOCAL session_replication_role = replica');
    await client.query('RELEASE SAVEPOINT skip_reference_checks');
    return true;
  } catch (error) {
    if ((error as { code?: string }).code !== INSUFFICIENT_PRIVILEGE) throw error;
    await client.query('ROLLBACK TO SAVEPOINT skip_reference_checks');
    return false;
  }
}

/**
 * Fills the source tables with synthetic rentals for every day from `options.from` to
 * `options.to` (both included, local days in `options.timeZone`), plus the users and bikes they
 * reference.
 *
 * Runs in one transaction and replaces what the range held: rentals that start inside the range's
 * window, or carry one of its days' rental ids, are deleted first, so seeding twice never
 * duplicates. `onProgress` hears about each day once its rows are loaded.
 */
export async function seed(client: pg.Client, options: SeedOptions, onProgress?: (progress: { day: string; rows: number }) => void): Promise<SeedSummary> {
  const began = performance.now();
  const resolved = resolveDayOptions(options);
  const days = daysBetween(options.from, options.to);
  const first = dayWindow(options.from, resolved.timeZone).start;
  const last = dayWindow(options.to, resolved.timeZone).end;

  let rentals = 0;
  try {
    await client.query('BEGIN');
    const users = await upsertById(client, USERS, usersFor(resolved.users, resolved.seed));
    const bikes = await upsertById(client, BIKES, bikesFor(resolved.bikes, resolved.seed));
    await client.query('DELETE FROM rentals WHERE (rent_start >= $1 AND rent_start < $2) OR (rental_id >= $3 AND rental_id < $4)', [
      first,
      last,
      firstRentalIdOf(options.from),
      firstRentalIdOf(addDays(options.to, 1)),
    ]);
    await skipReferenceChecks(client);
    for (const day of days) {
      const rows = await copyRows(client, RENTALS, RENTALS.name, generateRentals(day, resolved));
      rentals += rows;
      onProgress?.({ day: day.iso, rows });
    }
    await client.query('COMMIT');
    return { days: days.length, rentals, users, bikes, seconds: (performance.now() - began) / 1000 };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw classifyDbError(error, `seed ${options.from.iso}..${options.to.iso}`);
  }
}
