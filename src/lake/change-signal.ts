/**
 * The change signal (docs/protocol.md, "The change signal"): a day's row count and the sum of a
 * 64-bit hash of each row's key and row version, which Postgres computes in the extract's snapshot
 * and again whenever someone asks whether a published day is current (`currency.ts`). The sum is
 * a numeric, kept as a decimal string; this module adds the ranges of a run up.
 */
import type { ChangeSignal } from './manifest.js';

/** What one extracted range knows of its rows: their count and digest (absent from an older extract). */
export interface RangeSignal {
  readonly sourceCount: number;
  readonly sourceDigest?: string;
  /** The rows the digest covers when they are not `sourceCount` (an append counts only what it read). */
  readonly digestRows?: number;
}

/**
 * The signal of a run's ranges together: the counts and digests added up (a sum is indifferent to
 * how the day was cut). `{}` when a range has no digest: the run then records no signal.
 */
export function combinedSignal(ranges: readonly RangeSignal[]): { signal?: ChangeSignal } {
  if (ranges.length === 0 || ranges.some((r) => r.sourceDigest === undefined)) return {};
  const digest = ranges.reduce((sum, r) => sum + BigInt(r.sourceDigest!), 0n);
  return { signal: { rows: ranges.reduce((n, r) => n + (r.digestRows ?? r.sourceCount), 0), digest: digest.toString() } };
}
