/**
 * What the lake says about its days, read from the small objects beside the data: each day's
 * manifest, its validation reports and its lock. Never a Parquet file: `etl status` and the
 * report's charts need nothing more, so ten years of days answer in seconds on S3.
 *
 * Each kind of object is listed once per year (or once for the whole lake, or once for a single
 * month), then only the objects that exist are read, a bounded number at a time.
 */
import { mapBounded } from '../core/bounded.js';
import { parseDay, partitionPath, type CalendarDay } from '../core/day.js';
import { dateOfManifestKey, KEY_PATTERNS, MANIFESTS_PREFIX, REPORTS_PREFIX, reportKey, reportOfKey } from '../lake/layout.js';
import { lockKey } from '../lake/lease.js';
import { readManifest, type PartitionManifest } from '../lake/manifest.js';
import type { ObjectStore } from '../lake/store.js';
import type { ValidationReport } from '../lake/report-record.js';

/** Where the day locks live (`lockKey` names each one). */
const LOCKS_PREFIX = KEY_PATTERNS.leases.replace(/\*$/, '');

/** Objects read at once: below the S3 client's 50 sockets, and plenty for a local disk. */
export const READ_CONCURRENCY = 32;

/** A day's lock as its JSON says, read tolerantly: fields a newer writer adds are kept, missing ones left out. */
export interface LockState {
  readonly runId: string;
  readonly owner: string;
  readonly expiresAt: string;
  readonly host?: string;
  readonly pid?: number;
}

/** Everything the lake holds about one day, besides its data. */
export interface DayRecords {
  readonly date: string;
  readonly manifest?: PartitionManifest;
  /** The reports read, oldest run first (run ids sort by start time). */
  readonly reports: readonly ValidationReport[];
  readonly lock?: LockState;
}

/**
 * Which reports to read: `all` (the HTML report counts every run), or `latest` (the latest report
 * of any kind, and the latest of the publishing kind among the rest when it is a re-check).
 */
export type ReportSelection = 'all' | 'latest';

/**
 * The prefixes under `root` that cover `days`: the root itself when no days are given, the month's
 * folder when they lie in one month, else one folder per year.
 */
export function listingPrefixes(root: string, days: readonly CalendarDay[] | undefined): string[] {
  if (days === undefined) return [root];
  const folders = (depth: number) => [...new Set(days.map((day) => `${root}${partitionPath(day).split('/').slice(0, depth).join('/')}/`))];
  const months = folders(2);
  return months.length === 1 ? months : folders(1);
}

const PARTITION_IN_KEY = /year=(\d{4})\/month=(\d{2})\/day=(\d{2})\.json$/;

function dateOfLockKey(key: string): string | undefined {
  const m = PARTITION_IN_KEY.exec(key);
  return m && key.startsWith(LOCKS_PREFIX) ? `${m[1]}-${m[2]}-${m[3]}` : undefined;
}

/** A lock object's fields, whatever else it carries; undefined when it is not a lock at all. */
export function parseLock(body: Uint8Array): LockState | undefined {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { runId, owner, expiresAt, host, pid } = value as Record<string, unknown>;
  if (typeof runId !== 'string' || typeof expiresAt !== 'string') return undefined;
  return {
    runId,
    owner: typeof owner === 'string' ? owner : '',
    expiresAt,
    ...(typeof host === 'string' ? { host } : {}),
    ...(typeof pid === 'number' ? { pid } : {}),
  };
}

async function listKeys(store: ObjectStore, root: string, days: readonly CalendarDay[] | undefined): Promise<string[]> {
  const pages = await mapBounded(listingPrefixes(root, days), READ_CONCURRENCY, (prefix) => store.list(prefix));
  return pages.flat().map((o) => o.key);
}

async function readReport(store: ObjectStore, key: string): Promise<ValidationReport | undefined> {
  const object = await store.getObject(key);
  if (!object) return undefined;
  try {
    return JSON.parse(Buffer.from(object.body).toString('utf8')) as ValidationReport;
  } catch {
    return undefined;
  }
}

/**
 * What the publishing run's report said, as its manifest records it (a passed publish: counts, no
 * checks), so that a day whose newest report is that publish costs one read, not two; undefined
 * for a manifest that does not record the run's quarantined rows.
 */
export function publishedRunReport(manifest: PartitionManifest): ValidationReport | undefined {
  const run = manifest.runs.find((r) => r.runId === manifest.runId);
  if (!run || run.quarantined === undefined) return undefined;
  const files = manifest.files.filter((f) => f.runId === run.runId);
  return {
    table: manifest.table,
    date: manifest.date,
    runId: run.runId,
    kind: 'publish',
    verdict: 'passed',
    checkedAt: run.publishedAt,
    sourceCount: run.sourceCount,
    rows: run.rows,
    files: files.length,
    bytes: files.reduce((n, f) => n + f.bytes, 0),
    quarantined: run.quarantined,
    checks: [],
  };
}

/**
 * Reads what the lake holds about `days` (every day it has a manifest, a report or a lock of when
 * `days` is undefined), sorted by date.
 */
export async function readLakeState(store: ObjectStore, days: readonly CalendarDay[] | undefined, reports: ReportSelection): Promise<DayRecords[]> {
  const wanted = days === undefined ? undefined : new Set(days.map((d) => d.iso));
  const inRange = (date: string | undefined): date is string => date !== undefined && (wanted === undefined || wanted.has(date));
  const [manifestKeys, reportKeys, lockKeys] = await Promise.all([
    listKeys(store, MANIFESTS_PREFIX, days),
    listKeys(store, REPORTS_PREFIX, days),
    listKeys(store, LOCKS_PREFIX, days),
  ]);

  const published = new Set(manifestKeys.map(dateOfManifestKey).filter(inRange));
  const reportRuns = new Map<string, string[]>();
  for (const key of reportKeys) {
    const found = reportOfKey(key);
    if (!found || !inRange(found.date)) continue;
    reportRuns.set(found.date, [...(reportRuns.get(found.date) ?? []), found.runId]);
  }
  for (const runs of reportRuns.values()) runs.sort();
  const locked = new Set(lockKeys.map(dateOfLockKey).filter(inRange));
  const dates = [...new Set([...(days?.map((d) => d.iso) ?? []), ...published, ...reportRuns.keys(), ...locked])].sort();

  return mapBounded(dates, Math.max(1, Math.floor(READ_CONCURRENCY / 2)), async (date): Promise<DayRecords> => {
    const day = parseDay(date);
    const runs = reportRuns.get(date) ?? [];
    const [manifest, lock] = await Promise.all([
      published.has(date) ? readManifest(store, day).then((m) => m?.manifest) : undefined,
      locked.has(date) ? store.getObject(lockKey(day)).then((o) => (o ? parseLock(o.body) : undefined)) : undefined,
    ]);
    const read: ValidationReport[] = [];
    const keyOf = (runId: string) => reportKey(day, runId);
    if (reports === 'all') {
      for (const report of await Promise.all(runs.map((runId) => readReport(store, keyOf(runId))))) if (report) read.push(report);
    } else if (manifest && runs.at(-1) === manifest.runId && publishedRunReport(manifest)) {
      // The newest report is the publish the manifest records: what status shows of it is in the manifest.
      read.push(publishedRunReport(manifest)!);
    } else {
      // Newest first, until one of the publishing kind is found (a re-check has no quality measures).
      for (const runId of [...runs].reverse()) {
        const report = await readReport(store, keyOf(runId));
        if (!report) continue;
        read.unshift(report);
        if (report.kind === 'publish') break;
      }
    }
    return { date, manifest, reports: read, lock };
  });
}
