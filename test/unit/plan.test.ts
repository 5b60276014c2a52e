/**
 * The execution input, checked by the Plan state before any work: a table of bad inputs, each
 * with the field and expected form its error names.
 */
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import { planRun } from '../../src/pipeline/plan/plan.js';

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
    [{ scheduledTime: '2025-06-15T02:30:00Z' }, { mode: 'overwrite', dates: ['2025-06-14'] }],
    [{ date: '1999-01-01' }, { mode: 'overwrite', dates: ['1999-01-01'] }],
  ])('plans %j', (input, expected) => {
    // Act + Assess
    expect(plan(input)).toEqual(expected);
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
