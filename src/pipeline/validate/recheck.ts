/**
 * Re-checking published days against the source as it is now (`etl validate --date`, and
 * `npm start`'s "already up to date" test). Not part of the pipeline's Lambdas.
 */
import type pg from 'pg';
import { classifyDbError } from '../../source/connect.js';
import { dayWindow, type CalendarDay } from '../../core/day.js';
import { newRunId, reportKey } from '../../lake/layout.js';
import { readManifest, type PartitionManifest } from '../../lake/manifest.js';
import type { ObjectStore } from '../../lake/store.js';
import { RENTALS, type FactTable } from '../../core/tables.js';
import { sourceStateQuery } from '../../source/queries.js';
import { filesPresentCheck, schemaCheck, summariseFooters, writeReport, type CheckResult, type ValidationReport } from './validate.js';

/** The day's rows in the source now: how many, and the latest change among them (the declared change-tracking column). */
export interface SourceState {
  readonly count: number;
  readonly lastChange: string | undefined;
}

/** Counts `table`'s rows of `day` in the source now and finds their latest change. */
export async function sourceState(client: pg.Client, day: CalendarDay, timeZone: string, table: FactTable = RENTALS): Promise<SourceState> {
  const window = dayWindow(day, timeZone);
  try {
    const { rows } = await client.query<{ n: string; last_change: Date | null }>(sourceStateQuery(table, window));
    return { count: Number(rows[0].n), lastChange: rows[0].last_change?.toISOString() };
  } catch (error) {
    throw classifyDbError(error, `count source rows of ${day.iso}`);
  }
}

/** True when no row of the day was updated after `snapshotAt`. */
export function unchangedSince(state: SourceState, snapshotAt: string): boolean {
  return state.lastChange === undefined || state.lastChange <= snapshotAt;
}

/** True when the published partition still matches the source: same count, no later update. */
export function isUpToDate(manifest: PartitionManifest, state: SourceState): boolean {
  const latest = manifest.runs.at(-1);
  return latest !== undefined && manifest.runs.length === 1 && latest.rows === state.count && unchangedSince(state, latest.sourceSnapshotAt);
}

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
  const source = await sourceState(client, day, timeZone, table);
  const sourceCount = source.count;
  const { manifest } = published;
  const footers = await summariseFooters(table, store, manifest.files);
  const rows = footers.rows;
  const bytes = manifest.files.reduce((s, f) => s + f.bytes, 0);
  // An appended partition holds rows of several runs: together they read this many source rows,
  // and the oldest of their reads is what a later change is measured against.
  const readRows = manifest.runs.reduce((n, run) => n + run.sourceCount, 0);
  const readAt = manifest.runs.map((run) => run.sourceSnapshotAt).sort()[0];
  const changedSince = !unchangedSince(source, readAt);
  const checks: CheckResult[] = [
    filesPresentCheck(footers, 'every file the manifest names'),
    {
      check: 'manifest_rows',
      passed: footers.rows === manifest.rows,
      severity: 'error',
      expected: `${manifest.rows} (manifest)`,
      actual: String(footers.rows),
    },
    schemaCheck(footers),
    {
      check: 'source_rows_now',
      passed: readRows === sourceCount,
      severity: 'error',
      expected: `${sourceCount} (source count now)`,
      actual: `${readRows} source rows read by the partition's ${manifest.runs.length === 1 ? 'run' : `${manifest.runs.length} runs`}`,
    },
    {
      check: 'source_unchanged_since_snapshot',
      passed: !changedSince,
      severity: 'error',
      expected: `no source row updated after ${readAt}`,
      actual: source.lastChange ? `last update ${source.lastChange}` : 'no rows',
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
