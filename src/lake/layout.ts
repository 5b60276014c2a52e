/**
 * Where everything lives in the lake, relative to its root:
 *
 *   rentals/year=YYYY/month=MM/day=DD/part-<runId>-<n>.parquet   data files
 *   rentals/year=YYYY/month=MM/day=DD/part-<runId>-h<HH>-<n>.parquet   ... of a day cut into
 *                                                                    hour ranges (HH: first hour)
 *   rentals/year=YYYY/month=MM/day=DD/_manifest.json             the published file list
 *   users/data.parquet, bikes/data.parquet                        latest full snapshots
 *   _quarantine/rentals/year=.../<runId>[-h<HH>].jsonl            rejected raw values + reason
 *   _reports/rentals/year=.../<runId>.json                        validation reports
 *   _staging/<runId>/<table>[-h<HH>].arrows[.zst]                  extract output (Arrow IPC stream; zstd on S3)
 */
import { randomBytes } from 'node:crypto';
import { partitionPath, type CalendarDay, type HourRange } from '../core/day.js';
import { RENTALS } from '../core/tables.js';

/** The partitioned table's folder; its snapshot tables have one each beside it. */
const TABLE = RENTALS.name;

export const MANIFEST_FILE = '_manifest.json';

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

export function stagingPrefix(runId: string): string {
  return `_staging/${runId}/`;
}

/** A staged table of a run; `encoding` is the file's kind (`.arrows`, or zstd-compressed `.arrows.zst`). */
export function stagingKey(runId: string, table: string, part?: string, encoding: 'arrows' | 'arrows.zst' = 'arrows'): string {
  return `${stagingPrefix(runId)}${table}${withPart(part)}.${encoding}`;
}

export function rentalsPartitionPrefix(day: CalendarDay): string {
  return `${TABLE}/${partitionPath(day)}/`;
}

export function dataFileKey(day: CalendarDay, runId: string, index: number, part?: string): string {
  return `${rentalsPartitionPrefix(day)}part-${runId}${withPart(part)}-${String(index).padStart(5, '0')}.parquet`;
}

export function manifestKey(day: CalendarDay): string {
  return `${rentalsPartitionPrefix(day)}${MANIFEST_FILE}`;
}

export function quarantineKey(day: CalendarDay, runId: string, part?: string): string {
  return `${quarantinePrefix(day)}${runId}${withPart(part)}.jsonl`;
}

export function quarantinePrefix(day: CalendarDay): string {
  return `_quarantine/${TABLE}/${partitionPath(day)}/`;
}

export function reportKey(day: CalendarDay, runId: string): string {
  return `_reports/${TABLE}/${partitionPath(day)}/${runId}.json`;
}

/** The latest full copy of a snapshot table. */
export function snapshotKey(table: string): string {
  return `${table}/data.parquet`;
}

/** Key patterns of the layout, relative to the lake root, for access grants (`*` matches any run or day). */
export const KEY_PATTERNS = {
  partitions: `${TABLE}/*`,
  dataFiles: `${TABLE}/year=*/month=*/day=*/part-*.parquet`,
  manifests: `${TABLE}/year=*/month=*/day=*/${MANIFEST_FILE}`,
  snapshots: RENTALS.snapshots.map((snapshot) => snapshotKey(snapshot.name)),
  quarantine: `_quarantine/${TABLE}/*`,
  reports: `_reports/${TABLE}/*`,
  staging: '_staging/*',
  /** One lease object per partition, named by `lease.ts`: `_locks/rentals/year=YYYY/month=MM/day=DD.json`. */
  leases: '_locks/rentals/*',
} as const;
