/**
 * Where everything lives in the lake, relative to its root:
 *
 *   rentals/year=YYYY/month=MM/day=DD/part-<runId>-<n>.parquet   data files
 *   rentals/year=YYYY/month=MM/day=DD/part-<runId>-h<HH>-<n>.parquet   ... of a day cut into
 *                                                                    hour ranges (HH: first hour)
 *   _manifests/rentals/year=YYYY/month=MM/day=DD.json             the published file list of a day
 *   users/data.parquet, bikes/data.parquet                        latest full snapshots
 *   _manifests/users.json, _manifests/bikes.json                  ... which run published them, when read
 *   _quarantine/rentals/year=.../<runId>[-h<HH>].jsonl            rejected raw values + reason
 *   _reports/rentals/year=.../<runId>.json                        validation reports
 *   _staging/<runId>/<table>[-h<HH>].arrows[.zst]                  extract output (Arrow IPC stream; zstd on S3)
 *   _staging/<runId>/rentals/year=.../part-....parquet              data files written, not yet published
 *   _locks/rentals/year=YYYY/month=MM/day=DD.json                  a day's lease (`lease.ts`)
 *   _locks/users.json, _locks/bikes.json                           held while a snapshot copy is published
 *
 * Only published data files are under `rentals/`, `users/` and `bikes/` (the folders readers
 * glob); a run writes everything else under `_staging/<runId>/`, and publishing moves its files
 * into place (`day-publication.ts`, `snapshot-publication.ts`; docs/protocol.md).
 */
import { randomBytes } from 'node:crypto';
import { partitionPath, type CalendarDay, type HourRange } from '../core/day.js';
import { RENTALS } from '../core/tables.js';

/** The partitioned table's folder; its snapshot tables have one each beside it. */
const TABLE = RENTALS.name;

/**
 * Where the manifests of the partitioned table live: beside the Hive tree, not in it, so that a
 * partition folder holds only Parquet files (readers that take a folder fail on anything else).
 */
export const MANIFESTS_PREFIX = `_manifests/${TABLE}/`;

/** A run id: UTC start time to the millisecond then random hex, so ids sort by start and never collide. */
export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:.]/g, '');
  return `${stamp}-${randomBytes(4).toString('hex')}`;
}

const RUN_ID = /^\d{8}T\d{9}Z-[0-9a-f]{8}$/;

/** True for ids made by `newRunId` (they go into object keys, so nothing else is accepted). */
export function isRunId(value: unknown): value is string {
  return typeof value === 'string' && RUN_ID.test(value);
}

/**
 * How a range of a day cut into hour ranges is named in its object keys (`h06` for the range
 * starting at hour 6); undefined for a range that is the whole day, whose keys carry no part.
 */
export function rangePart(range: HourRange, dayHours: number): string | undefined {
  if (range.from === 0 && range.to >= dayHours) return undefined;
  return `h${String(range.from).padStart(2, '0')}`;
}

function withPart(part: string | undefined): string {
  return part === undefined ? '' : `-${part}`;
}

/** Where every run's staging lives. */
export const STAGING_ROOT = '_staging/';

export function stagingPrefix(runId: string): string {
  return `${STAGING_ROOT}${runId}/`;
}

/** A staged table of a run; `encoding` is the file's kind (`.arrows`, or zstd-compressed `.arrows.zst`). */
export function stagingKey(runId: string, table: string, part?: string, encoding: 'arrows' | 'arrows.zst' = 'arrows'): string {
  return `${stagingPrefix(runId)}${table}${withPart(part)}.${encoding}`;
}

/** Where a run writes a lake file (`lakeKey`) until it is published. */
export function stagedKey(runId: string, lakeKey: string): string {
  return `${stagingPrefix(runId)}${lakeKey}`;
}

/** The lake key a staged file (`stagedKey`) is published under; throws for a key not of the run's staging. */
export function publishedKeyOf(runId: string, staged: string): string {
  const prefix = stagingPrefix(runId);
  if (!staged.startsWith(prefix)) throw new Error(`${staged} is not under ${prefix}`);
  return staged.slice(prefix.length);
}

const STAGED_RUN = /^_staging\/(\d{8}T\d{9}Z-[0-9a-f]{8})\//;

/** The run a staging key belongs to, or undefined for any other key. */
export function runOfStagedKey(key: string): string | undefined {
  return STAGED_RUN.exec(key)?.[1];
}

export function rentalsPartitionPrefix(day: CalendarDay): string {
  return `${TABLE}/${partitionPath(day)}/`;
}

export function dataFileKey(day: CalendarDay, runId: string, index: number, part?: string): string {
  return `${rentalsPartitionPrefix(day)}part-${runId}${withPart(part)}-${String(index).padStart(5, '0')}.parquet`;
}

export function manifestKey(day: CalendarDay): string {
  return `${MANIFESTS_PREFIX}${partitionPath(day)}.json`;
}

const MANIFEST_KEY = /^_manifests\/[^/]+\/year=(\d{4})\/month=(\d{2})\/day=(\d{2})\.json$/;

/** The ISO date a manifest key (`manifestKey`) belongs to, or undefined for any other key. */
export function dateOfManifestKey(key: string): string | undefined {
  const m = MANIFEST_KEY.exec(key);
  return m ? `${m[1]}-${m[2]}-${m[3]}` : undefined;
}

export function quarantineKey(day: CalendarDay, runId: string, part?: string): string {
  return `${quarantinePrefix(day)}${runId}${withPart(part)}.jsonl`;
}

export function quarantinePrefix(day: CalendarDay): string {
  return `_quarantine/${TABLE}/${partitionPath(day)}/`;
}

/** Where the validation reports of the partitioned table live, a folder per day. */
export const REPORTS_PREFIX = `_reports/${TABLE}/`;

export function reportKey(day: CalendarDay, runId: string): string {
  return `${REPORTS_PREFIX}${partitionPath(day)}/${runId}.json`;
}

const REPORT_KEY = /^_reports\/[^/]+\/year=(\d{4})\/month=(\d{2})\/day=(\d{2})\/(\d{8}T\d{9}Z-[0-9a-f]{8})\.json$/;

/** The ISO date and run id of a report key (`reportKey`), or undefined for any other key. */
export function reportOfKey(key: string): { date: string; runId: string } | undefined {
  const m = REPORT_KEY.exec(key);
  return m ? { date: `${m[1]}-${m[2]}-${m[3]}`, runId: m[4] } : undefined;
}

/** The latest full copy of a snapshot table. */
export function snapshotKey(table: string): string {
  return `${table}/data.parquet`;
}

/** The manifest of a snapshot table's published copy (which run, when its source was read, rows). */
export function snapshotManifestKey(table: string): string {
  return `_manifests/${table}.json`;
}

/** The lock guarding the publication of a snapshot table's copy (`lease.ts`'s `lockTarget`). */
export function snapshotLockKey(table: string): string {
  return `_locks/${table}.json`;
}

/** Key patterns of the layout, relative to the lake root, for access grants (`*` matches any run or day). */
export const KEY_PATTERNS = {
  partitions: `${TABLE}/*`,
  dataFiles: `${TABLE}/year=*/month=*/day=*/part-*.parquet`,
  manifests: `${MANIFESTS_PREFIX}*`,
  snapshotManifests: RENTALS.snapshots.map((snapshot) => snapshotManifestKey(snapshot.name)),
  snapshots: RENTALS.snapshots.map((snapshot) => snapshotKey(snapshot.name)),
  quarantine: `_quarantine/${TABLE}/*`,
  reports: `${REPORTS_PREFIX}*`,
  staging: '_staging/*',
  /** One lease object per partition, named by `lease.ts`: `_locks/rentals/year=YYYY/month=MM/day=DD.json`. */
  leases: '_locks/rentals/*',
  /** One lock per snapshot table, held while its copy is published: `_locks/<table>.json`. */
  snapshotLeases: RENTALS.snapshots.map((snapshot) => snapshotLockKey(snapshot.name)),
} as const;
