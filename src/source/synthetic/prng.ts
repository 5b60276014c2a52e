/**
 * The synthetic source's randomness: a seeded faker for names, and for per-row numbers a hash of
 * (seed, stream, integers) and a fast PRNG started from one. Each kind of draw has its own stream,
 * so adding draws to one never shifts another.
 */
import { base, en, Faker } from '@faker-js/faker';

/** Separates the random streams drawn from one seed. */
export const STREAM = { stations: 1, users: 2, bikes: 3, rentStarts: 4, rentals: 5 } as const;

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
export function uniformOf(seed: number, ...values: number[]): number {
  return hashOf(seed, ...values) / 2 ** 32;
}

/** sfc32, a small fast PRNG, started from the seed and a stream's integers: uniform in [0, 1). */
export function randomStream(seed: number, ...values: number[]): () => number {
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
export function normalOf(u1: number, u2: number): number {
  return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
}

/** A faker whose draws are fixed by the seed and the stream. */
export function seededFaker(seed: number, stream: number): Faker {
  const faker = new Faker({ locale: [en, base] });
  faker.seed([seed >>> 0, Math.floor(seed / 2 ** 32), stream]);
  return faker;
}
