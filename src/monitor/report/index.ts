/**
 * The HTML data-quality report of a lake (`etl report`, and the end of `npm start`): reads what
 * the lake holds about the days, the top spenders from their Parquet, and writes one page.
 *
 * It lives in `src/` rather than beside the CLI command: it needs nothing but an object store and
 * could as well run in a Lambda that puts the page next to the lake.
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { CalendarDay } from '../../core/day.js';
import type { ObjectStore } from '../../lake/store.js';
import { readLakeState } from '../lake-state.js';
import { chartJsSource, reportPage } from './page.js';
import { reportSections, reportSummary, type ReportData } from './sections.js';
import { topUsersBySpend } from './top-users.js';

/** Where the CLI writes the report unless told: the working directory. */
export const DEFAULT_REPORT_FILE = 'etl-report.html';

/** The report's data for `days` (every day the lake holds when undefined). */
export async function reportData(store: ObjectStore, days: readonly CalendarDay[] | undefined, now = new Date()): Promise<ReportData> {
  const records = await readLakeState(store, days, 'all');
  const manifests = records.flatMap((r) => (r.manifest ? [r.manifest] : []));
  const topUsers = await topUsersBySpend(store, manifests);
  return {
    lake: store.location.uri,
    ...(days ? { from: days[0].iso, to: days.at(-1)!.iso } : {}),
    generatedAt: now.toISOString(),
    summary: reportSummary(records),
    sections: reportSections(records, topUsers),
  };
}

/** Writes the report of `days` to `file`; returns its absolute path. */
export async function writeReportPage(store: ObjectStore, days: readonly CalendarDay[] | undefined, file: string): Promise<string> {
  const [data, chartJs] = await Promise.all([reportData(store, days), chartJsSource()]);
  const path = resolve(file);
  await writeFile(path, reportPage(data, chartJs));
  return path;
}
