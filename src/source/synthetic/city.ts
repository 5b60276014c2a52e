/**
 * The synthetic city: 40-60 named docking stations (a few downtown ones much busier), a fleet of
 * city, e-bikes, cargo and folding bikes with its tariff, and the `users` and `bikes` rows. Users
 * and bikes depend only on (seed, id), so rentals can reference and price them without loading
 * them.
 */
import { DEFAULT_SEED } from './options.js';
import { seededFaker, STREAM, uniformOf } from './prng.js';

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

/** The station a uniform draw lands on, weighted by popularity. */
export function stationIndex(network: StationNetwork, u: number): number {
  return network.pick[Math.floor(u * STATION_PICK_SLOTS)];
}

export interface BikeType {
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
export function bikeTypeOf(seed: number, bikeId: number): BikeType {
  let u = uniformOf(seed, STREAM.bikes, bikeId, 1);
  for (const type of BIKE_TYPES) {
    if (u < type.share) return type;
    u -= type.share;
  }
  return BIKE_TYPES[0];
}

/** Price of a ride in cents: unlock fee plus every started minute, capped at a day pass. */
export function priceCents(type: BikeType, durationSeconds: number): number {
  const minutes = Math.max(1, Math.ceil(durationSeconds / 60));
  return Math.min(DAY_PASS_CENTS, UNLOCK_FEE_CENTS + minutes * type.centsPerMinute);
}

/** Cents as the source writes them: `3.45`. */
export function formatCents(cents: number): string {
  const rest = cents % 100;
  return `${Math.floor(cents / 100)}.${rest < 10 ? '0' : ''}${rest}`;
}

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
