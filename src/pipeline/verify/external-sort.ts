/**
 * The published side of `etl verify` in key order, in memory bounded whatever the day's size: an
 * external merge sort of (key, row hash) pairs. Pairs gather in a run of at most `runRows`; a full
 * run is sorted and written to a temporary file (16 bytes a pair), and the runs are merged through
 * a cursor that reads each `readRows` pairs at a time, at most `fanIn` runs at once (more runs are
 * first merged into fewer, a pass at a time). A day that fits in one run is sorted in memory and
 * never touches the disk: the single pass verify always made. Pairs held in memory at once: at
 * most a run and the chunk its spill writes (runRows + readRows), or while merging a chunk per run
 * merged and one written ((fanIn + 1) × readRows), whatever the number of pairs.
 *
 * Why a merge sort rather than hash buckets: the source side already streams the day in key order
 * (Postgres sorts it, in its `work_mem` and its own temporary files), so only the lake side needs
 * sorting, and a sort touches each of its pairs twice on disk (one write, one read) and the source
 * once. Buckets would split the source as well: B scans of the day's index range (at 100,000,000
 * rows, 50 scans of a 12 GB heap) or the source's pairs spilled too (as much disk again). The
 * measurements are in docs/performance.md, "The change signal and `etl verify`".
 *
 * The file I/O is synchronous: verify is a command with nothing else to do meanwhile, and it keeps
 * the merged cursor a plain `next()` inside the loop over the source's stream.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** How many pairs the sort may hold: a run, a read chunk per merged run, the runs merged at once. */
export interface SortBudget {
  /** Pairs sorted in memory before they spill to a run file; a day up to this size never spills. */
  readonly runRows: number;
  /** Run files merged at once (each holds one chunk in memory). */
  readonly fanIn: number;
  /** Pairs read from (or written to) a run file at a time. */
  readonly readRows: number;
}

/** 2,000,000 pairs a run (32 MB, plus 8 MB of sort order); 64 runs merged at once, 8,192 pairs (128 KB) each. */
export const DEFAULT_SORT_BUDGET: SortBudget = { runRows: 2_000_000, fanIn: 64, readRows: 8_192 };

/** What one sort did: pairs, run files written, merge passes before the last merge, most pairs held at once. */
export interface SortStats {
  rows: number;
  runs: number;
  mergePasses: number;
  peakRowsHeld: number;
}

/** A forward cursor over (key, hash) pairs in (key, hash) order: on the first pair once made, `done` past the last. */
export interface RowHashCursor {
  readonly done: boolean;
  readonly key: bigint;
  readonly hash: bigint;
  next(): void;
}

const PAIR_BYTES = 16;

/** Reads from `fd` until `bytes` is full or the file ends; returns the bytes read. */
function fill(fd: number, bytes: Uint8Array): number {
  let got = 0;
  while (got < bytes.length) {
    const n = readSync(fd, bytes, got, bytes.length - got, null);
    if (n === 0) break;
    got += n;
  }
  return got;
}

const before = (a: RowHashCursor, b: RowHashCursor): boolean => a.key < b.key || (a.key === b.key && a.hash < b.hash);

/** The pairs of one in-memory run, through its sort order. */
class RunInMemory implements RowHashCursor {
  done = false;
  key = 0n;
  hash = 0n;
  private at = -1;

  constructor(
    private readonly keys: BigInt64Array,
    private readonly hashes: BigInt64Array,
    private readonly order: Uint32Array,
  ) {
    this.next();
  }

  next(): void {
    if (++this.at >= this.order.length) {
      this.done = true;
      return;
    }
    const i = this.order[this.at];
    this.key = this.keys[i];
    this.hash = this.hashes[i];
  }
}

/** The k-way merge of sorted cursors (a binary heap on their current pairs). */
class MergedRuns implements RowHashCursor {
  done = false;
  key = 0n;
  hash = 0n;
  private readonly heap: RowHashCursor[];

  constructor(inputs: readonly RowHashCursor[]) {
    this.heap = inputs.filter((c) => !c.done);
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
    this.take();
  }

  next(): void {
    const top = this.heap[0];
    top.next();
    if (top.done) {
      const last = this.heap.pop()!;
      if (last !== top) this.heap[0] = last;
    }
    if (this.heap.length > 0) this.siftDown(0);
    this.take();
  }

  private take(): void {
    if (this.heap.length === 0) this.done = true;
    else [this.key, this.hash] = [this.heap[0].key, this.heap[0].hash];
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) return;
      const child = left + 1 < heap.length && before(heap[left + 1], heap[left]) ? left + 1 : left;
      if (!before(heap[child], heap[i])) return;
      [heap[i], heap[child]] = [heap[child], heap[i]];
      i = child;
    }
  }
}

/**
 * Sorts (key, hash) pairs in bounded memory (see the module comment): `add` every pair, then read
 * them back in (key, hash) order from `sorted()`; `close()` removes the temporary files, always.
 */
export class RowHashSorter {
  readonly stats: SortStats = { rows: 0, runs: 0, mergePasses: 0, peakRowsHeld: 0 };
  private keys = new BigInt64Array(0);
  private hashes = new BigInt64Array(0);
  private count = 0;
  private runs: string[] = [];
  private directory: string | undefined;
  private readonly open = new Set<number>();
  private held = 0;

  constructor(private readonly budget: SortBudget = DEFAULT_SORT_BUDGET) {
    const { runRows, fanIn, readRows } = budget;
    if (!(Number.isInteger(runRows) && runRows >= 1 && Number.isInteger(readRows) && readRows >= 1 && Number.isInteger(fanIn) && fanIn >= 2)) {
      throw new RangeError(`sort budget: runRows and readRows at least 1, fanIn at least 2; got ${JSON.stringify(budget)}`);
    }
  }

  add(key: bigint, hash: bigint): void {
    if (this.count === this.keys.length) {
      if (this.count === this.budget.runRows) this.spill();
      else this.grow();
    }
    this.keys[this.count] = key;
    this.hashes[this.count++] = hash;
    this.stats.rows++;
  }

  /** Every pair added, in (key, hash) order. Call once, after the last `add`. */
  sorted(): RowHashCursor {
    if (this.runs.length === 0) return new RunInMemory(this.keys, this.hashes, this.sortOrder());
    if (this.count > 0) this.spill();
    this.hold(-this.keys.length);
    this.keys = this.hashes = new BigInt64Array(0);
    while (this.runs.length > this.budget.fanIn) this.mergePass();
    return new MergedRuns(this.runs.map((path) => this.reader(path)));
  }

  /** Closes the run files still open and removes the temporary directory. */
  close(): void {
    for (const fd of this.open) closeSync(fd);
    this.open.clear();
    if (this.directory) rmSync(this.directory, { recursive: true, force: true });
    this.directory = undefined;
  }

  private hold(rows: number): void {
    this.held += rows;
    this.stats.peakRowsHeld = Math.max(this.stats.peakRowsHeld, this.held);
  }

  private grow(): void {
    const size = Math.min(Math.max(this.keys.length * 2, 1024), this.budget.runRows);
    const [keys, hashes] = [new BigInt64Array(size), new BigInt64Array(size)];
    keys.set(this.keys);
    hashes.set(this.hashes);
    this.hold(size - this.keys.length);
    [this.keys, this.hashes] = [keys, hashes];
  }

  /** The indexes of the pairs held, in (key, hash) order. */
  private sortOrder(): Uint32Array {
    const { keys, hashes } = this;
    const order = new Uint32Array(this.count);
    for (let i = 0; i < order.length; i++) order[i] = i;
    return order.sort((a, b) => (keys[a] < keys[b] ? -1 : keys[a] > keys[b] ? 1 : hashes[a] < hashes[b] ? -1 : hashes[a] > hashes[b] ? 1 : 0));
  }

  /** Sorts the pairs held and writes them to a new run file. */
  private spill(): void {
    this.directory ??= mkdtempSync(join(tmpdir(), 'etl-verify-'));
    const writer = this.writer(join(this.directory, `run-${this.stats.runs}`));
    const order = this.sortOrder();
    for (let i = 0; i < order.length; i++) writer.write(this.keys[order[i]], this.hashes[order[i]]);
    writer.close();
    this.runs.push(writer.path);
    this.stats.runs++;
    this.count = 0;
  }

  /** Merges the runs `fanIn` at a time into fewer, longer runs. */
  private mergePass(): void {
    const merged: string[] = [];
    for (let first = 0; first < this.runs.length; first += this.budget.fanIn) {
      const group = this.runs.slice(first, first + this.budget.fanIn);
      const writer = this.writer(join(this.directory!, `run-${this.stats.runs++}`));
      for (const pairs = new MergedRuns(group.map((path) => this.reader(path))); !pairs.done; pairs.next()) writer.write(pairs.key, pairs.hash);
      writer.close();
      for (const path of group) rmSync(path);
      merged.push(writer.path);
    }
    this.runs = merged;
    this.stats.mergePasses++;
  }

  private writer(path: string): { path: string; write(key: bigint, hash: bigint): void; close(): void } {
    const fd = openSync(path, 'w');
    this.open.add(fd);
    const chunk = new BigInt64Array(2 * this.budget.readRows);
    this.hold(this.budget.readRows);
    let n = 0;
    const flush = () => {
      writeSync(fd, new Uint8Array(chunk.buffer, 0, n * PAIR_BYTES));
      n = 0;
    };
    return {
      path,
      write: (key, hash) => {
        chunk[2 * n] = key;
        chunk[2 * n + 1] = hash;
        if (++n === this.budget.readRows) flush();
      },
      close: () => {
        if (n > 0) flush();
        closeSync(fd);
        this.open.delete(fd);
        this.hold(-this.budget.readRows);
      },
    };
  }

  /** A cursor over one run file, `readRows` pairs in memory at a time; it closes the file at its end. */
  private reader(path: string): RowHashCursor {
    const fd = openSync(path, 'r');
    this.open.add(fd);
    const chunk = new BigInt64Array(2 * this.budget.readRows);
    const bytes = new Uint8Array(chunk.buffer);
    this.hold(this.budget.readRows);
    const sorter = this;
    let [at, length] = [0, 0];
    const cursor = {
      done: false,
      key: 0n,
      hash: 0n,
      next(): void {
        if (at === length) {
          [at, length] = [0, fill(fd, bytes) / PAIR_BYTES];
          if (length === 0) {
            closeSync(fd);
            sorter.open.delete(fd);
            sorter.hold(-sorter.budget.readRows);
            cursor.done = true;
            return;
          }
        }
        cursor.key = chunk[2 * at];
        cursor.hash = chunk[2 * at + 1];
        at++;
      },
    };
    cursor.next();
    return cursor;
  }
}
