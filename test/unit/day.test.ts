import { describe, expect, it } from 'vitest';
import { addDays, dayAt, daysBetween, dayWindow, parseDay, parseTimeZone, partitionPath } from '../../src/core/day.js';
import { ConfigError, InputError } from '../../src/core/errors.js';
import { thrownBy } from '../support/outcomes.js';

const HOUR_MS = 3_600_000;

describe('parseDay', () => {
  it.each([
    ['2025-03-07', { year: 2025, month: 3, day: 7 }],
    ['2025-12-31', { year: 2025, month: 12, day: 31 }],
    ['1970-01-01', { year: 1970, month: 1, day: 1 }],
    ['2024-02-29', { year: 2024, month: 2, day: 29 }],
    ['2000-02-29', { year: 2000, month: 2, day: 29 }],
  ])('reads %s', (iso, expected) => {
    // Act
    const day = parseDay(iso);

    // Assess
    expect(day).toEqual({ ...expected, iso });
  });

  it.each([
    ['2025-02-30', 'a day February does not have'],
    ['2023-02-29', 'February 29 of a common year'],
    ['1900-02-29', 'February 29 of a century that is not a leap year'],
    ['2025-13-01', 'a thirteenth month'],
    ['2025-00-10', 'a month zero'],
    ['2025-04-31', 'the 31st of a 30-day month'],
    ['2025-01-00', 'a day zero'],
    ['1969-12-31', 'a day before 1970'],
  ])('rejects %s (%s)', (value) => {
    // Act
    const error = thrownBy(() => parseDay(value, 'from'));

    // Assess
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).field).toBe('from');
    expect((error as InputError).actual).toBe(value);
    expect((error as Error).message).toContain('YYYY-MM-DD');
  });

  it.each(['2025-2-3', 'tomorrow', '', '20250307', '2025/03/07', ' 2025-03-07', '2025-03-07\n', '2025-03-07T00:00:00Z', '+2025-03-07'])(
    'rejects the malformed string %j',
    (value) => {
      // Act
      const error = thrownBy(() => parseDay(value, 'date'));

      // Assess
      expect(error).toBeInstanceOf(InputError);
      expect((error as InputError).field).toBe('date');
      expect((error as Error).message).toMatch(/^date: expected a calendar date as YYYY-MM-DD/);
    },
  );

  it.each([
    [20250307, '20250307'],
    [null, 'null'],
    [undefined, undefined],
    [new Date(Date.UTC(2025, 2, 7)), String(new Date(Date.UTC(2025, 2, 7)))],
    [{ date: '2025-03-07' }, '[object Object]'],
  ])('rejects the non-string %s', (value, shown) => {
    // Act
    const error = thrownBy(() => parseDay(value, 'event.date'));

    // Assess
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).field).toBe('event.date');
    expect((error as InputError).actual).toBe(shown);
    expect((error as Error).message).toContain('YYYY-MM-DD');
  });

  it('names the field "date" when no field is given', () => {
    // Act
    const error = thrownBy(() => parseDay('tomorrow'));

    // Assess
    expect((error as InputError).field).toBe('date');
  });

  it('throws a terminal configuration error, which a retry cannot fix', () => {
    // Act
    const error = thrownBy(() => parseDay('tomorrow'));

    // Assess
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as InputError).retryable).toBe(false);
    expect((error as Error).name).toBe('InputError');
  });
});

describe('dayWindow', () => {
  it('covers 24 hours from UTC midnight in UTC', () => {
    // Prepare
    const day = parseDay('2025-03-30');

    // Act
    const { start, end } = dayWindow(day, 'UTC');

    // Assess
    expect(start.toISOString()).toBe('2025-03-30T00:00:00.000Z');
    expect(end.toISOString()).toBe('2025-03-31T00:00:00.000Z');
  });

  it.each([
    ['Europe/Berlin', '2025-01-15', '2025-01-14T23:00:00.000Z', '2025-01-15T23:00:00.000Z', 24],
    ['Europe/Berlin', '2025-07-15', '2025-07-14T22:00:00.000Z', '2025-07-15T22:00:00.000Z', 24],
    ['Europe/Berlin', '2025-03-30', '2025-03-29T23:00:00.000Z', '2025-03-30T22:00:00.000Z', 23],
    ['Europe/Berlin', '2025-03-29', '2025-03-28T23:00:00.000Z', '2025-03-29T23:00:00.000Z', 24],
    ['Europe/Berlin', '2025-03-31', '2025-03-30T22:00:00.000Z', '2025-03-31T22:00:00.000Z', 24],
    ['Europe/Berlin', '2025-10-26', '2025-10-25T22:00:00.000Z', '2025-10-26T23:00:00.000Z', 25],
    ['Europe/Berlin', '2025-10-27', '2025-10-26T23:00:00.000Z', '2025-10-27T23:00:00.000Z', 24],
    ['America/New_York', '2025-03-09', '2025-03-09T05:00:00.000Z', '2025-03-10T04:00:00.000Z', 23],
    ['America/New_York', '2025-11-02', '2025-11-02T04:00:00.000Z', '2025-11-03T05:00:00.000Z', 25],
    ['Asia/Kolkata', '2025-06-01', '2025-05-31T18:30:00.000Z', '2025-06-01T18:30:00.000Z', 24],
  ])('covers %s %s from %s to %s (%i hours)', (timeZone, iso, start, end, hours) => {
    // Prepare
    const day = parseDay(iso);

    // Act
    const window = dayWindow(day, timeZone);

    // Assess
    expect(window.start.toISOString()).toBe(start);
    expect(window.end.toISOString()).toBe(end);
    expect((window.end.getTime() - window.start.getTime()) / HOUR_MS).toBe(hours);
  });

  it('tiles consecutive days with no gap and no overlap across both Berlin DST changes', () => {
    // Prepare
    const days = daysBetween(parseDay('2025-03-25'), parseDay('2025-11-05'));

    // Act
    const windows = days.map((day) => dayWindow(day, 'Europe/Berlin'));

    // Assess
    for (let i = 1; i < windows.length; i++) expect(windows[i].start.getTime()).toBe(windows[i - 1].end.getTime());
  });

  it('starts a day whose local midnight is skipped at its first local instant (America/Santiago 2025-09-07)', () => {
    // Prepare: Chile moves its clocks from 00:00 (UTC-4) to 01:00 (UTC-3) on 2025-09-07, so the
    // day's first instant is 01:00 local = 04:00Z; 03:00Z is still 23:00 on 2025-09-06.
    const skipped = parseDay('2025-09-07');
    const before = parseDay('2025-09-06');

    // Act
    const window = dayWindow(skipped, 'America/Santiago');
    const previous = dayWindow(before, 'America/Santiago');

    // Assess
    expect(window.start.toISOString()).toBe('2025-09-07T04:00:00.000Z');
    expect(previous.end.toISOString()).toBe('2025-09-07T04:00:00.000Z');
    expect(dayAt(window.start, 'America/Santiago').iso).toBe('2025-09-07');
  });

  it.each([
    ['UTC', '2025-06-15'],
    ['Europe/Berlin', '2025-03-30'],
    ['Europe/Berlin', '2025-10-26'],
    ['America/New_York', '2025-03-09'],
    ['America/New_York', '2025-11-02'],
    ['Australia/Lord_Howe', '2025-04-06'],
  ])('agrees with dayAt at both edges of %s %s', (timeZone, iso) => {
    // Prepare
    const day = parseDay(iso);

    // Act
    const { start, end } = dayWindow(day, timeZone);

    // Assess
    expect(dayAt(start, timeZone).iso).toBe(iso);
    expect(dayAt(new Date(end.getTime() - 1), timeZone).iso).toBe(iso);
    expect(dayAt(new Date(start.getTime() - 1), timeZone).iso).toBe(addDays(day, -1).iso);
    expect(dayAt(end, timeZone).iso).toBe(addDays(day, 1).iso);
  });
});

describe('dayAt', () => {
  it.each([
    ['2025-03-07T23:59:59.999Z', 'UTC', '2025-03-07'],
    ['2025-03-08T00:00:00.000Z', 'UTC', '2025-03-08'],
    ['2025-03-07T23:30:00.000Z', 'Europe/Berlin', '2025-03-08'],
    ['2025-03-07T22:59:59.999Z', 'Europe/Berlin', '2025-03-07'],
    ['2025-03-30T21:59:59.999Z', 'Europe/Berlin', '2025-03-30'],
    ['2025-03-30T22:00:00.000Z', 'Europe/Berlin', '2025-03-31'],
    ['2025-10-26T22:30:00.000Z', 'Europe/Berlin', '2025-10-26'],
    ['2025-03-08T03:00:00.000Z', 'America/New_York', '2025-03-07'],
    ['2025-12-31T23:00:00.000Z', 'Asia/Tokyo', '2026-01-01'],
  ])('puts %s on the %s day %s', (instant, timeZone, iso) => {
    // Act
    const day = dayAt(new Date(instant), timeZone);

    // Assess
    expect(day.iso).toBe(iso);
    expect(day).toEqual(parseDay(iso));
  });
});

describe('addDays', () => {
  it.each([
    ['2025-01-31', 1, '2025-02-01'],
    ['2025-02-28', 1, '2025-03-01'],
    ['2024-02-28', 1, '2024-02-29'],
    ['2025-12-31', 1, '2026-01-01'],
    ['2026-01-01', -1, '2025-12-31'],
    ['2025-03-01', -1, '2025-02-28'],
    ['2024-03-01', -1, '2024-02-29'],
    ['2025-03-30', 1, '2025-03-31'],
    ['2025-01-15', 365, '2026-01-15'],
    ['2025-01-15', 0, '2025-01-15'],
  ])('moves %s by %i days to %s', (from, n, to) => {
    // Act
    const day = addDays(parseDay(from), n);

    // Assess
    expect(day).toEqual(parseDay(to));
  });
});

describe('daysBetween', () => {
  it('lists every day of the range, both ends included, across a month and year end', () => {
    // Act
    const days = daysBetween(parseDay('2025-12-30'), parseDay('2026-01-02'));

    // Assess
    expect(days.map((d) => d.iso)).toEqual(['2025-12-30', '2025-12-31', '2026-01-01', '2026-01-02']);
  });

  it('lists one day when both ends are the same day', () => {
    // Act
    const days = daysBetween(parseDay('2025-03-30'), parseDay('2025-03-30'));

    // Assess
    expect(days).toEqual([parseDay('2025-03-30')]);
  });

  it('rejects a reversed range naming the field "to"', () => {
    // Act
    const error = thrownBy(() => daysBetween(parseDay('2025-03-02'), parseDay('2025-03-01')));

    // Assess
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).field).toBe('to');
    expect((error as Error).message).toContain('2025-03-02');
  });

  it('accepts a range of exactly the maximum length and rejects one day more', () => {
    // Prepare
    const from = parseDay('2025-01-01');

    // Act
    const longest = daysBetween(from, parseDay('2025-01-31'), 31);
    const error = thrownBy(() => daysBetween(from, parseDay('2025-02-01'), 31));

    // Assess
    expect(longest).toHaveLength(31);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).field).toBe('to');
    expect((error as Error).message).toContain('at most 31 days');
    expect((error as InputError).actual).toBe('32 days');
  });
});

describe('partitionPath', () => {
  it.each([
    ['2025-03-07', 'year=2025/month=03/day=07'],
    ['2025-12-31', 'year=2025/month=12/day=31'],
    ['2025-10-01', 'year=2025/month=10/day=01'],
  ])('writes %s as %s', (iso, path) => {
    // Act
    const written = partitionPath(parseDay(iso));

    // Assess
    expect(written).toBe(path);
  });
});

describe('parseTimeZone', () => {
  it.each(['UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe'])('accepts %s', (zone) => {
    // Act
    const parsed = parseTimeZone(zone);

    // Assess
    expect(parsed).toBe(zone);
  });

  it.each([
    ['europe/berlin', 'Europe/Berlin'],
    ['utc', 'UTC'],
    ['Etc/UTC', 'UTC'],
  ])('returns %s in its canonical spelling %s', (zone, canonical) => {
    // Act
    const parsed = parseTimeZone(zone);

    // Assess
    expect(parsed).toBe(canonical);
  });

  it.each(['Mars/Olympus', 'Europe/Atlantis', 'UTC+25', ''])('rejects %s naming PARTITION_TIMEZONE', (zone) => {
    // Act
    const error = thrownBy(() => parseTimeZone(zone));

    // Assess
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).field).toBe('PARTITION_TIMEZONE');
    expect((error as InputError).actual).toBe(zone);
    expect((error as Error).message).toContain('IANA time zone');
  });

  it('names the given field in its error', () => {
    // Act
    const error = thrownBy(() => parseTimeZone('Mars/Olympus', '--tz'));

    // Assess
    expect((error as InputError).field).toBe('--tz');
  });
});
