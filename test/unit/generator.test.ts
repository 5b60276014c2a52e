import type pg from 'pg';
import { describe, expect, it, vi } from 'vitest';
import { parseDay } from '../../src/core/day.js';
import { InputError } from '../../src/core/errors.js';
import { bikesFor, stationsFor, usersFor } from '../../src/source/synthetic/city.js';
import { copyTextLine, escapeCopyText } from '../../src/source/synthetic/copy-encode.js';
import { seed } from '../../src/source/synthetic/load.js';
import {
  END_BEFORE_START_RATE,
  JUNK_RENT_COSTS,
  NEGATIVE_COST_RATE,
  OPEN_RENTAL_RATE,
  firstRentalIdOf,
  rentalsForDay,
  type RentalRow,
} from '../../src/source/synthetic/rentals.js';
import { RENTALS } from '../../src/core/schema.js';

const DAY = parseDay('2025-01-02');
const PRICE = /^\d+\.\d{2}$/;

function copyText(rows: Iterable<RentalRow>): string {
  let text = '';
  for (const row of rows) text += copyTextLine(RENTALS, row);
  return text;
}

function shareOf(rows: RentalRow[], test: (row: RentalRow) => boolean): number {
  return rows.filter(test).length / rows.length;
}

describe('rentalsForDay', () => {
  it('yields the same rows every time for the same options', () => {
    // Prepare
    const options = { rentalsPerDay: 2_000, seed: 7 };

    // Act
    const first = copyText(rentalsForDay(DAY, options));
    const second = copyText(rentalsForDay(DAY, options));

    // Assess
    expect(second).toBe(first);
    expect(first.split('\n')).toHaveLength(2_001);
  });

  it('yields a day the same rows whether or not its neighbours were generated first', () => {
    // Prepare
    const options = { rentalsPerDay: 1_000 };
    const alone = copyText(rentalsForDay(DAY, options));

    // Act
    const inRange = ['2025-01-01', '2025-01-02', '2025-01-03'].map((iso) => copyText(rentalsForDay(parseDay(iso), options)));

    // Assess
    expect(inRange[1]).toBe(alone);
    expect(inRange[0]).not.toBe(alone);
  });

  it('depends on the seed', () => {
    // Act
    const seeded42 = copyText(rentalsForDay(DAY, { rentalsPerDay: 100, seed: 42 }));
    const seeded43 = copyText(rentalsForDay(DAY, { rentalsPerDay: 100, seed: 43 }));

    // Assess
    expect(seeded43).not.toBe(seeded42);
  });

  it('changes only which rows are defective when the error rate changes', () => {
    // Act
    const clean = [...rentalsForDay(DAY, { rentalsPerDay: 2_000, errorRate: 0 })];
    const dirty = [...rentalsForDay(DAY, { rentalsPerDay: 2_000, errorRate: 0.2 })];

    // Assess
    const identity = (r: RentalRow) => [r.rental_id, r.user_id, r.bike_id, r.rent_start.getTime(), r.start_station];
    expect(dirty.map(identity)).toEqual(clean.map(identity));
    expect(dirty.filter((r, i) => r.rent_cost !== clean[i].rent_cost).length).toBeGreaterThan(300);
  });

  it('numbers rentals from the day number times 100,000,000, in rent_start order', () => {
    // Act
    const rows = [...rentalsForDay(DAY, { rentalsPerDay: 1_000 })];

    // Assess
    const first = firstRentalIdOf(DAY);
    expect(first).toBe(20_090 * 100_000_000);
    expect(rows.map((r) => r.rental_id)).toEqual(rows.map((_, i) => first + i));
    const starts = rows.map((r) => r.rent_start.getTime());
    expect(starts).toEqual([...starts].sort((a, b) => a - b));
  });

  it('keeps the defects near their configured rates on 20,000 rows', () => {
    // Prepare
    const errorRate = 0.03;

    // Act
    const rows = [...rentalsForDay(DAY, { rentalsPerDay: 20_000, errorRate })];

    // Assess
    const open = shareOf(rows, (r) => r.rent_end === null);
    const endBeforeStart = shareOf(rows, (r) => r.rent_end !== null && r.rent_end < r.rent_start);
    const negative = shareOf(rows, (r) => (r.rent_cost ?? '').startsWith('-') && PRICE.test((r.rent_cost ?? '').slice(1)));
    const junk = shareOf(rows, (r) => r.rent_cost !== null && !r.rent_cost.startsWith('-') && !PRICE.test(r.rent_cost));
    expect(open).toBeGreaterThan(OPEN_RENTAL_RATE * 0.6);
    expect(open).toBeLessThan(OPEN_RENTAL_RATE * 1.4);
    expect(endBeforeStart).toBeGreaterThan(END_BEFORE_START_RATE * 0.4);
    expect(endBeforeStart).toBeLessThan(END_BEFORE_START_RATE * 2);
    expect(negative).toBeGreaterThan(0);
    expect(negative).toBeLessThan(NEGATIVE_COST_RATE * 3);
    expect(junk).toBeGreaterThan(errorRate * 0.8);
    expect(junk).toBeLessThan(errorRate * 1.2);
    const junkValues = new Set(rows.map((r) => r.rent_cost).filter((c) => c !== null && !c.startsWith('-') && !PRICE.test(c)));
    for (const value of JUNK_RENT_COSTS) expect(junkValues).toContain(value);
    expect([...junkValues].some((c) => /^\d+,\d{2}$/.test(c!))).toBe(true);
  });

  it('leaves an open rental without end, end station and cost', () => {
    // Act
    const open = [...rentalsForDay(DAY, { rentalsPerDay: 2_000 })].filter((r) => r.rent_end === null);

    // Assess
    expect(open.length).toBeGreaterThan(0);
    for (const rental of open) {
      expect(rental).toMatchObject({ end_station: null, rent_cost: null });
      expect(rental.updated_at.getTime()).toBeGreaterThan(rental.rent_start.getTime());
    }
  });

  it('passes the pipeline default quality thresholds at the default error rate', () => {
    // Act
    const rows = [...rentalsForDay(DAY, { rentalsPerDay: 20_000 })];

    // Assess
    const nullable = RENTALS.columns.filter((c) => c.nullable).map((c) => c.name as keyof RentalRow);
    for (const column of nullable) expect(shareOf(rows, (r) => r[column] === null)).toBeLessThanOrEqual(0.1);
    const unparseable = shareOf(rows, (r) => r.rent_cost !== null && !/^-?\d+\.\d{2}$/.test(r.rent_cost));
    expect(unparseable).toBeLessThanOrEqual(0.05);
    expect(shareOf(rows, (r) => r.rent_end !== null && r.rent_end < r.rent_start)).toBeLessThanOrEqual(0.01);
    expect(shareOf(rows, (r) => r.rent_cost?.startsWith('-') ?? false)).toBeLessThanOrEqual(0.01);
    expect(new Set(rows.map((r) => r.rental_id)).size).toBe(rows.length);
  });

  it('puts more rentals in the morning rush than at night, inside the local day', () => {
    // Prepare
    const timeZone = 'Europe/Berlin';
    const day = parseDay('2025-03-30'); // the 23-hour day clocks move forward

    // Act
    const rows = [...rentalsForDay(day, { rentalsPerDay: 20_000, timeZone })];

    // Assess
    const localHour = new Intl.DateTimeFormat('en-GB', { timeZone, hour: 'numeric', hourCycle: 'h23' });
    const hours = rows.map((r) => Number(localHour.format(r.rent_start)));
    const rush = hours.filter((h) => h >= 7 && h < 9).length;
    const night = hours.filter((h) => h >= 2 && h < 4).length;
    expect(rush).toBeGreaterThan(night * 10);
    const localDay = new Intl.DateTimeFormat('en-CA', { timeZone });
    expect(new Set(rows.map((r) => localDay.format(r.rent_start)))).toEqual(new Set(['2025-03-30']));
  });

  it('draws right-skewed ride lengths around a 15-minute median', () => {
    // Act
    const minutes = [...rentalsForDay(DAY, { rentalsPerDay: 20_000 })]
      .filter((r) => r.rent_end !== null && r.rent_end > r.rent_start)
      .map((r) => (r.rent_end!.getTime() - r.rent_start.getTime()) / 60_000)
      .sort((a, b) => a - b);

    // Assess
    const median = minutes[Math.floor(minutes.length / 2)];
    const mean = minutes.reduce((sum, m) => sum + m, 0) / minutes.length;
    expect(median).toBeGreaterThan(12);
    expect(median).toBeLessThan(18);
    expect(mean).toBeGreaterThan(median);
    expect(minutes.at(-1)).toBeGreaterThan(120);
    expect(minutes.at(-1)).toBeLessThanOrEqual(300);
  });

  it('prices closed rentals as text with two decimals, e-bikes dearer than city bikes', () => {
    // Prepare
    const bikeTypes = new Map([...bikesFor(300)].map((b) => [b.bike_id, b.bike_type]));
    const rows = [...rentalsForDay(DAY, { rentalsPerDay: 5_000, errorRate: 0 })].filter(
      (r) => r.rent_end !== null && r.rent_end > r.rent_start && !r.rent_cost!.startsWith('-'),
    );

    // Act
    const centsPerMinute = (type: string) => {
      const rides = rows.filter((r) => bikeTypes.get(r.bike_id) === type);
      const cents = rides.reduce((sum, r) => sum + Number(r.rent_cost) * 100, 0);
      const minutes = rides.reduce((sum, r) => sum + (r.rent_end!.getTime() - r.rent_start.getTime()) / 60_000, 0);
      return cents / minutes;
    };

    // Assess
    for (const row of rows) expect(row.rent_cost).toMatch(PRICE);
    expect(centsPerMinute('e-bike')).toBeGreaterThan(centsPerMinute('city'));
  });

  it('starts and ends rentals at 40 to 60 named stations fixed by the seed', () => {
    // Act
    const stations = stationsFor(42);
    const rows = [...rentalsForDay(DAY, { rentalsPerDay: 5_000 })];

    // Assess
    expect(stations.names.length).toBeGreaterThanOrEqual(40);
    expect(stations.names.length).toBeLessThanOrEqual(60);
    expect(new Set(stations.names).size).toBe(stations.names.length);
    const used = new Set(rows.flatMap((r) => [r.start_station, r.end_station]).filter((s) => s !== null));
    for (const station of used) expect(stations.names).toContain(station);
    expect(used.size).toBeGreaterThan(30);
    expect(stationsFor(43).names).not.toEqual(stations.names);
  });

  it('references only users 1..users and bikes 1..bikes', () => {
    // Act
    const rows = [...rentalsForDay(DAY, { rentalsPerDay: 5_000, users: 50, bikes: 20 })];

    // Assess
    expect(Math.min(...rows.map((r) => r.user_id))).toBe(1);
    expect(Math.max(...rows.map((r) => r.user_id))).toBeLessThanOrEqual(50);
    expect(new Set(rows.map((r) => r.bike_id))).toEqual(new Set(Array.from({ length: 20 }, (_, i) => i + 1)));
  });
});

describe('usersFor and bikesFor', () => {
  it('make the same user and bike for an id whatever the count', () => {
    // Act
    const fewUsers = [...usersFor(3, 9)];
    const manyUsers = [...usersFor(50, 9)];
    const fewBikes = [...bikesFor(3, 9)];
    const manyBikes = [...bikesFor(50, 9)];

    // Assess
    expect(manyUsers.slice(0, 3)).toEqual(fewUsers);
    expect(manyBikes.slice(0, 3)).toEqual(fewBikes);
    expect(fewUsers.map((u) => u.user_id)).toEqual([1, 2, 3]);
    expect(new Set(manyBikes.map((b) => b.bike_type))).toEqual(new Set(['city', 'e-bike', 'cargo', 'folding']));
    expect(manyUsers[0].signup_date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });
});

describe('COPY text', () => {
  it('escapes backslash, tab, newline and carriage return and writes NULL as \\N', () => {
    // Act
    const escaped = escapeCopyText('a\\b\tc\nd\re');

    // Assess
    expect(escaped).toBe('a\\\\b\\tc\\nd\\re');
    expect(escapeCopyText(null)).toBe('\\N');
    expect(escapeCopyText('Main Street')).toBe('Main Street');
    expect(escapeCopyText('')).toBe('');
  });

  it('writes a row as one line of tab-separated fields in column order', () => {
    // Prepare
    const row: RentalRow = {
      rental_id: 2_009_000_000_005,
      user_id: 7,
      bike_id: 3,
      rent_start: new Date('2025-01-02T08:05:09.000Z'),
      rent_end: null,
      start_station: 'Dock\t1\nNorth\\East',
      end_station: null,
      rent_cost: '',
      updated_at: new Date('1999-12-31T23:59:59.987Z'),
    };

    // Act
    const line = copyTextLine(RENTALS, row);

    // Assess
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1).split('\t')).toEqual([
      '2009000000005',
      '7',
      '3',
      '2025-01-02T08:05:09.000Z',
      '\\N',
      'Dock\\t1\\nNorth\\\\East',
      '\\N',
      '',
      '1999-12-31T23:59:59.987Z',
    ]);
  });

  it('writes timestamps exactly as toISOString does', () => {
    // Prepare
    const rows = [...rentalsForDay(DAY, { rentalsPerDay: 500 })];

    // Act
    const lines = rows.map((r) => copyTextLine(RENTALS, r).split('\t'));

    // Assess
    expect(lines.map((fields) => fields[3])).toEqual(rows.map((r) => r.rent_start.toISOString()));
    expect(lines.map((fields) => fields[8].trimEnd())).toEqual(rows.map((r) => r.updated_at.toISOString()));
  });
});

describe('options', () => {
  const day = DAY;
  const cases: Array<[string, Record<string, unknown>]> = [
    ['rentalsPerDay', { rentalsPerDay: -1 }],
    ['rentalsPerDay', { rentalsPerDay: 1.5 }],
    ['rentalsPerDay', { rentalsPerDay: 10_000_001 }],
    ['errorRate', { rentalsPerDay: 10, errorRate: 1.5 }],
    ['errorRate', { rentalsPerDay: 10, errorRate: Number.NaN }],
    ['users', { rentalsPerDay: 10, users: 0 }],
    ['bikes', { rentalsPerDay: 10, bikes: 0 }],
    ['seed', { rentalsPerDay: 10, seed: -3 }],
    ['timeZone', { rentalsPerDay: 10, timeZone: 'Mars/Olympus' }],
  ];

  it.each(cases)('rejects a bad %s by name', (field, options) => {
    // Act
    const generate = () => rentalsForDay(day, options as never);

    // Assess
    expect(generate).toThrow(InputError);
    expect(generate).toThrow(expect.objectContaining({ field }));
  });

  it('rejects bad options in seed before touching the database', async () => {
    // Prepare
    const client = { query: vi.fn() };

    // Act
    const badCount = seed(client as unknown as pg.Client, { from: day, to: day, rentalsPerDay: -5 });
    const reversed = seed(client as unknown as pg.Client, { from: day, to: parseDay('2025-01-01'), rentalsPerDay: 5 });

    // Assess
    await expect(badCount).rejects.toMatchObject({ name: 'InputError', field: 'rentalsPerDay' });
    await expect(reversed).rejects.toMatchObject({ name: 'InputError', field: 'to' });
    expect(client.query).not.toHaveBeenCalled();
  });
});
