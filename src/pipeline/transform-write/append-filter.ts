/**
 * The append filter: an append writes only the staged rows whose key the day's published partition
 * does not hold yet (`published-rows.ts`). The rows it leaves out are no rejection: they carry no
 * reason and go to no quarantine; they are counted, with those changed in the source since they
 * were published (the day is then stale: overwrite it).
 */
import type { RecordBatch } from 'apache-arrow';
import type { FactTable } from '../../core/tables.js';
import { withoutRows } from '../../formats/arrow-rows.js';
import { epochMs, type PublishedRows, type SortedKeys } from './published-rows.js';

/** A staged batch less its already published rows. */
export interface NewRows {
  /** The rows left, as slices of the staged batch. */
  readonly batches: RecordBatch[];
  /** Rows left out: their key is published. */
  readonly alreadyPublished: number;
  /** Of those, rows updated in the source after the published copy was read. */
  readonly changedSincePublish: number;
}

/**
 * The rows of staged batch `raw` of `table` that `published` does not hold, and a count of the
 * others. Only the published files whose key range the batch's keys reach are read.
 */
export async function newRows(raw: RecordBatch, table: FactTable, published: PublishedRows): Promise<NewRows> {
  if (published.empty || raw.numRows === 0) return { batches: [raw], alreadyPublished: 0, changedSincePublish: 0 };
  const keys = raw.getChild(table.key)!;
  let lo = BigInt(keys.get(0) as bigint);
  let hi = lo;
  for (let row = 1; row < raw.numRows; row++) {
    const key = BigInt(keys.get(row) as bigint);
    if (key < lo) lo = key;
    if (key > hi) hi = key;
  }
  const candidates: { min: bigint | undefined; max: bigint | undefined; keys: SortedKeys }[] = [];
  for (const file of published.overlapping(lo, hi)) candidates.push({ min: file.min, max: file.max, keys: await published.keysOf(file) });
  if (candidates.length === 0) return { batches: [raw], alreadyPublished: 0, changedSincePublish: 0 };
  const changedAt = table.changedAt ? raw.getChild(table.changedAt) : null;
  const old: number[] = [];
  let changed = 0;
  for (let row = 0; row < raw.numRows; row++) {
    const key = BigInt(keys.get(row) as bigint);
    let readAt: number | undefined;
    for (const c of candidates) {
      if (c.min !== undefined && c.max !== undefined && (key < c.min || key > c.max)) continue;
      readAt = c.keys.readAtOf(key);
      if (readAt !== undefined) break;
    }
    if (readAt === undefined) continue;
    old.push(row);
    if (changedAt && epochMs(changedAt.get(row)) > readAt) changed += 1;
  }
  return { batches: old.length === 0 ? [raw] : withoutRows(raw, old), alreadyPublished: old.length, changedSincePublish: changed };
}
