/**
 * Quality judged on what is published: an append's thresholds, duplicate check and report rates
 * are computed on the partition as the append publishes it, its published rows' measures plus its
 * own. The published rows' measures come from the reports of the partition's runs: the latest
 * run's report holds the partition's measures as that run published them (`partition`, or its
 * own `metrics` when it was an overwrite); an older report without them is added up run by run.
 */
import type { CalendarDay } from '../../core/day.js';
import { reportKey } from '../../lake/layout.js';
import type { PartitionManifest } from '../../lake/manifest.js';
import type { ReportMetrics, ValidationReport } from '../../lake/report-record.js';
import type { ObjectStore } from '../../lake/store.js';
import type { DayMetrics } from '../contracts.js';

const NONE: ReportMetrics = {
  rows: 0,
  nullCounts: {},
  negativeDurations: 0,
  negativeCosts: 0,
  quarantined: 0,
  excluded: 0,
  rejectReasons: {},
  duplicateIds: 0,
};

function addCounts(a: Readonly<Record<string, number>> | undefined, b: Readonly<Record<string, number>> | undefined): Record<string, number> {
  const out: Record<string, number> = { ...a };
  for (const [name, n] of Object.entries(b ?? {})) out[name] = (out[name] ?? 0) + n;
  return out;
}

/** Two sets of rows' measures added up (duplicates: `b`'s, the later count of the whole day). */
function addMeasures(a: ReportMetrics, b: ReportMetrics): ReportMetrics {
  const open = a.open !== undefined || b.open !== undefined;
  return {
    rows: a.rows + b.rows,
    nullCounts: addCounts(a.nullCounts, b.nullCounts),
    negativeDurations: a.negativeDurations + b.negativeDurations,
    negativeCosts: a.negativeCosts + b.negativeCosts,
    quarantined: a.quarantined + b.quarantined,
    excluded: a.excluded + b.excluded,
    rejectReasons: addCounts(a.rejectReasons, b.rejectReasons),
    duplicateIds: b.duplicateIds,
    ...(open ? { open: (a.open ?? 0) + (b.open ?? 0), openNullCounts: addCounts(a.openNullCounts, b.openNullCounts) } : {}),
  };
}

async function readReport(store: ObjectStore, day: CalendarDay, runId: string): Promise<ValidationReport | undefined> {
  const object = await store.getObject(reportKey(day, runId));
  return object ? (JSON.parse(Buffer.from(object.body).toString('utf8')) as ValidationReport) : undefined;
}

/**
 * The measures of `day`'s published partition (see the module comment). A run whose report is
 * gone counts with the rows and quarantined rows its manifest entry records.
 */
export async function publishedMeasures(store: ObjectStore, day: CalendarDay, manifest: Pick<PartitionManifest, 'runs'>): Promise<ReportMetrics> {
  const latest = manifest.runs.at(-1);
  if (!latest) return NONE;
  const report = await readReport(store, day, latest.runId);
  if (report?.partition) return report.partition;
  if (report?.metrics && latest.mode === 'overwrite') return report.metrics;
  let total = NONE;
  for (const run of manifest.runs) {
    const metrics = run.runId === latest.runId ? report?.metrics : (await readReport(store, day, run.runId))?.metrics;
    total = addMeasures(total, metrics ?? { ...NONE, rows: run.rows, quarantined: run.quarantined ?? 0 });
  }
  return total;
}

/** The partition's measures once `run`'s rows are added to the `published` ones. */
export function partitionMeasures(published: ReportMetrics, run: DayMetrics): DayMetrics {
  const sum = addMeasures(published, run);
  return { ...sum, alreadyPublished: run.alreadyPublished, changedSincePublish: run.changedSincePublish, publishedDuplicateIds: run.publishedDuplicateIds };
}
