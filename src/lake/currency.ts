/**
 * Whether a published day still holds what the source holds for it: the one rule for "current".
 * The schedule's lookback republishes the days it finds stale (`pipeline/plan/staleness.ts`), `etl
 * status` shows it, `npm start` skips the days it finds current, and `etl validate`'s re-check
 * passes `source_rows_now` and `source_unchanged_since_snapshot` by it. A change to what it
 * compares is made here, once.
 *
 * A published partition is current when all of these hold:
 * - The source has as many rows of the day now as the partition's runs read: their source counts
 *   added up. An overwrite run read the whole day; an append run after it reads only the rows it
 *   adds, so the sum is what the partition stands for. (Rows a run had to leave out, a required
 *   value NULL, are counted in its source count, so they do not make a day stale.)
 * - The change signal (docs/protocol.md) is unchanged: the day's digest now (a sum of a hash of
 *   each row's key and row version, `xmin`) equals the one the partition's latest run took in its
 *   extract's snapshot. Any INSERT, UPDATE (whatever `updated_at` says) or DELETE since, and any
 *   transaction that ran across the extract and committed after it, changes the digest.
 * - For a partition of more than one run (appends), no row of the day was stamped (`updated_at`)
 *   after the partition's snapshot, the earliest of its runs' snapshot times: an append adds new
 *   rows only, so a row an earlier run read keeps that run's version, and the latest run's signal
 *   cannot tell. (A day appended to after a row was inserted may thus be republished once,
 *   needlessly.) A partition of one run with a signal is judged by the signal alone.
 *
 * A manifest written before the change signal existed records none: it is judged by the count and
 * `updated_at` alone, as before, and its detail says so. What that older rule cannot see: a row
 * deleted while another with an older `updated_at` was inserted, an update that leaves `updated_at`
 * alone or moves it back, and a change committed after the snapshot with an earlier stamp. What the
 * signal cannot see: an unstamped change, between an overwrite and a later append, of a row the
 * append kept in its earlier version (`etl verify` compares content and finds it).
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
  /**
   * No row of the day changed after `snapshotAt`: the change signal is the same (when the manifest
   * records one) and no `updated_at` is later (false when there is no snapshot to measure from).
   */
  readonly unchanged: boolean;
  /** The latest run recorded a change signal, so it decided `unchanged` too (else `updated_at` alone). */
  readonly signal: boolean;
}

const count = (n: number) => n.toLocaleString('en-US');

/**
 * Compares a published partition with the source's day now (see the module comment): `current`
 * when the counts match, the change signal is the same and no row was stamped after the
 * partition's snapshot, else `stale`, with the figures either way.
 */
export function dayCurrency(manifest: Pick<PartitionManifest, 'runs'>, source: SourceDayState): DayCurrency {
  const snapshotAt = manifest.runs.map((run) => run.sourceSnapshotAt).sort()[0];
  const read = manifest.runs.reduce((n, run) => n + run.sourceCount, 0);
  const countMatches = snapshotAt !== undefined && read === source.count;
  const latest = manifest.runs.at(-1);
  const signal = latest?.signal;
  // With a signal, one run's partition is judged by it alone (a stamp in the future must not make
  // it stale forever); the stamps still matter for the rows an append kept from an earlier run.
  const stampsMatter = signal === undefined || manifest.runs.length > 1;
  const stamped = snapshotAt !== undefined && (!stampsMatter || source.lastChange === undefined || Date.parse(source.lastChange) <= Date.parse(snapshotAt));
  const signalSame = signal === undefined || (signal.rows === source.count && signal.digest === source.digest);
  const unchanged = stamped && signalSame;
  const facts = { read, snapshotAt, countMatches, unchanged, signal: signal !== undefined };
  if (snapshotAt === undefined) return { state: 'stale', detail: 'the manifest records no run', ...facts };
  if (!countMatches) return { state: 'stale', detail: `source has ${count(source.count)} rows, partition ${count(read)}`, ...facts };
  if (!signalSame) {
    return { state: 'stale', detail: `rows changed after ${latest!.sourceSnapshotAt} (inserted, updated or deleted: the change signal differs)`, ...facts };
  }
  if (!stamped) return { state: 'stale', detail: `rows changed after ${snapshotAt} (the latest at ${source.lastChange})`, ...facts };
  if (!signal)
    return { state: 'current', detail: `${count(read)} rows, none changed after ${snapshotAt} (by updated_at: no change signal recorded)`, ...facts };
  return { state: 'current', detail: `${count(read)} rows, none changed after ${snapshotAt}`, ...facts };
}
