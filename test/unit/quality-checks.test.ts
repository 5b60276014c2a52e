/**
 * The validate stage's checks, given footers and metrics: each breach names the check, the limit
 * and the value seen; the day-over-day change warns unless a limit is configured.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS } from '../../src/core/config.js';
import { column, declareFactTable, RENTALS } from '../../src/core/tables.js';
import type { DayMetrics } from '../../src/pipeline/contracts.js';
import { qualityChecks, type FooterSummary } from '../../src/pipeline/validate/validate.js';

const NULLS = {
  rental_id: 0,
  user_id: 0,
  bike_id: 0,
  rent_start: 0,
  rent_end: 10,
  start_station: 0,
  end_station: 10,
  rent_cost: 20,
  updated_at: 0,
  etl_run_id: 0,
  etl_extracted_at: 0,
};

function metrics(overrides: Partial<DayMetrics> = {}): DayMetrics {
  return {
    rows: 1_000,
    nullCounts: NULLS,
    duplicateIds: 0,
    negativeDurations: 2,
    negativeCosts: 1,
    quarantined: 10,
    excluded: 0,
    rejectReasons: {},
    ...overrides,
  };
}

function footers(overrides: Partial<FooterSummary> = {}): FooterSummary {
  return { rows: 1_000, nullCounts: { ...NULLS }, schemaMismatches: [], missing: [], ...overrides };
}

const failed = (checks: ReturnType<typeof qualityChecks>) => checks.filter((c) => !c.passed).map((c) => `${c.severity} ${c.check}: ${c.actual}`);

describe('qualityChecks', () => {
  it('passes a day like the generator makes', () => {
    // Act
    const checks = qualityChecks(RENTALS, { sourceCount: 1_000, metrics: metrics() }, footers(), DEFAULT_THRESHOLDS, 980);

    // Assess
    expect(failed(checks)).toEqual([]);
    expect(checks.map((c) => c.check)).toContain('day_over_day_change');
  });

  it.each([
    ['a missing row', { sourceCount: 1_001, metrics: metrics() }, footers(), 'error row_count: 1000'],
    [
      'a schema mismatch',
      { sourceCount: 1_000, metrics: metrics() },
      footers({ schemaMismatches: ['f.parquet: rent_cost INT64 OPTIONAL'] }),
      'error schema: f.parquet: rent_cost INT64 OPTIONAL',
    ],
    [
      'footer NULLs that differ from the writer',
      { sourceCount: 1_000, metrics: metrics() },
      footers({ nullCounts: { ...NULLS, rent_cost: 21 } }),
      expect.stringMatching(/^error footer_null_counts/),
    ],
    ['a repeated rental_id', { sourceCount: 1_000, metrics: metrics({ duplicateIds: 1 }) }, footers(), 'error duplicate_rental_id: 1'],
    ['too many quarantined rows', { sourceCount: 1_000, metrics: metrics({ quarantined: 60 }) }, footers(), 'error quarantine_rate: 6.00%'],
    [
      'too many NULLs in a column',
      { sourceCount: 1_000, metrics: metrics({ nullCounts: { ...NULLS, rent_end: 150 } }) },
      footers({ nullCounts: { ...NULLS, rent_end: 150 } }),
      'error null_rate.rent_end: 15.00%',
    ],
    ['too many negative durations', { sourceCount: 1_000, metrics: metrics({ negativeDurations: 11 }) }, footers(), 'error negative_duration_rate: 1.10%'],
    ['too many negative costs', { sourceCount: 1_000, metrics: metrics({ negativeCosts: 20 }) }, footers(), 'error negative_cost_rate: 2.00%'],
  ])('fails on %s', (_name, transform, footerSummary, expected) => {
    // Act
    const checks = qualityChecks(RENTALS, transform, footerSummary, DEFAULT_THRESHOLDS, undefined);

    // Assess
    expect(failed(checks)).toEqual([expected]);
  });

  it('expects the source count less the rows left out for a NULL key', () => {
    // Act
    const checks = qualityChecks(RENTALS, { sourceCount: 1_002, metrics: metrics({ excluded: 2 }) }, footers(), DEFAULT_THRESHOLDS, undefined);

    // Assess
    expect(failed(checks)).toEqual([]);
    expect(checks.find((c) => c.check === 'row_count')?.expected).toMatch(/^1000 \(source count in the extract snapshot less 2 quarantined rows/);
  });

  it('reports the checks of rentals under their names', () => {
    // Act
    const checks = qualityChecks(RENTALS, { sourceCount: 1_000, metrics: metrics() }, footers(), DEFAULT_THRESHOLDS, 980);

    // Assess
    expect(checks.map((c) => c.check)).toEqual([
      'files_present',
      'row_count',
      'schema',
      'footer_null_counts',
      'duplicate_rental_id',
      'quarantine_rate',
      'negative_duration_rate',
      'negative_cost_rate',
      'null_rate.rent_end',
      'null_rate.start_station',
      'null_rate.end_station',
      'null_rate.rent_cost',
      'day_over_day_change',
    ]);
  });

  it('names the checks after what the table declares', () => {
    // Prepare
    const trips = declareFactTable({
      name: 'trips',
      columns: [
        column('trip_id', 'text', false, 'Trip'),
        column('departed', 'timestamptz', false, 'Departure'),
        column('arrived', 'timestamptz', true, 'Arrival'),
        column('fare', 'text', true, 'Fare', { cast: { to: 'decimal', precision: 6, scale: 3 } }),
      ],
      key: 'trip_id',
      partition: 'departed',
      changedAt: 'departed',
      order: ['departed'],
      measures: { negativeInterval: { name: 'time_travel', start: 'departed', end: 'arrived' } },
      lineage: [{ name: 'loaded_by', value: 'run_id', description: 'Run' }],
      snapshots: [],
    });
    const nulls = { trip_id: 0, departed: 0, arrived: 5, fare: 600, loaded_by: 0 };

    // Act
    const checks = qualityChecks(
      trips,
      { sourceCount: 1_000, metrics: metrics({ nullCounts: nulls, negativeDurations: 20 }) },
      footers({ nullCounts: nulls }),
      DEFAULT_THRESHOLDS,
      undefined,
    );

    // Assess
    expect(checks.map((c) => c.check)).toEqual([
      'files_present',
      'row_count',
      'schema',
      'footer_null_counts',
      'duplicate_trip_id',
      'quarantine_rate',
      'time_travel_rate',
      'null_rate.arrived',
      'null_rate.fare',
    ]);
    expect(failed(checks)).toEqual(['error time_travel_rate: 2.00%', 'error null_rate.fare: 60.00%']);
  });

  it('only warns about a large day-over-day change unless a limit is set', () => {
    // Act
    const warned = qualityChecks(RENTALS, { sourceCount: 1_000, metrics: metrics() }, footers(), DEFAULT_THRESHOLDS, 400);
    const enforced = qualityChecks(RENTALS, { sourceCount: 1_000, metrics: metrics() }, footers(), { ...DEFAULT_THRESHOLDS, maxDayOverDayChange: 0.2 }, 400);

    // Assess
    expect(failed(warned)).toEqual(['warning day_over_day_change: 150.00%']);
    expect(failed(enforced)).toEqual(['error day_over_day_change: 150.00%']);
  });

  it('carries each figure as a number: the value, its limit, and the rows a rate is of', () => {
    // Act
    const checks = qualityChecks(RENTALS, { sourceCount: 1_000, metrics: metrics({ quarantined: 60 }) }, footers(), DEFAULT_THRESHOLDS, 400);
    const fromEmpty = qualityChecks(RENTALS, { sourceCount: 1_000, metrics: metrics() }, footers(), DEFAULT_THRESHOLDS, 0);
    const numbers = (name: string, from = checks) => {
      const { value, limit, unit, of } = from.find((c) => c.check === name)!;
      return { value, limit, unit, of };
    };

    // Assess
    expect(numbers('quarantine_rate')).toEqual({ value: 0.06, limit: DEFAULT_THRESHOLDS.maxQuarantineRate, unit: 'rate', of: 1_000 });
    expect(numbers('null_rate.rent_cost')).toEqual({ value: 0.02, limit: DEFAULT_THRESHOLDS.maxNullRate, unit: 'rate', of: 1_000 });
    expect(numbers('duplicate_rental_id')).toEqual({ value: 0, limit: DEFAULT_THRESHOLDS.maxDuplicateIds, unit: 'rows', of: undefined });
    expect(numbers('row_count')).toEqual({ value: 1_000, limit: 1_000, unit: 'rows', of: undefined });
    expect(numbers('files_present')).toEqual({ value: 0, limit: 0, unit: 'count', of: undefined });
    expect(numbers('day_over_day_change')).toEqual({ value: 1.5, limit: 0.5, unit: 'rate', of: 400 });
    // A change from 0 rows has no finite rate: the day before's rows say why.
    expect(numbers('day_over_day_change', fromEmpty)).toEqual({ value: undefined, limit: 0.5, unit: 'rate', of: 0 });
    expect(fromEmpty.find((c) => c.check === 'day_over_day_change')?.actual).toBe('from 0 rows');
  });
});
