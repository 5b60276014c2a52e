/**
 * The users who spent the most over the published days, joined with the latest `users` snapshot:
 * the one part of the report that reads Parquet (two columns of each published file, the four
 * columns it shows of the snapshot).
 */
import { snapshotKey } from '../../lake/layout.js';
import type { PartitionManifest } from '../../lake/manifest.js';
import type { ObjectStore } from '../../lake/store.js';
import { USERS } from '../../core/tables.js';
import { readParquetColumns } from '../../formats/parquet-read.js';
import { mapBounded } from '../../core/bounded.js';

/** A user among the top spenders; name and city are absent when the snapshot does not have the user. */
export interface TopUser {
  readonly userId: string;
  readonly name?: string;
  readonly city?: string;
  readonly rentals: number;
  /** Sum of the user's non-NULL costs, in cents. */
  readonly spendCents: number;
}

/** Files parsed at once: the work is mostly decompression, on the CPU. */
const FILE_CONCURRENCY = 4;

/** The `limit` users with the highest spend over the files `manifests` name, highest first (ties: lower id first). */
export async function topUsersBySpend(store: ObjectStore, manifests: readonly PartitionManifest[], limit = 10): Promise<TopUser[]> {
  const spend = new Map<bigint, { rentals: number; cents: number }>();
  const files = manifests.flatMap((m) => m.files);
  await mapBounded(files, FILE_CONCURRENCY, async (file) => {
    for (const row of await readParquetColumns(store, file.key, file.bytes, ['user_id', 'rent_cost'])) {
      const id = row.user_id as bigint;
      const entry = spend.get(id) ?? { rentals: 0, cents: 0 };
      entry.rentals++;
      if (typeof row.rent_cost === 'number') entry.cents += Math.round(row.rent_cost * 100);
      spend.set(id, entry);
    }
  });
  const top = [...spend]
    .sort(([a, x], [b, y]) => y.cents - x.cents || (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, limit)
    .map(([id, s]) => ({ id, ...s }));
  const profiles = new Map<bigint, { name: string; city?: string }>();
  const snapshot = snapshotKey(USERS.name);
  const head = top.length > 0 ? await store.head(snapshot) : undefined;
  if (head) {
    const wanted = new Set(top.map((t) => t.id));
    for (const row of await readParquetColumns(store, snapshot, head.size, [USERS.key, 'first_name', 'last_name', 'city'])) {
      const id = row[USERS.key] as bigint;
      if (wanted.has(id)) profiles.set(id, { name: `${row.first_name} ${row.last_name}`, ...(typeof row.city === 'string' ? { city: row.city } : {}) });
    }
  }
  return top.map((t) => ({ userId: String(t.id), ...profiles.get(t.id), rentals: t.rentals, spendCents: t.cents }));
}
