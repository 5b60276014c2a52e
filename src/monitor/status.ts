/**
 * The state of each day at a glance (`etl status`): published or not and what with, whether the
 * source has moved on since (when a database is at hand), who holds the day's lock, how its last
 * check ended and why, how much of it was quarantined, and whether a day without a partition is
 * missing (after the lake's first day: the schedule publishes it). Built from `readLakeState` alone, plus
 * one grouped count of the source for all the days at once (`sourceDayStates`), judged by the one
 * rule for "current" (`lake/currency.ts`) the schedule's lookback republishes stale days by.
 */
import { dayCurrency } from '../lake/currency.js';
import { rateOf, type CheckResult, type ValidationReport } from '../lake/report-record.js';
import type { SourceDayState } from '../source/day-state.js';
import type { DayRecords, LockState } from './lake-state.js';

/** How the day compares with the source now, by the one rule for "current" (`dayCurrency`). */
export interface SourceComparison {
  /**
   * `current`: the source has the rows the partition's runs read and none changed since (the change
   * signal); `stale`: not so; `missing`: no manifest, after the lake's first day; `unpublished`: no
   * manifest, before it.
   */
  readonly state: string;
  readonly count: number;
  readonly lastChange?: string;
  /** The figures that decided it. */
  readonly detail: string;
}

/** The last report of a day: its verdict and, when it is not a clean pass, why. */
export interface LastVerdict {
  readonly verdict: 'passed' | 'failed';
  readonly kind: 'publish' | 'recheck';
  readonly runId: string;
  readonly checkedAt: string;
  /** The failed error-level checks, else the failed warnings: `check: actual (expected ...)`. */
  readonly reasons: readonly string[];
}

/** One day of `etl status`. */
export interface DayStatus {
  readonly date: string;
  readonly published: boolean;
  readonly rows?: number;
  readonly files?: number;
  readonly bytes?: number;
  /** The write mode of each run whose rows the partition holds, oldest first. */
  readonly runs?: readonly string[];
  /** Source time of the snapshot the latest run read. */
  readonly snapshotAt?: string;
  readonly publishedAt?: string;
  /** Only when a database was given. */
  readonly source?: SourceComparison;
  readonly lock?: LockState & { readonly expired: boolean };
  readonly last?: LastVerdict;
  /** Quarantined rows over rows read, of the partition as the latest publishing run left it. */
  readonly quarantineRate?: number;
  /** Why a day after the lake's first day has no partition (the schedule publishes it: `missing`). */
  readonly missing?: string;
}

function explain(check: CheckResult): string {
  return `${check.check}: ${check.actual} (expected ${check.expected})`;
}

function lastVerdict(report: ValidationReport): LastVerdict {
  const failed = report.checks.filter((c) => !c.passed);
  const errors = failed.filter((c) => c.severity === 'error');
  return {
    verdict: report.verdict,
    kind: report.kind,
    runId: report.runId,
    checkedAt: report.checkedAt,
    reasons: (errors.length > 0 ? errors : failed).map(explain),
  };
}

function compare(records: DayRecords, source: SourceDayState, missing: boolean): SourceComparison {
  const base = { count: source.count, ...(source.lastChange ? { lastChange: source.lastChange } : {}) };
  if (!records.manifest) return { state: missing ? 'missing' : 'unpublished', ...base, detail: `${source.count.toLocaleString('en-US')} rows in the source` };
  const { state, detail } = dayCurrency(records.manifest, source);
  return { state, detail, ...base };
}

/** Why an unpublished day after the lake's first day is missing: never run, or how its last run ended. */
function missingReason(records: DayRecords, firstPublished: string): string {
  const last = records.reports.at(-1);
  const why = last?.verdict === 'failed' ? `its last run failed (${last.runId})` : records.lock ? 'a run holds it' : 'no run recorded';
  return `never published, though the lake starts at ${firstPublished}: ${why}`;
}

/**
 * The status of one day from what the lake holds about it, compared with `source` when given. A
 * day without a partition after `firstPublished` (the lake's first day) is missing.
 */
export function dayStatus(records: DayRecords, source: SourceDayState | undefined, now: Date = new Date(), firstPublished?: string): DayStatus {
  const { manifest, lock } = records;
  const missing = !manifest && firstPublished !== undefined && firstPublished < records.date;
  const latestRun = manifest?.runs.at(-1);
  const lastReport = records.reports.at(-1);
  const lastPublish = records.reports.findLast((r) => r.kind === 'publish');
  // The partition's measures as its last publish left them (an append's report holds them apart).
  const measured = lastPublish?.partition ?? lastPublish?.metrics;
  const readRows = lastPublish ? (measured?.rows ?? lastPublish.rows) : 0;
  return {
    date: records.date,
    published: manifest !== undefined,
    ...(manifest
      ? {
          rows: manifest.rows,
          files: manifest.files.length,
          bytes: manifest.files.reduce((s, f) => s + f.bytes, 0),
          runs: manifest.runs.map((r) => r.mode),
          snapshotAt: latestRun?.sourceSnapshotAt,
          publishedAt: latestRun?.publishedAt,
        }
      : {}),
    ...(source ? { source: compare(records, source, missing) } : {}),
    ...(missing ? { missing: missingReason(records, firstPublished!) } : {}),
    ...(lock ? { lock: { ...lock, expired: !(Date.parse(lock.expiresAt) > now.getTime()) } } : {}),
    ...(lastReport ? { last: lastVerdict(lastReport) } : {}),
    ...(lastPublish ? { quarantineRate: rateOf(measured?.quarantined ?? lastPublish.quarantined, readRows) } : {}),
  };
}
