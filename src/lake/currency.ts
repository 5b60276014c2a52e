/**
 * Whether a published day still holds what the source holds for it: the one rule for "current".
 * The schedule's lookback republishes the days it finds stale (`pipeline/plan/staleness.ts`), `etl
 * status` shows it, `npm start` skips the days it finds current, and `etl validate`'s re-check
 * passes `source_rows_now` and `source_unchanged_since_snapshot` by it. A change to what it
 * compares is made here, once.
 *
 * A published partition is current when both hold:
 * - The source has as many rows of the day now as the partition's runs read: their source counts
 *   added up. An overwrite run read the whole day; an append run after it reads only the rows it
 *   adds, so the sum is what the partition stands for. (Rows a run had to leave out, a required
 *   value NULL, are counted in its source count, so they do not make a day stale.)
 * - No row of the day was updated after the partition's snapshot, the earliest of its runs'
 *   snapshot times: an append adds new rows only, so a row an earlier run read keeps that run's
 *   version. (A day appended to after a row was inserted may thus be republished once, needlessly.)
 *
 * What it cannot see: a row deleted while another with an older `updated_at` was inserted (the
 * count and the latest change stay the same); and a change stamped with an `updated_at` before the
 * snapshot but committed after it (a transaction that ran across the extract).
 */
import type { SourceDayState } from '../source/day-state.js';
import type { PartitionManifest } from './manifest.js';

/** How a published partition compares with the source's day now, and the figures that decided it. */
export interface DayCurrency {
  readonly state: 'current' | 'stale';
  /** The figures that decided it, in words (the plan's output, `etl status`). */
  readonly detail: string;
  /** The source rows the partition's runs read, added up. */
  readonly read: number;
  /** The partition's snapshot: the earliest of its runs' snapshot times (undefined: no run recorded). */
  readonly snapshotAt: string | undefined;
  /** The source has as many rows of the day now as the runs read. */
  readonly countMatches: boolean;
  /** No row of the day changed after `snapshotAt` (false when there is no snapshot to measure from). */
  readonly unchanged: boolean;
}

const count = (n: number) => n.toLocaleString('en-US');

/**
 * Compares a published partition with the source's day now (see the module comment): `current`
 * when the counts match and no row changed since the partition's snapshot, else `stale`, with the
 * figures either way.
 */
export function dayCurrency(manifest: Pick<PartitionManifest, 'runs'>, source: SourceDayState): DayCurrency {
  const snapshotAt = manifest.runs.map((run) => run.sourceSnapshotAt).sort()[0];
  const read = manifest.runs.reduce((n, run) => n + run.sourceCount, 0);
  const countMatches = snapshotAt !== undefined && read === source.count;
  const unchanged = snapshotAt !== undefined && (source.lastChange === undefined || Date.parse(source.lastChange) <= Date.parse(snapshotAt));
  const facts = { read, snapshotAt, countMatches, unchanged };
  if (snapshotAt === undefined) return { state: 'stale', detail: 'the manifest records no run', ...facts };
  if (!countMatches) return { state: 'stale', detail: `source has ${count(source.count)} rows, partition ${count(read)}`, ...facts };
  if (!unchanged) return { state: 'stale', detail: `rows changed after ${snapshotAt} (the latest at ${source.lastChange})`, ...facts };
  return { state: 'current', detail: `${count(read)} rows, none changed after ${snapshotAt}`, ...facts };
}
