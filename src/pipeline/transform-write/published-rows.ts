/**
 * What an append builds on: the keys the day's published partition holds, with the source snapshot
 * time each was read at (its lineage column). An append adds only rows whose key is not there, and
 * counts the ones changed in the source since they were published (the day is then stale).
 *
 * At scale (a day of 100 million rentals) the keys cannot live in a JS `Map` (V8 caps one at 2^24
 * entries) and most need not be read at all: each published file's footer holds the minimum and
 * maximum key, so only the files whose key range a new row falls in are read, and then as sorted
 * typed arrays (`SortedKeys`) searched by bisection. An intra-day append's new rentals carry keys
 * above every published one: it reads footers only.
 */
import type { CalendarDay } from '../../core/day.js';
import type { FactTable } from '../../core/tables.js';
import { footerColumnRange, readFooter } from '../../formats/parquet-footer.js';
import { openRowGroups } from '../../formats/parquet-row-groups.js';
import { readManifest, type ManifestFile } from '../../lake/manifest.js';
import type { ObjectStore } from '../../lake/store.js';

/** Milliseconds since the epoch of a timestamp as the Parquet and Arrow readers give it. */
export function epochMs(value: unknown): number {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'bigint') return Number(value) / 1000; // microseconds
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return Date.parse(value);
  return Number.NaN;
}

/**
 * Keys in ascending order, each with the time it was read at: one sorted `BigInt64Array` per read
 * time (a file holds the rows of one run, or of a few after a compaction), so no per-key object and
 * no size limit but memory (16 bytes a key).
 */
export class SortedKeys {
  private readonly groups: { readonly readAt: number; readonly keys: BigInt64Array }[] = [];
  /** Keys found more than once. */
  readonly duplicates: number;

  /** `keys[i]` was read at `readAt[i]` (ms since the epoch); the arrays are not kept. */
  constructor(keys: BigInt64Array, readAt: Float64Array) {
    const counts = new Map<number, number>();
    for (const t of readAt) counts.set(t, (counts.get(t) ?? 0) + 1);
    if (counts.size === 1) this.groups.push({ readAt: readAt[0], keys: keys.slice().sort() });
    else {
      const filled = new Map<number, { readAt: number; keys: BigInt64Array; n: number }>();
      for (const [t, n] of counts) filled.set(t, { readAt: t, keys: new BigInt64Array(n), n: 0 });
      for (let i = 0; i < keys.length; i++) {
        const group = filled.get(readAt[i])!;
        group.keys[group.n++] = keys[i];
      }
      for (const group of filled.values()) this.groups.push({ readAt: group.readAt, keys: group.keys.sort() });
    }
    let all = this.groups[0]?.keys ?? new BigInt64Array(0);
    if (this.groups.length > 1) {
      all = new BigInt64Array(keys.length);
      let offset = 0;
      for (const group of this.groups) {
        all.set(group.keys, offset);
        offset += group.keys.length;
      }
      all.sort();
    }
    let duplicates = 0;
    for (let i = 1; i < all.length; i++) if (all[i] === all[i - 1]) duplicates += 1;
    this.duplicates = duplicates;
  }

  /** Every key, group by group (ascending within a group). */
  *keys(): Generator<bigint> {
    for (const group of this.groups) yield* group.keys;
  }

  get size(): number {
    return this.groups.reduce((n, g) => n + g.keys.length, 0);
  }

  /** When `key` was read (ms since the epoch), or undefined when it is not there. */
  readAtOf(key: bigint): number | undefined {
    for (const { keys, readAt } of this.groups) {
      let lo = 0;
      let hi = keys.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (keys[mid] < key) lo = mid + 1;
        else hi = mid;
      }
      if (lo < keys.length && keys[lo] === key) return readAt;
    }
    return undefined;
  }
}

/** A published file with the key range its footer states. */
interface PublishedFile {
  readonly file: ManifestFile;
  /** Undefined for a file without rows (or without statistics: then it is always read). */
  readonly min: bigint | undefined;
  readonly max: bigint | undefined;
  /** The read time of every row when the footer says it is one (min = max), else undefined. */
  readonly readAt: number | undefined;
  readonly rows: number;
}

/** A key as a bigint, whatever integer form the reader gave it in. */
const asKey = (value: unknown): bigint => BigInt(value as bigint | number);

/**
 * The published partition an append builds on: the files' key ranges from their footers, and the
 * keys of a file read (once) only when a row's key falls in its range.
 */
export class PublishedRows {
  private readonly loaded = new Map<string, SortedKeys>();
  /** Keys found more than once within a file read. */
  private withinFiles = 0;

  private constructor(
    private readonly store: ObjectStore,
    private readonly table: FactTable,
    private readonly extractedAt: string,
    readonly files: readonly PublishedFile[],
  ) {}

  /** The published rows of `day` (an empty set when it was never published). */
  static async of(store: ObjectStore, day: CalendarDay, table: FactTable): Promise<PublishedRows> {
    const published = await readManifest(store, day);
    const extractedAt = table.lineage.find((l) => l.value === 'extracted_at')?.name ?? '';
    const files = await Promise.all(
      (published?.manifest.files ?? []).map(async (file): Promise<PublishedFile> => {
        const footer = await readFooter(store, file.key, file.bytes);
        const keys = footerColumnRange(footer, table.key);
        const times = footerColumnRange(footer, extractedAt);
        const rows = Number(footer.num_rows);
        return {
          file,
          rows,
          min: rows > 0 && keys ? asKey(keys.min) : undefined,
          max: rows > 0 && keys ? asKey(keys.max) : undefined,
          readAt: times && epochMs(times.min) === epochMs(times.max) ? epochMs(times.min) : undefined,
        };
      }),
    );
    return new PublishedRows(
      store,
      table,
      extractedAt,
      files.filter((f) => f.rows > 0),
    );
  }

  /** Whether nothing is published. */
  get empty(): boolean {
    return this.files.length === 0;
  }

  /** The largest published key (undefined: none, or a file without statistics). */
  get maxKey(): bigint | undefined {
    let max: bigint | undefined;
    for (const f of this.files) {
      if (f.max === undefined) return undefined;
      if (max === undefined || f.max > max) max = f.max;
    }
    return max;
  }

  /** The files whose key range holds a key of [`lo`, `hi`] (a file without statistics always). */
  overlapping(lo: bigint, hi: bigint): PublishedFile[] {
    return this.files.filter((f) => f.min === undefined || f.max === undefined || (f.min <= hi && f.max >= lo));
  }

  /**
   * Rows whose key another row of the partition holds too. Files whose key ranges overlap no other
   * file's are not read (an append's files lie above the ones before): only overlapping files are,
   * and their keys counted within each and across them.
   */
  async duplicateKeys(): Promise<number> {
    const overlaps = (a: PublishedFile, b: PublishedFile) =>
      a.min === undefined || a.max === undefined || b.min === undefined || b.max === undefined || (a.min <= b.max && b.min <= a.max);
    const suspects = this.files.filter((f, i) => this.files.some((g, j) => i !== j && overlaps(f, g)));
    let across = 0;
    const read: { file: PublishedFile; keys: SortedKeys }[] = [];
    for (const file of suspects) {
      const keys = await this.keysOf(file);
      const earlier = read.filter((r) => overlaps(r.file, file));
      if (earlier.length > 0) for (const key of keys.keys()) if (earlier.some((r) => r.keys.readAtOf(key) !== undefined)) across += 1;
      read.push({ file, keys });
    }
    return this.withinFiles + across;
  }

  /** The keys of `file`, read on first use: key and read-time columns, row group by row group. */
  async keysOf(file: PublishedFile): Promise<SortedKeys> {
    const cached = this.loaded.get(file.file.key);
    if (cached) return cached;
    const keys = new BigInt64Array(file.rows);
    const readAt = new Float64Array(file.rows);
    const reader = await openRowGroups(this.store, file.file.key, file.file.bytes);
    const columns = file.readAt === undefined ? [this.table.key, this.extractedAt] : [this.table.key];
    let n = 0;
    for await (const batch of reader.batches(columns)) {
      const ids = batch.getChild(this.table.key)!;
      const times = file.readAt === undefined ? batch.getChild(this.extractedAt) : null;
      for (let row = 0; row < batch.numRows; row++, n++) {
        keys[n] = asKey(ids.get(row));
        readAt[n] = times ? epochMs(times.get(row)) : file.readAt!;
      }
    }
    const sorted = new SortedKeys(keys.subarray(0, n), readAt.subarray(0, n));
    this.withinFiles += sorted.duplicates;
    this.loaded.set(file.file.key, sorted);
    return sorted;
  }
}
