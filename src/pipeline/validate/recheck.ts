/**
 * Re-checking published days against the source as it is now (`etl validate --date`). Not part of
 * the pipeline's Lambdas. Whether the source has moved on is the one rule for "current"
 * (`lake/currency.ts`), which `npm start`'s skip and the schedule's lookback apply too.
 */
import type pg from 'pg';
import type { CalendarDay } from '../../core/day.js';
import { RENTALS, type FactTable } from '../../core/tables.js';
import { dayCurrency } from '../../lake/currency.js';
import { newRunId, reportKey } from '../../lake/layout.js';
import { readManifest } from '../../lake/manifest.js';
import type { CheckResult, ValidationReport } from '../../lake/report-record.js';
import type { ObjectStore } from '../../lake/store.js';
import { sourceDayState } from '../../source/day-state.js';
import { filesPresentCheck, schemaCheck, summariseFooters, writeReport } from './validate.js';

export interface RecheckRequest {
  readonly store: ObjectStore;
  readonly client: pg.Client;
  readonly day: CalendarDay;
  readonly timeZone: string;
  /** The table to re-check: the declared `rentals` unless told. */
  readonly table?: FactTable;
}

/** What a re-check found: the day is not published (and nothing was written), or its report. */
export type RecheckResult = { readonly published: false } | { readonly published: true; readonly report: ValidationReport; readonly reportKey: string };

/**
 * Re-checks a published day against the source as it is now: the manifest's files must exist with
 * the lake schema and their rows must match the source, and no source row may have changed since
 * the snapshot the partition was built from. Tells a user when a partition has gone stale. A day
 * that was never published has nothing to re-check: no report is written for it.
 */
export async function recheckPartition(request: RecheckRequest): Promise<RecheckResult> {
  const { store, client, day, timeZone } = request;
  const table = request.table ?? RENTALS;
  const published = await readManifest(store, day);
  if (!published) return { published: false };
  const source = await sourceDayState(client, day, timeZone, table);
  const sourceCount = source.count;
  const { manifest } = published;
  const footers = await summariseFooters(table, store, manifest.files);
  const rows = footers.rows;
  const bytes = manifest.files.reduce((s, f) => s + f.bytes, 0);
  // The rule for "current" decides the two source checks: the rows the partition's runs read
  // together against the source's count now, and no change after the oldest of their reads.
  const currency = dayCurrency(manifest, source);
  const checks: CheckResult[] = [
    filesPresentCheck(footers, 'every file the manifest names'),
    {
      check: 'manifest_rows',
      passed: footers.rows === manifest.rows,
      severity: 'error',
      expected: `${manifest.rows} (manifest)`,
      actual: String(footers.rows),
      value: footers.rows,
      limit: manifest.rows,
      unit: 'rows',
    },
    schemaCheck(footers),
    {
      check: 'source_rows_now',
      passed: currency.countMatches,
      severity: 'error',
      expected: `${sourceCount} (source count now)`,
      actual: `${currency.read} source rows read by the partition's ${manifest.runs.length === 1 ? 'run' : `${manifest.runs.length} runs`}`,
      value: currency.read,
      limit: sourceCount,
      unit: 'rows',
    },
    {
      check: 'source_unchanged_since_snapshot',
      passed: currency.unchanged,
      severity: 'error',
      expected: `no source row ${currency.signal ? 'inserted, updated or deleted (the change signal)' : 'updated'} after ${currency.snapshotAt}`,
      actual: currency.signal
        ? currency.unchanged
          ? 'the same change signal'
          : 'the change signal differs'
        : source.lastChange
          ? `last update ${source.lastChange}`
          : 'no rows',
    },
  ];
  const runId = newRunId();
  const report: ValidationReport = {
    table: table.name,
    date: day.iso,
    runId,
    kind: 'recheck',
    verdict: checks.every((c) => c.passed || c.severity === 'warning') ? 'passed' : 'failed',
    checkedAt: new Date().toISOString(),
    sourceCount,
    rows,
    files: manifest.files.length,
    bytes,
    quarantined: 0,
    checks,
  };
  const key = reportKey(day, runId);
  await writeReport(store, key, report);
  return { published: true, report, reportKey: key };
}
