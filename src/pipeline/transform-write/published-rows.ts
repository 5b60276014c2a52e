/**
 * What an append builds on: the key of every row the day's published partition holds, with the
 * source snapshot time it was read at (its lineage column). An append adds only rows whose key is
 * not there, and counts the ones changed in the source since they were published (the day is then
 * stale: overwrite it).
 */
import type { CalendarDay } from '../../core/day.js';
import type { FactTable } from '../../core/tables.js';
import { readParquetColumns } from '../../formats/parquet-read.js';
import { readManifest } from '../../lake/manifest.js';
import type { ObjectStore } from '../../lake/store.js';

export interface PublishedRows {
  /** Source snapshot time (ms since the epoch) each published key was read at. */
  readonly readAt: ReadonlyMap<bigint, number>;
  /** Keys found more than once in the published partition. */
  readonly duplicates: number;
}

/** Milliseconds since the epoch of a timestamp as the Parquet and Arrow readers give it. */
export function epochMs(value: unknown): number {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'bigint') return Number(value) / 1000; // microseconds
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return Date.parse(value);
  return Number.NaN;
}

/** The rows of `day`'s published partition of `table` (none when it was never published). */
export async function publishedRows(store: ObjectStore, day: CalendarDay, table: FactTable): Promise<PublishedRows> {
  const readAt = new Map<bigint, number>();
  let duplicates = 0;
  const published = await readManifest(store, day);
  const extractedAt = table.lineage.find((l) => l.value === 'extracted_at')?.name;
  if (!published || !extractedAt) return { readAt, duplicates };
  for (const file of published.manifest.files) {
    for (const row of await readParquetColumns(store, file.key, file.bytes, [table.key, extractedAt])) {
      const key = BigInt(row[table.key] as bigint | number);
      if (readAt.has(key)) duplicates += 1;
      readAt.set(key, epochMs(row[extractedAt]));
    }
  }
  return { readAt, duplicates };
}
