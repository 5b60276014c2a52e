/**
 * A lake of many days without running the pipeline: for each day a manifest and a passed
 * validation report written straight into the store, as validate writes them (no data files: what
 * reads only manifests and reports, `etl status`, cannot tell).
 */
import { addDays, type CalendarDay } from '../../src/core/day.js';
import { manifestKey, reportKey } from '../../src/lake/layout.js';
import type { PartitionManifest } from '../../src/lake/manifest.js';
import type { ObjectStore } from '../../src/lake/store.js';
import { mapBounded } from '../../src/core/bounded.js';
import type { ValidationReport } from '../../src/lake/report-record.js';

/** The run id of a synthetic day: its date at 02:30 UTC plus one day, and its index as the random part. */
function runIdOf(day: CalendarDay, index: number): string {
  const next = addDays(day, 1).iso.replace(/-/g, '');
  return `${next}T023000000Z-${index.toString(16).padStart(8, '0')}`;
}

/** Rows of the `index`-th synthetic day (varies, so that a mix-up of days shows). */
export function syntheticRows(index: number): number {
  return 1_000 + (index % 97);
}

/** Writes a published day (manifest and report) for each of `days`, `concurrency` objects at a time. */
export async function writeSyntheticDays(store: ObjectStore, days: readonly CalendarDay[], concurrency = 32): Promise<void> {
  await mapBounded([...days.entries()], concurrency, async ([index, day]) => {
    const runId = runIdOf(day, index);
    const rows = syntheticRows(index);
    const at = `${addDays(day, 1).iso}T02:30:0`;
    const key = `rentals/year=${day.year}/month=${String(day.month).padStart(2, '0')}/day=${String(day.day).padStart(2, '0')}/part-${runId}-00000.parquet`;
    const manifest: PartitionManifest = {
      version: 1,
      table: 'rentals',
      date: day.iso,
      runId,
      schemaFingerprint: 'synthetic',
      rows,
      files: [{ key, rows, bytes: rows * 20, runId }],
      quarantine: [],
      runs: [{ runId, mode: 'overwrite', sourceCount: rows, sourceSnapshotAt: `${at}1.000Z`, rows, publishedAt: `${at}4.000Z`, quarantined: index % 7 }],
    };
    const report: ValidationReport = {
      table: 'rentals',
      date: day.iso,
      runId,
      kind: 'publish',
      verdict: 'passed',
      checkedAt: `${at}3.000Z`,
      sourceCount: rows,
      rows,
      files: 1,
      bytes: rows * 20,
      quarantined: index % 7,
      metrics: {
        rows,
        nullCounts: {},
        negativeDurations: 0,
        negativeCosts: 0,
        quarantined: index % 7,
        excluded: 0,
        rejectReasons: { rent_cost_not_numeric: index % 7 },
        duplicateIds: 0,
      },
      checks: [],
    };
    await store.putObject(manifestKey(day), `${JSON.stringify(manifest, null, 2)}\n`, { contentType: 'application/json' });
    await store.putObject(reportKey(day, runId), `${JSON.stringify(report, null, 2)}\n`, { contentType: 'application/json' });
  });
}
