/**
 * The report's "Success rate and failures" section: the numbers its description states add up to
 * the rows of its Failures table, re-checks (`etl validate`) included, so "40 of 41 runs passed"
 * never stands above five failures without saying where the other four come from.
 */
import { describe, expect, it } from 'vitest';
import type { ValidationReport } from '../../src/lake/report-record.js';
import type { DayRecords } from '../../src/monitor/lake-state.js';
import { reportSections } from '../../src/monitor/report/sections.js';

/** A report of `kind` with `verdict` and one failed error check when it failed. */
function report(date: string, runId: string, kind: 'publish' | 'recheck', verdict: 'passed' | 'failed'): ValidationReport {
  return {
    table: 'rentals',
    date,
    runId,
    kind,
    verdict,
    checkedAt: `${date}T02:30:00.000Z`,
    sourceCount: 10,
    rows: 10,
    files: 1,
    bytes: 100,
    quarantined: 0,
    checks: verdict === 'failed' ? [{ check: 'source_rows_now', passed: false, severity: 'error', expected: '11', actual: '10' }] : [],
  };
}

describe('the success section of the report', () => {
  it('states the failed runs and the failed re-checks that make up its Failures table', () => {
    // Prepare: 3 publishing runs (1 failed) and 3 re-checks (2 failed)
    const days: DayRecords[] = [
      {
        date: '2025-03-01',
        reports: [
          report('2025-03-01', '20250302T023000000Z-aaaa', 'publish', 'passed'),
          report('2025-03-01', '20250303T023000000Z-bbbb', 'recheck', 'failed'),
          report('2025-03-01', '20250304T023000000Z-cccc', 'recheck', 'passed'),
        ],
      },
      {
        date: '2025-03-02',
        reports: [
          report('2025-03-02', '20250303T023000000Z-dddd', 'publish', 'failed'),
          report('2025-03-02', '20250303T033000000Z-eeee', 'publish', 'passed'),
          report('2025-03-02', '20250304T023000000Z-ffff', 'recheck', 'failed'),
        ],
      },
    ];

    // Act
    const section = reportSections(days, []).find((s) => s.id === 'success')!;

    // Assess
    const failures = section.tables.find((t) => t.caption?.startsWith('Failures'))!;
    expect(failures.rows).toHaveLength(3);
    expect(section.description).toMatch(
      /^2 of 3 runs passed validation \(66\.67%\), 1 failed; 2 of 3 re-checks \(etl validate\) failed\. The 3 failures below/,
    );
    expect(failures.caption).toBe('Failures (3: 1 of runs, 2 of re-checks)');
  });
});
