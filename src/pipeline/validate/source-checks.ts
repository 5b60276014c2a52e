/**
 * Two checks of a day about the source rather than the written files: schema drift (source
 * columns the table declaration does not name, which the lake does not carry: a warning naming
 * each with its type) and an empty or thin day (`QUALITY_MIN_DAY_ROWS`; unset, a day without rows
 * is a warning; set, a day below it fails).
 */
import type { QualityThresholds } from '../../core/config.js';
import type { CheckResult } from '../../lake/report-record.js';

/** The source columns any range of a run found undeclared, once each; `{}` when none did. */
export function undeclaredIn(ranges: readonly { readonly undeclaredColumns?: readonly string[] }[]): { undeclaredColumns?: string[] } {
  const columns = [...new Set(ranges.flatMap((range) => range.undeclaredColumns ?? []))];
  return columns.length > 0 ? { undeclaredColumns: columns } : {};
}

/** The checks of `write`, a run whose day holds `rows` rows once published. */
export function sourceChecks(write: { readonly undeclaredColumns?: readonly string[] }, rows: number, thresholds: QualityThresholds): CheckResult[] {
  const undeclared = write.undeclaredColumns ?? [];
  const least = thresholds.minDayRows ?? 1;
  return [
    {
      check: 'undeclared_source_columns',
      passed: undeclared.length === 0,
      severity: 'warning',
      expected: 'no source column beyond the table declaration (core/tables.ts); others are not carried into the lake',
      actual: undeclared.length === 0 ? 'none' : undeclared.join(', '),
      value: undeclared.length,
      unit: 'count',
    },
    {
      check: 'min_day_rows',
      passed: rows >= least,
      severity: thresholds.minDayRows === undefined ? 'warning' : 'error',
      expected: `>= ${least} rows in the day${thresholds.minDayRows === undefined ? ' (QUALITY_MIN_DAY_ROWS unset: a warning)' : ''}`,
      actual: `${rows} rows`,
      value: rows,
      unit: 'rows',
    },
  ];
}
