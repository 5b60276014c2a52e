/**
 * The pure parts of cutting a day into hour ranges: how a day's hour counts are cut
 * (`cutIntoRanges`), how many hours a local day has and which instants each range covers
 * (`windowHours`, `hourWindow`, including days with a daylight-saving change), how a range is
 * named in object keys (`rangePart`), the events that carry ranges between stages, and how
 * validate puts the ranges of one run back together (`combineRanges`).
 */
import { describe, expect, it } from 'vitest';
import { dayWindow, hourWindow, parseDay, windowHours, type HourRange } from '../../src/core/day.js';
import { InputError, StagingError } from '../../src/core/errors.js';
import {
  parseContract,
  rangeEventSchema,
  releaseEventSchema,
  validateEventSchema,
  type RangeMetrics,
  type TransformOutput,
} from '../../src/pipeline/contracts.js';
import { dataFileKey, quarantineKey, rangePart, stagedKey, stagingKey } from '../../src/lake/layout.js';
import { cutIntoRanges } from '../../src/pipeline/plan-day/plan-day.js';
import { combineRanges, type RunOfDay } from '../../src/pipeline/validate/validate.js';
import { thrownBy } from '../support/outcomes.js';

const HOUR_MS = 3_600_000;
const RUN = '20250601T020000000Z-0a1b2c3d';
const OTHER_RUN = '20250601T030000000Z-9f8e7d6c';

/** Checks that `ranges` follow each other without a gap or an overlap and cover `[0, hours)`. */
function expectContiguous(ranges: readonly HourRange[], hours: number): void {
  expect(ranges[0].from).toBe(0);
  for (let i = 1; i < ranges.length; i++) expect(ranges[i].from).toBe(ranges[i - 1].to);
  for (const range of ranges) expect(range.to).toBeGreaterThan(range.from);
  expect(ranges.at(-1)!.to).toBe(hours);
}

describe('cutIntoRanges', () => {
  it.each([
    ['a day at most max rows is one range', [10, 20, 30], 60, [{ from: 0, to: 3, rows: 60 }]],
    ['a day well under max rows is one range', [1, 1, 1, 1], 100, [{ from: 0, to: 4, rows: 4 }]],
    [
      'greedy: each range takes hours until the next would exceed max',
      [40, 40, 40, 40, 40],
      100,
      [
        { from: 0, to: 2, rows: 80 },
        { from: 2, to: 4, rows: 80 },
        { from: 4, to: 5, rows: 40 },
      ],
    ],
    [
      'a range may reach max rows exactly',
      [50, 50, 50, 50],
      100,
      [
        { from: 0, to: 2, rows: 100 },
        { from: 2, to: 4, rows: 100 },
      ],
    ],
    [
      'an oversized hour is a range on its own',
      [10, 500, 10],
      100,
      [
        { from: 0, to: 1, rows: 10 },
        { from: 1, to: 2, rows: 500 },
        { from: 2, to: 3, rows: 10 },
      ],
    ],
    [
      'an oversized first hour is a range on its own',
      [500, 10, 10],
      100,
      [
        { from: 0, to: 1, rows: 500 },
        { from: 1, to: 3, rows: 20 },
      ],
    ],
    [
      'two oversized hours in a row are two ranges',
      [300, 300],
      100,
      [
        { from: 0, to: 1, rows: 300 },
        { from: 1, to: 2, rows: 300 },
      ],
    ],
    [
      'hours without rows join the range they follow',
      [0, 0, 90, 0, 0, 90, 0],
      100,
      [
        { from: 0, to: 5, rows: 90 },
        { from: 5, to: 7, rows: 90 },
      ],
    ],
    ['a day without rows is one empty range', [0, 0, 0], 100, [{ from: 0, to: 3, rows: 0 }]],
  ])('%s', (_name, hourRows, maxRows, expected) => {
    // Act
    const ranges = cutIntoRanges(hourRows, maxRows);

    // Assess
    expect(ranges).toEqual(expected);
  });

  it.each([23, 24, 25])('cuts a %i-hour day into contiguous ranges covering it, each within max unless one hour', (hours) => {
    // Arrange: uneven hours, some over the limit on their own
    const maxRows = 100;
    const hourRows = Array.from({ length: hours }, (_, h) => (h * 37) % 130);

    // Act
    const ranges = cutIntoRanges(hourRows, maxRows);

    // Assess
    expectContiguous(ranges, hours);
    for (const range of ranges) {
      const rows = hourRows.slice(range.from, range.to).reduce((a, b) => a + b, 0);
      expect(range.rows).toBe(rows);
      if (range.to - range.from > 1) expect(rows).toBeLessThanOrEqual(maxRows);
    }
    expect(ranges.reduce((n, r) => n + r.rows, 0)).toBe(hourRows.reduce((a, b) => a + b, 0));
    // Greedy: no two neighbouring ranges would fit into one
    for (let i = 1; i < ranges.length; i++) expect(ranges[i - 1].rows + hourRows[ranges[i].from]).toBeGreaterThan(maxRows);
  });
});

describe('windowHours and hourWindow', () => {
  it.each([
    ['UTC', '2025-06-01', 'UTC', 24, '2025-06-01T00:00:00.000Z', '2025-06-02T00:00:00.000Z'],
    ['Berlin springs forward', '2025-03-30', 'Europe/Berlin', 23, '2025-03-29T23:00:00.000Z', '2025-03-30T22:00:00.000Z'],
    ['Berlin falls back', '2025-10-26', 'Europe/Berlin', 25, '2025-10-25T22:00:00.000Z', '2025-10-26T23:00:00.000Z'],
    ['Lord Howe falls back half an hour (24.5 h)', '2025-04-06', 'Australia/Lord_Howe', 25, '2025-04-05T13:00:00.000Z', '2025-04-06T13:30:00.000Z'],
  ])('%s: %s in %s has %i hour ranges', (_name, iso, timeZone, hours, start, end) => {
    // Arrange
    const window = dayWindow(parseDay(iso), timeZone);

    // Act
    const count = windowHours(window);

    // Assess
    expect(window.start.toISOString()).toBe(start);
    expect(window.end.toISOString()).toBe(end);
    expect(count).toBe(hours);
  });

  it.each([
    ['2025-06-01', 'UTC'],
    ['2025-03-30', 'Europe/Berlin'],
    ['2025-10-26', 'Europe/Berlin'],
    ['2025-04-06', 'Australia/Lord_Howe'],
  ])('the one-hour windows of %s in %s tile its window without gaps', (iso, timeZone) => {
    // Arrange
    const window = dayWindow(parseDay(iso), timeZone);
    const hours = windowHours(window);

    // Act
    const windows = Array.from({ length: hours }, (_, h) => hourWindow(window, { from: h, to: h + 1 }));

    // Assess
    expect(windows[0].start).toEqual(window.start);
    expect(windows.at(-1)!.end).toEqual(window.end);
    for (let h = 1; h < hours; h++) expect(windows[h].start).toEqual(windows[h - 1].end);
    for (const w of windows) expect(w.end.getTime()).toBeGreaterThan(w.start.getTime());
  });

  it('counts hours from the start of the window, not by the local clock, on a day that springs forward', () => {
    // Arrange: in Berlin on 2025-03-30 the local clock jumps from 02:00 to 03:00
    const window = dayWindow(parseDay('2025-03-30'), 'Europe/Berlin');

    // Act
    const third = hourWindow(window, { from: 2, to: 3 });
    const afternoon = hourWindow(window, { from: 6, to: 12 });

    // Assess: hour 2 is local 03:00-04:00 CEST
    expect(third).toEqual({ start: new Date('2025-03-30T01:00:00Z'), end: new Date('2025-03-30T02:00:00Z') });
    expect(afternoon).toEqual({ start: new Date('2025-03-30T05:00:00Z'), end: new Date('2025-03-30T11:00:00Z') });
  });

  it('cuts the last range of a 24.5-hour day at the end of the window', () => {
    // Arrange
    const window = dayWindow(parseDay('2025-04-06'), 'Australia/Lord_Howe');

    // Act
    const last = hourWindow(window, { from: 24, to: 25 });
    const tail = hourWindow(window, { from: 20, to: 25 });

    // Assess
    expect(last).toEqual({ start: new Date('2025-04-06T13:00:00Z'), end: new Date('2025-04-06T13:30:00Z') });
    expect(last.end.getTime() - last.start.getTime()).toBe(HOUR_MS / 2);
    expect(tail.end).toEqual(window.end);
  });

  it('gives the whole window for the range of all its hours', () => {
    // Arrange
    const window = dayWindow(parseDay('2025-10-26'), 'Europe/Berlin');

    // Act
    const whole = hourWindow(window, { from: 0, to: windowHours(window) });

    // Assess
    expect(whole).toEqual(window);
  });
});

describe('rangePart and the keys it names', () => {
  const day = parseDay('2025-06-01');

  it.each([
    [{ from: 0, to: 24 }, 24, undefined],
    [{ from: 0, to: 25 }, 25, undefined],
    [{ from: 0, to: 23 }, 23, undefined],
    [{ from: 0, to: 6 }, 24, 'h00'],
    [{ from: 6, to: 12 }, 24, 'h06'],
    [{ from: 12, to: 24 }, 24, 'h12'],
    [{ from: 24, to: 25 }, 25, 'h24'],
  ])('names %j of a %i-hour day %s', (range, dayHours, expected) => {
    // Act
    const part = rangePart(range, dayHours);

    // Assess
    expect(part).toBe(expected);
  });

  it('keys of a whole day carry no part', () => {
    // Arrange
    const part = rangePart({ from: 0, to: 24 }, 24);

    // Act
    const keys = [dataFileKey(day, RUN, 0, part), quarantineKey(day, RUN, part), stagingKey(RUN, 'rentals', part)];

    // Assess
    expect(keys).toEqual([
      `rentals/year=2025/month=06/day=01/part-${RUN}-00000.parquet`,
      `_quarantine/rentals/year=2025/month=06/day=01/${RUN}.jsonl`,
      `_staging/${RUN}/rentals.arrows`,
    ]);
  });

  it('keys of an hour range carry its part', () => {
    // Arrange
    const part = rangePart({ from: 6, to: 12 }, 24);

    // Act
    const keys = [dataFileKey(day, RUN, 3, part), quarantineKey(day, RUN, part), stagingKey(RUN, 'rentals', part)];

    // Assess
    expect(keys).toEqual([
      `rentals/year=2025/month=06/day=01/part-${RUN}-h06-00003.parquet`,
      `_quarantine/rentals/year=2025/month=06/day=01/${RUN}-h06.jsonl`,
      `_staging/${RUN}/rentals-h06.arrows`,
    ]);
  });

  it('keys of different ranges of the same run never collide', () => {
    // Arrange
    const ranges = cutIntoRanges([40, 40, 40, 40, 40, 40], 100);

    // Act
    const parts = ranges.map((r) => rangePart(r, 6));
    const keys = parts.flatMap((p) => [dataFileKey(day, RUN, 0, p), quarantineKey(day, RUN, p), stagingKey(RUN, 'rentals', p)]);

    // Assess
    expect(parts).toEqual(['h00', 'h02', 'h04']);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

const parseExtractEvent = (event: unknown) => parseContract(rangeEventSchema, event);
const parseReleaseEvent = (event: unknown) => parseContract(releaseEventSchema, event);
const parseValidateEvent = (event: unknown) => parseContract(validateEventSchema, event);

describe('the extract event (rangeEventSchema)', () => {
  const base = { date: '2025-06-01', runId: RUN };

  it.each([[{ from: 0, to: 24 }], [{ from: 0, to: 1 }], [{ from: 6, to: 12 }], [{ from: 24, to: 25 }], [{ from: 0, to: 25 }]])('reads hours %j', (hours) => {
    // Act
    const event = parseExtractEvent({ ...base, mode: 'append', owner: 'arn:exec', hours });

    // Assess
    expect(event).toEqual({ date: parseDay('2025-06-01'), mode: 'append', owner: 'arn:exec', runId: RUN, hours });
  });

  it('reads an event without hours as the whole day', () => {
    // Act
    const event = parseExtractEvent(base);

    // Assess
    expect(event).toEqual({ date: parseDay('2025-06-01'), mode: 'overwrite', runId: RUN });
  });

  it.each([
    ['from equal to to', { from: 6, to: 6 }],
    ['from after to', { from: 12, to: 6 }],
    ['a negative from', { from: -1, to: 6 }],
    ['to past the longest day', { from: 0, to: 26 }],
    ['a fractional hour', { from: 0.5, to: 6 }],
    ['hours as strings', { from: '0', to: '6' }],
    ['a missing to', { from: 0 }],
    ['a missing from', { to: 6 }],
    ['NaN', { from: Number.NaN, to: 6 }],
    ['infinity', { from: 0, to: Number.POSITIVE_INFINITY }],
  ])('rejects hours with %s', (_name, hours) => {
    // Act
    const error = thrownBy(() => parseExtractEvent({ ...base, hours }));

    // Assess
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).field).toBe('hours');
    expect((error as Error).message).toContain('0 <= from < to <= 25');
  });

  it.each([
    ['null', null],
    ['an array', [0, 6]],
    ['a string', '0-6'],
    ['a number', 6],
  ])('rejects hours given as %s, naming the field', (_name, hours) => {
    // Act
    const error = thrownBy(() => parseExtractEvent({ ...base, hours }));

    // Assess
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).field).toBe('hours');
  });

  it.each([
    ['a missing runId', { date: '2025-06-01' }, 'runId'],
    ['a runId not made by newRunId', { date: '2025-06-01', runId: '../../etc' }, 'runId'],
    ['a bad date', { date: '2025-02-30', runId: RUN }, 'date'],
    ['an unknown field', { date: '2025-06-01', runId: RUN, range: 1 }, 'range'],
    ['an empty owner', { date: '2025-06-01', runId: RUN, owner: '' }, 'owner'],
  ])('rejects %s', (_name, event, field) => {
    // Act
    const error = thrownBy(() => parseExtractEvent(event));

    // Assess
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).field).toBe(field);
  });
});

describe('the release-day event (releaseEventSchema)', () => {
  it('reads the day and the run giving it up', () => {
    // Act
    const event = parseReleaseEvent({ date: '2025-06-01', runId: RUN });

    // Assess
    expect(event).toEqual({ date: parseDay('2025-06-01'), runId: RUN });
  });

  it.each([
    ['a missing runId', { date: '2025-06-01' }, 'runId'],
    ['a malformed runId', { date: '2025-06-01', runId: 'run-1' }, 'runId'],
    ['a missing date', { runId: RUN }, 'date'],
    ['an extra field', { date: '2025-06-01', runId: RUN, mode: 'overwrite' }, 'mode'],
    ['a non-object', 'release', 'event'],
  ])('rejects %s', (_name, event, field) => {
    // Act
    const error = thrownBy(() => parseReleaseEvent(event));

    // Assess
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).field).toBe(field);
  });
});

const NO_METRICS: RangeMetrics = { rows: 0, nullCounts: {}, negativeDurations: 0, negativeCosts: 0, quarantined: 0, excluded: 0, rejectReasons: {} };

/** What transform-write returns for the range `hours` of run `runId`, with `overrides`. */
function written(hours: HourRange, overrides: Partial<TransformOutput> = {}): TransformOutput {
  const part = rangePart(hours, 24);
  return {
    runId: RUN,
    hours,
    sourceCount: 0,
    snapshotAt: '2025-06-02T02:00:00.000Z',
    files: [{ key: stagedKey(overrides.runId ?? RUN, dataFileKey(parseDay('2025-06-01'), overrides.runId ?? RUN, 0, part)), rows: 0, bytes: 100 }],
    quarantineKey: undefined,
    metrics: NO_METRICS,
    schemaFingerprint: 'fp-1',
    seconds: 1,
    ...overrides,
  };
}

describe('the validate event (validateEventSchema)', () => {
  const good = () => ({
    date: '2025-06-01',
    mode: 'overwrite',
    runId: RUN,
    owner: 'arn:exec',
    sourceDuplicateIds: 0,
    ranges: [
      { from: 0, to: 12, rows: 10 },
      { from: 12, to: 24, rows: 10 },
    ],
    written: [written({ from: 0, to: 12 }), written({ from: 12, to: 24 })],
  });

  it('reads the run and its written ranges', () => {
    // Arrange
    const event = good();

    // Act
    const parsed = parseValidateEvent(event);

    // Assess
    expect(parsed).toMatchObject({ date: parseDay('2025-06-01'), runId: RUN, mode: 'overwrite', owner: 'arn:exec', sourceDuplicateIds: 0 });
    expect(parsed.ranges).toEqual([
      { from: 0, to: 12 },
      { from: 12, to: 24 },
    ]);
    expect(parsed.written).toEqual(event.written);
  });

  /** The good event with `change` applied to a copy. */
  const withChange = (change: (e: Record<string, unknown> & { written: Record<string, unknown>[] }) => void) => {
    const event = JSON.parse(JSON.stringify(good())) as Record<string, unknown> & { written: Record<string, unknown>[] };
    change(event);
    return event;
  };

  it.each([
    ['a missing runId', (e: Record<string, unknown>) => delete e.runId, 'runId'],
    ['a missing owner', (e: Record<string, unknown>) => delete e.owner, 'owner'],
    ['an unknown mode', (e: Record<string, unknown>) => (e.mode = 'merge'), 'mode'],
    ['a negative sourceDuplicateIds', (e: Record<string, unknown>) => (e.sourceDuplicateIds = -1), 'sourceDuplicateIds'],
    ['a missing sourceDuplicateIds', (e: Record<string, unknown>) => delete e.sourceDuplicateIds, 'sourceDuplicateIds'],
    ['a missing ranges list', (e: Record<string, unknown>) => delete e.ranges, 'ranges'],
    ['a bad planned range', (e: Record<string, unknown>) => ((e.ranges as unknown[])[1] = { from: 12, to: 30 }), 'ranges[1]'],
    ['a missing written list', (e: Record<string, unknown>) => delete e.written, 'written'],
    ['an empty written list', (e: Record<string, unknown>) => (e.written = []), 'written'],
    ['a range of another run', (e: { written: Record<string, unknown>[] }) => (e.written[1].runId = OTHER_RUN), 'written[1].runId'],
    ['a range without files', (e: { written: Record<string, unknown>[] }) => delete e.written[0].files, 'written[0].files'],
    ['a range without metrics', (e: { written: Record<string, unknown>[] }) => (e.written[1].metrics = null), 'written[1].metrics'],
    ['a range without hours', (e: { written: Record<string, unknown>[] }) => delete e.written[1].hours, 'written[1].hours'],
    [
      'a file outside the partition',
      (e: { written: Record<string, unknown>[] }) => (e.written[0].files = [{ key: '_staging/x.parquet', rows: 0, bytes: 1 }]),
      'written[0].files',
    ],
    [
      'a file key climbing out',
      (e: { written: Record<string, unknown>[] }) => (e.written[1].files = [{ key: `_staging/${RUN}/rentals/../users/data.parquet`, rows: 0, bytes: 1 }]),
      'written[1].files',
    ],
  ])('rejects %s, naming the field', (_name, change, field) => {
    // Arrange
    const event = withChange(change as (e: Record<string, unknown> & { written: Record<string, unknown>[] }) => void);

    // Act
    const error = thrownBy(() => parseValidateEvent(event));

    // Assess
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).field).toBe(field);
  });

  it.each([
    ['an empty range', { from: 12, to: 12 }],
    ['a reversed range', { from: 24, to: 12 }],
    ['hours as a list', [12, 24]],
  ])('rejects a written range with %s, naming the range', (_name, hours) => {
    // Arrange
    const event = withChange((e) => (e.written[1].hours = hours));

    // Act
    const error = thrownBy(() => parseValidateEvent(event));

    // Assess
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).field).toBe('written[1].hours');
  });
});

describe('combineRanges', () => {
  const run: RunOfDay = {
    runId: RUN,
    mode: 'append',
    owner: 'arn:exec',
    sourceDuplicateIds: 3,
    ranges: [
      { from: 18, to: 24 },
      { from: 0, to: 6 },
      { from: 6, to: 18 },
    ],
  };
  const day = parseDay('2025-06-01');
  const morning = written(
    { from: 0, to: 6 },
    {
      sourceCount: 100,
      snapshotAt: '2025-06-02T02:00:05.000Z',
      files: [
        { key: dataFileKey(day, RUN, 0, 'h00'), rows: 60, bytes: 600 },
        { key: dataFileKey(day, RUN, 1, 'h00'), rows: 38, bytes: 380 },
      ],
      quarantineKey: quarantineKey(day, RUN, 'h00'),
      metrics: {
        rows: 100,
        nullCounts: { user_id: 2, rent_cost: 1 },
        negativeDurations: 1,
        negativeCosts: 0,
        quarantined: 4,
        excluded: 2,
        rejectReasons: { required_value_null: 2, rent_cost_not_numeric: 2 },
      },
    },
  );
  const midday = written(
    { from: 6, to: 18 },
    {
      sourceCount: 250,
      snapshotAt: '2025-06-02T02:00:01.000Z',
      files: [{ key: dataFileKey(day, RUN, 0, 'h06'), rows: 250, bytes: 2500 }],
      quarantineKey: undefined,
      metrics: { rows: 250, nullCounts: { user_id: 1, bike_id: 5 }, negativeDurations: 0, negativeCosts: 2, quarantined: 0, excluded: 0, rejectReasons: {} },
    },
  );
  const evening = written(
    { from: 18, to: 24 },
    {
      sourceCount: 50,
      snapshotAt: '2025-06-02T02:00:03.000Z',
      files: [{ key: dataFileKey(day, RUN, 0, 'h18'), rows: 49, bytes: 490 }],
      quarantineKey: quarantineKey(day, RUN, 'h18'),
      metrics: { rows: 50, nullCounts: {}, negativeDurations: 2, negativeCosts: 1, quarantined: 1, excluded: 1, rejectReasons: { required_value_null: 1 } },
    },
  );

  it('adds the ranges up into one write of the run', () => {
    // Act
    const write = combineRanges(run, [morning, midday, evening]);

    // Assess
    expect(write).toEqual({
      runId: RUN,
      mode: 'append',
      owner: 'arn:exec',
      sourceCount: 400,
      snapshotAt: '2025-06-02T02:00:01.000Z',
      files: [...morning.files, ...midday.files, ...evening.files],
      quarantineKeys: [quarantineKey(day, RUN, 'h00'), quarantineKey(day, RUN, 'h18')],
      metrics: {
        rows: 400,
        nullCounts: { user_id: 3, rent_cost: 1, bike_id: 5 },
        duplicateIds: 3,
        negativeDurations: 3,
        negativeCosts: 3,
        quarantined: 5,
        excluded: 3,
        rejectReasons: { required_value_null: 3, rent_cost_not_numeric: 2 },
        alreadyPublished: 0,
        changedSincePublish: 0,
        publishedDuplicateIds: 0,
      },
      schemaFingerprint: 'fp-1',
    });
  });

  it('gives the same write whatever order the ranges arrive in', () => {
    // Arrange
    const inOrder = combineRanges(run, [morning, midday, evening]);

    // Act
    const shuffled = [
      combineRanges(run, [evening, morning, midday]),
      combineRanges(run, [midday, evening, morning]),
      combineRanges(run, [evening, midday, morning]),
    ];

    // Assess
    for (const write of shuffled) expect(write).toEqual(inOrder);
  });

  it('takes a single whole-day range as it is', () => {
    // Arrange
    const whole = written({ from: 0, to: 24 }, { sourceCount: 7, metrics: { ...NO_METRICS, rows: 7 } });

    // Act
    const write = combineRanges({ ...run, sourceDuplicateIds: 0, ranges: [{ from: 0, to: 24 }] }, [whole]);

    // Assess
    expect(write).toMatchObject({
      sourceCount: 7,
      files: whole.files,
      quarantineKeys: [],
      snapshotAt: whole.snapshotAt,
      metrics: { rows: 7, duplicateIds: 0 },
    });
  });

  it.each([
    ['no ranges', () => [], /no written ranges/],
    ['a gap between ranges', () => [morning, evening], /do not cover hour 6 /],
    ['overlapping ranges', () => [morning, written({ from: 3, to: 18 }), evening], /do not cover hour 6 /],
    ['the same range twice', () => [morning, morning, midday, evening], /do not cover hour 6 /],
    ['ranges not starting at hour 0', () => [midday, evening], /do not cover hour 0 /],
    ['a range of another run', () => [morning, { ...midday, runId: OTHER_RUN }, evening], new RegExp(`run ${OTHER_RUN} was handed to run ${RUN}`)],
    ['ranges written with different schemas', () => [morning, { ...midday, schemaFingerprint: 'fp-2' }, evening], /different schemas/],
    ['the last planned range missing', () => [morning, midday], /written hour ranges \[0-6, 6-18\] are not the planned \[0-6, 6-18, 18-24\]/],
    ['ranges cut differently from the plan', () => [morning, written({ from: 6, to: 12 }), written({ from: 12, to: 24 })], /are not the planned/],
  ])('rejects %s', (_name, ranges, message) => {
    // Act
    const error = thrownBy(() => combineRanges(run, ranges()));

    // Assess
    expect(error).toBeInstanceOf(StagingError);
    expect((error as Error).message).toMatch(message);
  });
});
