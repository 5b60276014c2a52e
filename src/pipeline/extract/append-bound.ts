/**
 * What an append may add to a published day, as a condition on the source rows: a row whose key is
 * above every published key, or that changed after the partition's snapshot. Nothing else can be
 * missing from the partition:
 * - a row the partition's runs could see is published (each run read the day, or what it may add);
 * - a row inserted after the partition's snapshot carries a change time after it (`updated_at` is
 *   the insert's time), whatever its key: a rental inserted with a smaller id (a late sync from a
 *   station, a key from another sequence) is read by the second clause;
 * - a row with a larger key is read by the first, whatever its change time (a late rental stamped
 *   with its own, past time).
 * What escapes both: a row stamped before the snapshot but committed after it, with a smaller key
 * (a transaction that ran across the extract). The append does not see it, but the one rule for
 * "current" does: the source then holds more rows than the partition's runs read, the day is stale,
 * and the nightly run or the lookback republishes it whole.
 *
 * The partition's snapshot is the one `dayCurrency` (`lake/currency.ts`) measures changes from: the
 * earliest of its runs' snapshot times (an append that re-read every change since and found no
 * published row changed moves it forward: `validate`).
 */
import { escapeIdentifier, escapeLiteral } from 'pg';
import type { CalendarDay } from '../../core/day.js';
import type { FactTable } from '../../core/tables.js';
import { footerColumnRange, readFooter } from '../../formats/parquet-footer.js';
import { readManifest } from '../../lake/manifest.js';
import type { ObjectStore } from '../../lake/store.js';
import { type Window, windowCondition } from '../../source/queries.js';

/** The rows an append reads: key above `aboveKey`, or changed after `changedAfter`. */
export interface AppendBound {
  /** The largest published key (decimal text: a bigint in JSON). */
  readonly aboveKey: string;
  /** The partition's snapshot (ISO 8601). */
  readonly changedAfter: string;
}

/**
 * The bound of an append to `day`, from its manifest and its files' footers (no data read);
 * undefined when the append must read the whole day: never published, published empty, or a file
 * without key statistics.
 */
export async function appendBound(store: ObjectStore, day: CalendarDay, table: FactTable): Promise<AppendBound | undefined> {
  const published = await readManifest(store, day);
  if (!published || published.manifest.rows === 0 || published.manifest.runs.length === 0) return undefined;
  let max: bigint | undefined;
  for (const file of published.manifest.files) {
    if (file.rows === 0) continue;
    const range = footerColumnRange(await readFooter(store, file.key, file.bytes), table.key);
    if (!range) return undefined;
    const high = BigInt(range.max as bigint);
    if (max === undefined || high > max) max = high;
  }
  if (max === undefined) return undefined;
  const changedAfter = published.manifest.runs.map((run) => run.sourceSnapshotAt).sort()[0];
  return { aboveKey: max.toString(), changedAfter };
}

/** The SQL condition of `bound` (with literals: COPY takes no parameters). */
function boundCondition(table: FactTable, bound: AppendBound): string {
  return `(${escapeIdentifier(table.key)} > ${BigInt(bound.aboveKey).toString()} OR ${escapeIdentifier(table.changedAt)} > ${escapeLiteral(bound.changedAfter)}::timestamptz)`;
}

/** The rows of `window` an append with `bound` reads (all of them without a bound). */
export function appendWindowCondition(table: FactTable, window: Window, bound: AppendBound | undefined): string {
  return bound ? `${windowCondition(table, window)} AND ${boundCondition(table, bound)}` : windowCondition(table, window);
}

/** The rows an append reads of `window`, counted in the snapshot: `n`, `snapshot_at`. */
export function appendCountSql(table: FactTable, window: Window, bound: AppendBound | undefined): string {
  return `SELECT count(*) AS n, now() AS snapshot_at FROM ${escapeIdentifier(table.name)} WHERE ${appendWindowCondition(table, window, bound)}`;
}
