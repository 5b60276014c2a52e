/**
 * Numbers travel as numbers: the HTML report's sections and `etl status` read a check's `value`,
 * `limit` and `of`, never its `expected`/`actual` text. Every check of a set of days (built by
 * validate's own `qualityChecks`) is reworded, and every chart and table number stays the same;
 * only what quotes the texts for people (a failure's reason) follows the words.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS } from '../../src/core/config.js';
import { RENTALS } from '../../src/core/tables.js';
import type { PartitionManifest } from '../../src/lake/manifest.js';
import type { ValidationReport } from '../../src/lake/report-record.js';
import type { DayRecords } from '../../src/monitor/lake-state.js';
import { reportSections, reportSummary, type Section } from '../../src/monitor/report/sections.js';
import { dayStatus, type DayStatus } from '../../src/monitor/status.js';
import type { DayMetrics } from '../../src/pipeline/contracts.js';
import { qualityChecks, type FooterSummary } from '../../src/pipeline/validate/validate.js';

const NULLS = { rent_end: 10, start_station: 3, end_station: 10, rent_cost: 20 };

function metrics(rows: number, quarantined: number): DayMetrics {
  return {
    rows,
    nullCounts: NULLS,
    duplicateIds: 1,
    negativeDurations: 2,
    negativeCosts: 1,
    quarantined,
    excluded: 0,
    rejectReasons: { rent_cost_not_numeric: quarantined },
  };
}

/** A day's publishing report, its checks made by validate's `qualityChecks`. */
function publishReport(date: string, runId: string, rows: number, quarantined: number, previousRows: number | undefined): ValidationReport {
  const measured = metrics(rows, quarantined);
  const footers: FooterSummary = { rows, nullCounts: { ...NULLS }, schemaMismatches: [], missing: [] };
  const checks = qualityChecks(RENTALS, { sourceCount: rows, metrics: measured }, footers, { ...DEFAULT_THRESHOLDS, maxDuplicateIds: 2 }, previousRows);
  return {
    table: 'rentals',
    date,
    runId,
    kind: 'publish',
    verdict: checks.every((c) => c.passed || c.severity === 'warning') ? 'passed' : 'failed',
    checkedAt: `${date}T02:30:03.000Z`,
    sourceCount: rows,
    rows,
    files: 1,
    bytes: rows * 20,
    quarantined,
    metrics: measured,
    checks,
  };
}

function manifestOf(report: ValidationReport): PartitionManifest {
  const { date, runId, rows } = report;
  const key = `rentals/${date}/part-${runId}-00000.parquet`;
  return {
    version: 1,
    table: 'rentals',
    date,
    runId,
    schemaFingerprint: 'f',
    rows,
    files: [{ key, rows, bytes: rows * 20, runId }],
    quarantine: [],
    runs: [
      {
        runId,
        mode: 'overwrite',
        sourceCount: rows,
        sourceSnapshotAt: `${date}T02:30:01.000Z`,
        rows,
        publishedAt: `${date}T02:30:04.000Z`,
        quarantined: report.quarantined,
      },
    ],
  };
}

/**
 * Four days: the first without a day before, a usual one, one whose day before had no rows, and
 * one whose latest run failed its quarantine limit after an earlier publish.
 */
function lakeDays(): DayRecords[] {
  const first = publishReport('2025-04-01', '20250402T023000000Z-00000001', 1_000, 10, undefined);
  const second = publishReport('2025-04-02', '20250403T023000000Z-00000002', 1_200, 12, 1_000);
  const fromEmpty = publishReport('2025-04-03', '20250404T023000000Z-00000003', 900, 9, 0);
  const published = publishReport('2025-04-04', '20250405T023000000Z-00000004', 950, 5, 900);
  const failed = publishReport('2025-04-04', '20250406T023000000Z-00000005', 950, 400, 900);
  expect(failed.verdict).toBe('failed');
  return [
    { date: first.date, manifest: manifestOf(first), reports: [first] },
    { date: second.date, manifest: manifestOf(second), reports: [second] },
    { date: fromEmpty.date, manifest: manifestOf(fromEmpty), reports: [fromEmpty] },
    { date: published.date, manifest: manifestOf(published), reports: [published, failed] },
  ];
}

/** The days with every check's texts replaced. */
function reworded(days: readonly DayRecords[]): DayRecords[] {
  return days.map((day) => ({
    ...day,
    reports: day.reports.map((report) => ({ ...report, checks: report.checks.map((check) => ({ ...check, expected: 'x', actual: 'x' })) })),
  }));
}

/** The sections without the column that quotes the check texts (a failure's reason). */
function numbersOf(sections: readonly Section[]): unknown {
  return sections.map((section) => ({
    ...section,
    tables: section.tables.map((table) => {
      const reason = table.columns.indexOf('reason');
      return reason < 0 ? table : { ...table, rows: table.rows.map((row) => row.filter((_, i) => i !== reason)) };
    }),
  }));
}

/** A day's status without the failed checks' texts. */
function statusNumbers(status: DayStatus): unknown {
  return { ...status, last: status.last && { ...status.last, reasons: status.last.reasons.length } };
}

describe('numbers, not texts, between validate and the views', () => {
  it('draws and tabulates the same numbers whatever the checks say in words', () => {
    // Prepare
    const days = lakeDays();

    // Act
    const asWritten = reportSections(days, []);
    const asReworded = reportSections(reworded(days), []);

    // Assess
    expect(numbersOf(asReworded)).toEqual(numbersOf(asWritten));
    expect(reportSummary(reworded(days))).toEqual(reportSummary(days));
  });

  it('reads the limits, the changes and the days before from the checks’ numbers', () => {
    // Act
    const sections = reportSections(reworded(lakeDays()), []);

    // Assess: not vacuous; the figures are there after the rewording
    const section = (id: string) => sections.find((s) => s.id === id)!;
    const dataset = (id: string, label: string) => section(id).chart.datasets.find((d) => d.label === label)!.data;
    expect(dataset('day-over-day', 'change')).toEqual([null, 0.2, null, expect.closeTo(50 / 900, 12)]);
    expect(dataset('day-over-day', 'limit')).toEqual([null, 0.5, 0.5, 0.5]);
    expect(section('day-over-day').tables[0].rows).toEqual([
      ['2025-04-02', 1_200, 1_000, '20.00%', '50.00%', 'ok'],
      ['2025-04-03', 900, 0, 'from 0 rows', '50.00%', 'warning'],
      ['2025-04-04', 950, 900, '5.56%', '50.00%', 'ok'],
    ]);
    expect(dataset('duplicates', 'limit')).toEqual([2, 2, 2, 2]);
    expect(dataset('null-rate', 'limit')).toEqual(Array(4).fill(DEFAULT_THRESHOLDS.maxNullRate));
    expect(section('quarantine').description).toContain(`A day fails above ${(DEFAULT_THRESHOLDS.maxQuarantineRate * 100).toFixed(2)}% of its rows.`);
  });

  it("shows '-' where a report written before checks carried numbers has none", () => {
    // Prepare: the same days as older code wrote them, texts and no figures
    const older = lakeDays().map((day) => ({
      ...day,
      reports: day.reports.map((report) => ({ ...report, checks: report.checks.map(({ value, limit, unit, of, ...texts }) => texts) })),
    }));

    // Act
    const sections = reportSections(older, []);

    // Assess
    const section = (id: string) => sections.find((s) => s.id === id)!;
    expect(section('day-over-day').tables[0].rows.map((row) => row.slice(2, 5))).toEqual(Array(3).fill(['-', '-', '-']));
    expect(section('day-over-day').chart.datasets.flatMap((d) => d.data)).toEqual(Array(8).fill(null));
    expect(section('duplicates').tables[0].rows.map((row) => row[2])).toEqual(Array(4).fill('-'));
    expect(section('null-rate').tables[0].rows.map((row) => row[4])).toEqual(Array(4).fill('-'));
  });

  it('gives etl status the same figures whatever the checks say in words', () => {
    // Prepare
    const days = lakeDays();
    const source = { count: 950, digest: '0', lastChange: '2025-04-04T01:00:00.000Z' };

    // Act
    const asWritten = days.map((day) => dayStatus(day, source, new Date(0)));
    const asReworded = reworded(days).map((day) => dayStatus(day, source, new Date(0)));

    // Assess
    expect(asReworded.map(statusNumbers)).toEqual(asWritten.map(statusNumbers));
    expect(asWritten[3]).toMatchObject({ rows: 950, source: { state: 'current', count: 950 }, last: { verdict: 'failed' } });
  });
});
