/**
 * The validation report as the lake keeps it (`_reports/…/<run>.json`): what validate and `etl
 * validate` write, and what the views (`etl status`, the HTML report) read. Its checks carry their
 * figures as numbers (`value`, `limit`, `of`); the `expected`/`actual` texts are for people, and no
 * reader parses them.
 */

/** One check of a report. */
export interface CheckResult {
  readonly check: string;
  readonly passed: boolean;
  /** `error` fails the run; `warning` is reported only. */
  readonly severity: 'error' | 'warning';
  /** What the check wanted, in words. */
  readonly expected: string;
  /** What it found, in words. */
  readonly actual: string;
  /**
   * The figure the check measured, when it measures one: a fraction for a `rate`, else a number of
   * rows or things. Absent for a change from 0 rows (no finite rate), and in reports written
   * before checks carried numbers.
   */
  readonly value?: number;
  /** The figure `value` is held to: its upper bound, or for a row count the count it must equal. */
  readonly limit?: number;
  /** What `value` and `limit` count: a `rate` is a fraction of `of` rows. */
  readonly unit?: 'rate' | 'rows' | 'count';
  /** The rows a `rate` is a fraction of (for a day-over-day change: the day before's rows). */
  readonly of?: number;
}

/** A day's quality measures as a report records them (the measures of validate's run). */
export interface ReportMetrics {
  readonly rows: number;
  readonly nullCounts: Readonly<Record<string, number>>;
  readonly negativeDurations: number;
  readonly negativeCosts: number;
  readonly quarantined: number;
  /** Source rows left out of the lake (quarantined whole: a required value is NULL). */
  readonly excluded: number;
  readonly rejectReasons: Readonly<Record<string, number>>;
  /** An append's source rows left out as already published; of those, changed in the source since. */
  readonly alreadyPublished?: number;
  readonly changedSincePublish?: number;
  /** Keys found more than once in the published partition an append builds on. */
  readonly publishedDuplicateIds?: number;
  readonly duplicateIds: number;
  /** On a day still in progress: rentals open at the snapshot, and their NULLs per column (not anomalies). */
  readonly open?: number;
  readonly openNullCounts?: Readonly<Record<string, number>>;
}

/** A validation report: a publishing run's checks (`publish`) or `etl validate`'s (`recheck`). */
export interface ValidationReport {
  readonly table: string;
  readonly date: string;
  readonly runId: string;
  readonly kind: 'publish' | 'recheck';
  readonly verdict: 'passed' | 'failed';
  readonly checkedAt: string;
  readonly sourceCount: number;
  readonly rows: number;
  readonly files: number;
  readonly bytes: number;
  readonly quarantined: number;
  readonly metrics?: ReportMetrics;
  /**
   * The measures of the partition as the run published it (an append's: the published rows' and
   * its own); its rates are what the checks judged. Absent: the same as `metrics` (an overwrite,
   * or a report written before appends were judged on the partition).
   */
  readonly partition?: ReportMetrics;
  readonly checks: readonly CheckResult[];
}

/** `part` as a fraction of `whole` (0 of nothing). */
export function rateOf(part: number, whole: number): number {
  return whole === 0 ? 0 : part / whole;
}

/** A fraction as a percentage with two decimals, as the reports write them (`0.05` as `5.00%`). */
export function percent(n: number): string {
  return `${(n * 100).toFixed(2)}%`;
}
