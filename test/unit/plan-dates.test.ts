/**
 * The `{ "dates": [...] }` input: scattered days in one execution (the failed days of an earlier
 * one, read from its `DaysFailed` cause), sorted and each once, checked as a date or range is.
 */
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import { MAX_LISTED_DATES, planRun } from '../../src/pipeline/plan/plan.js';
import { thrownBy } from '../support/outcomes.js';

const NOW = new Date('2025-06-15T12:00:00Z');
const plan = (input: unknown) => planRun(input, { timeZone: 'UTC', maxDays: 366, now: NOW });

describe('planRun with dates', () => {
  it('plans the named days oldest first, each once, with the mode asked for', () => {
    // Act
    const planned = plan({ dates: ['2025-06-03', '2024-12-31', '2025-06-03', '2025-01-15'], mode: 'append' });

    // Assess
    expect(planned).toEqual({ mode: 'append', dates: ['2024-12-31', '2025-01-15', '2025-06-03'] });
  });

  it.each([
    ['an empty list', { dates: [] }, 'dates', /a list of 1 to 1,?830 dates/],
    ['a string', { dates: '2025-06-01' }, 'dates', /a list of/],
    ['a bad date in the list', { dates: ['2025-06-01', '2025-02-30'] }, 'dates[1]', /that exists/],
    ['a day after today', { dates: ['2025-06-01', '2025-06-16'] }, 'dates', /no later than today/],
    ['dates beside a range', { dates: ['2025-06-01'], from: '2025-06-01', to: '2025-06-02' }, 'input', /fields dates,from,to/],
    [
      'too many dates',
      { dates: Array.from({ length: MAX_LISTED_DATES + 1 }, (_, i) => new Date(Date.UTC(2015, 0, 1 + i)).toISOString().slice(0, 10)) },
      'dates',
      /1831 dates/,
    ],
  ])('rejects %s', (_name, input, field, message) => {
    // Act
    const error = thrownBy(() => plan({ ...input }));

    // Assess
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).field).toBe(field);
    expect((error as Error).message).toMatch(message);
  });
});
