/**
 * The execution input, checked by the Plan state before any work: a table of bad inputs, each
 * with the field and expected form its error names; and the schedule's healing, which plans the
 * stale and missing days of the lookback and yesterday unless it is current, and says why each runs.
 */
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import type { CalendarDay } from '../../src/core/day.js';
import { planExecution, planRun } from '../../src/pipeline/plan/plan.js';
import type { DayCheck } from '../../src/pipeline/plan/staleness.js';
import { rejectionOf } from '../support/outcomes.js';

const NOW = new Date('2025-06-15T12:00:00Z');
const plan = (input: unknown, timeZone = 'UTC') => planRun(input, { timeZone, maxDays: 366, now: NOW });

describe('planRun', () => {
  it.each([
    [{ date: '2025-06-01' }, { mode: 'overwrite', dates: ['2025-06-01'] }],
    [
      { date: '2025-06-15', mode: 'append' },
      { mode: 'append', dates: ['2025-06-15'] },
    ],
    [
      { from: '2025-05-30', to: '2025-06-02' },
      { mode: 'overwrite', dates: ['2025-05-30', '2025-05-31', '2025-06-01', '2025-06-02'] },
    ],
    [
      { scheduledTime: '2025-06-15T02:30:00Z' },
      { mode: 'overwrite', dates: ['2025-06-14'], reasons: [{ date: '2025-06-14', kind: 'new', detail: 'yesterday' }], skipped: [] },
    ],
    [{ date: '1999-01-01' }, { mode: 'overwrite', dates: ['1999-01-01'] }],
  ])('plans %j', (input, expected) => {
    // Act + Assess
    expect(plan(input)).toEqual(expected);
  });

  it('takes a schedule time a few minutes ahead of its clock (a scheduler firing at midnight)', () => {
    // Act: the schedule fires at 00:00 on the 16th; this clock still says 23:57 on the 15th
    const result = planRun({ scheduledTime: '2025-06-16T00:00:00Z' }, { timeZone: 'UTC', maxDays: 366, now: new Date('2025-06-15T23:57:00Z') });

    // Assess
    expect(result.dates).toEqual(['2025-06-15']);
  });

  it('turns the schedule time into yesterday in the partition time zone', () => {
    // Act: 23:30 UTC on the 14th is already the 15th in Berlin
    const berlin = plan({ scheduledTime: '2025-06-14T23:30:00Z' }, 'Europe/Berlin');

    // Assess
    expect(berlin.dates).toEqual(['2025-06-14']);
  });

  it.each([
    ['a non-object', 'tomorrow', 'input', /expected \{ "date"/],
    ['an array', ['2025-06-01'], 'input', /expected \{ "date"/],
    ['no fields', {}, 'input', /got "fields \(none\)"/],
    ['an extra field', { date: '2025-06-01', force: true }, 'input', /got "fields date,force"/],
    ['from without to', { from: '2025-06-01' }, 'input', /got "fields from"/],
    ['date and range together', { date: '2025-06-01', from: '2025-06-01', to: '2025-06-02' }, 'input', /fields date,from,to/],
    ['an impossible date', { date: '2025-02-30' }, 'date', /that exists/],
    ['an unpadded date', { date: '2025-2-3' }, 'date', /YYYY-MM-DD/],
    ['a number for a date', { date: 20250601 }, 'date', /YYYY-MM-DD/],
    ['a day after today', { date: '2025-06-16' }, 'date', /no later than today \(2025-06-15 in UTC\)/],
    ['far in the future', { date: '2999-12-31' }, 'date', /no later than today/],
    ['a reversed range', { from: '2025-06-02', to: '2025-06-01' }, 'to', /on or after from/],
    ['a range ending tomorrow', { from: '2025-06-01', to: '2025-06-16' }, 'to', /no later than today/],
    ['a range over the maximum', { from: '2024-01-01', to: '2025-06-01' }, 'to', /at most 366 days/],
    ['an unknown mode', { date: '2025-06-01', mode: 'merge' }, 'mode', /one of overwrite, append/],
    ['a bad schedule time', { scheduledTime: 'yesterday' }, 'scheduledTime', /ISO 8601/],
    [
      'a schedule time whose yesterday is today',
      { scheduledTime: '2025-06-16T02:30:00Z' },
      'scheduledTime',
      /yesterday is over \(not after today, 2025-06-15 in UTC\)/,
    ],
    ['a schedule time far in the future', { scheduledTime: '2030-01-01T00:00:00Z' }, 'scheduledTime', /yesterday is over/],
    ['a schedule time past the next midnight', { scheduledTime: '2025-06-16T00:06:00Z' }, 'scheduledTime', /yesterday is over/],
  ])('rejects %s', (_name, input, field, message) => {
    // Act
    const error = (() => {
      try {
        plan(input);
      } catch (e) {
        return e;
      }
    })();

    // Assess
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).field).toBe(field);
    expect((error as Error).message).toMatch(message);
  });
});

describe("planExecution: the schedule's lookback", () => {
  /** Plans `input` with a lookback whose days the check finds as `states` says (default current). */
  async function planWith(input: unknown, lookbackDays: number, states: Record<string, DayCheck['state']> = {}) {
    const asked: string[][] = [];
    const checkDays = async (days: readonly CalendarDay[]): Promise<DayCheck[]> => {
      asked.push(days.map((d) => d.iso));
      return days.map((d) => ({ date: d.iso, state: states[d.iso] ?? 'current', detail: `${states[d.iso] ?? 'current'} detail` }));
    };
    const result = await planExecution(input, { timeZone: 'UTC', maxDays: 366, now: NOW, lookbackDays, checkDays });
    return { result, asked };
  }

  it('checks the lookback and yesterday, and plans the stale and missing days before yesterday, saying why', async () => {
    // Act
    const { result, asked } = await planWith({ scheduledTime: '2025-06-15T02:30:00Z' }, 7, {
      '2025-06-09': 'stale',
      '2025-06-11': 'missing',
      '2025-06-12': 'stale',
      '2025-06-08': 'unpublished',
      '2025-06-14': 'unpublished',
    });

    // Assess
    expect(asked).toEqual([['2025-06-07', '2025-06-08', '2025-06-09', '2025-06-10', '2025-06-11', '2025-06-12', '2025-06-13', '2025-06-14']]);
    expect(result).toEqual({
      mode: 'overwrite',
      dates: ['2025-06-09', '2025-06-11', '2025-06-12', '2025-06-14'],
      reasons: [
        { date: '2025-06-09', kind: 'stale', detail: 'stale detail' },
        { date: '2025-06-11', kind: 'missing', detail: 'missing detail' },
        { date: '2025-06-12', kind: 'stale', detail: 'stale detail' },
        { date: '2025-06-14', kind: 'new', detail: 'yesterday' },
      ],
      skipped: [
        { date: '2025-06-07', kind: 'current', detail: 'current detail' },
        { date: '2025-06-08', kind: 'unpublished', detail: 'unpublished detail' },
        { date: '2025-06-10', kind: 'current', detail: 'current detail' },
        { date: '2025-06-13', kind: 'current', detail: 'current detail' },
      ],
    });
  });

  it('re-runs a published, current yesterday saying so (not as new), and runs a stale one as stale', async () => {
    // Act
    const current = await planWith({ scheduledTime: '2025-06-15T02:30:00Z' }, 0);
    const stale = await planWith({ scheduledTime: '2025-06-15T02:30:00Z' }, 0, { '2025-06-14': 'stale' });

    // Assess
    expect(current.asked).toEqual([['2025-06-14']]);
    expect(current.result).toMatchObject({
      dates: ['2025-06-14'],
      reasons: [{ date: '2025-06-14', kind: 'rerun', detail: 'yesterday, re-run every schedule (current detail)' }],
      skipped: [],
    });
    expect(stale.result).toMatchObject({
      dates: ['2025-06-14'],
      reasons: [{ date: '2025-06-14', kind: 'stale', detail: 'yesterday: stale detail' }],
      skipped: [],
    });
  });

  it('runs a never-published yesterday as new, whether or not the lake has earlier days', async () => {
    // Act
    const unpublished = await planWith({ scheduledTime: '2025-06-15T02:30:00Z' }, 0, { '2025-06-14': 'unpublished' });
    const missing = await planWith({ scheduledTime: '2025-06-15T02:30:00Z' }, 0, { '2025-06-14': 'missing' });

    // Assess
    for (const { result } of [unpublished, missing]) expect(result.reasons).toEqual([{ date: '2025-06-14', kind: 'new', detail: 'yesterday' }]);
  });

  it.each([[{ date: '2025-06-01' }], [{ from: '2025-06-01', to: '2025-06-03' }]])('leaves %j as the input names it, without looking back', async (input) => {
    // Act
    const { result, asked } = await planWith(input, 7, { '2025-05-31': 'stale' });

    // Assess
    expect(asked).toEqual([]);
    expect(result).toEqual(planRun(input, { timeZone: 'UTC', maxDays: 366, now: NOW }));
    expect(result.reasons).toBeUndefined();
  });

  it('refuses an append schedule while the lookback is on: a stale day must be replaced', async () => {
    // Act
    const error = await rejectionOf(planWith({ scheduledTime: '2025-06-15T02:30:00Z', mode: 'append' }, 7));

    // Assess
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).field).toBe('mode');
    expect((await planWith({ scheduledTime: '2025-06-15T02:30:00Z', mode: 'append' }, 0)).result.dates).toEqual(['2025-06-14']);
  });
});
