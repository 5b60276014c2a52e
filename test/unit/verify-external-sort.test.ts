/**
 * `etl verify`'s external sort of (key, row hash) pairs: whatever the budget, the pairs come back
 * in (key, hash) order, duplicates kept; the pairs held in memory at once stay within the budget
 * however many are sorted; a set that fits one run never touches the disk; the run files are gone
 * after `close`.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RowHashSorter, type RowHashCursor, type SortBudget } from '../../src/pipeline/verify/external-sort.js';

/** `n` pairs from a fixed pseudo-random sequence, about one key in ten repeated with another hash. */
function pairs(n: number): [bigint, bigint][] {
  let state = 0x2545f4914f6cdd1dn;
  const random = () => {
    state = BigInt.asIntN(64, state * 6364136223846793005n + 1442695040888963407n);
    return state;
  };
  const out: [bigint, bigint][] = [];
  for (let i = 0; i < n; i++) {
    const key = i % 10 === 9 ? out[Number(BigInt.asUintN(32, random()) % BigInt(i))][0] : random() >> 20n;
    out.push([key, random()]);
  }
  return out;
}

function drain(cursor: RowHashCursor): [bigint, bigint][] {
  const out: [bigint, bigint][] = [];
  for (; !cursor.done; cursor.next()) out.push([cursor.key, cursor.hash]);
  return out;
}

const byKeyThenHash = (a: [bigint, bigint], b: [bigint, bigint]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0);

function sortAll(input: [bigint, bigint][], budget?: SortBudget): { output: [bigint, bigint][]; sorter: RowHashSorter } {
  const sorter = new RowHashSorter(budget);
  try {
    for (const [key, hash] of input) sorter.add(key, hash);
    return { output: drain(sorter.sorted()), sorter };
  } finally {
    sorter.close();
  }
}

describe('RowHashSorter', () => {
  let temporary: string;
  let savedTmpdir: string | undefined;

  beforeEach(async () => {
    savedTmpdir = process.env.TMPDIR;
    temporary = await mkdtemp(join(tmpdir(), 'external-sort-test-'));
    process.env.TMPDIR = temporary;
  });

  afterEach(async () => {
    if (savedTmpdir === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmpdir;
    await rm(temporary, { recursive: true, force: true });
  });

  it('returns the pairs in (key, hash) order through runs on disk and several merge passes, and removes its files', async () => {
    // Prepare: 1,000 pairs in runs of 7 (143 runs), merged 3 at a time (143 → 48 → 16 → 6 → 2)
    const input = pairs(1_000);

    // Act
    const { output, sorter } = sortAll(input, { runRows: 7, fanIn: 3, readRows: 2 });

    // Assess
    expect(output).toEqual([...input].sort(byKeyThenHash));
    expect(sorter.stats).toMatchObject({ rows: 1_000, mergePasses: 4 });
    expect(await readdir(temporary)).toEqual([]);
  });

  it('holds at most its budget of pairs at once, however many it sorts', () => {
    // Prepare
    const budget = { runRows: 500, fanIn: 4, readRows: 25 };

    // Act
    const peaks = [1_000, 10_000, 100_000].map((n) => {
      const { output, sorter } = sortAll(pairs(n), budget);
      expect(output).toHaveLength(n);
      return sorter.stats.peakRowsHeld;
    });

    // Assess: a run of 500 and the 25 its spill writes at a time is the most (4 runs merged 25 at a
    // time, plus a merge pass's writer, hold 125)
    expect(peaks).toEqual([525, 525, 525]);
  });

  it('sorts a set that fits one run in memory, without a file', () => {
    // Prepare
    const input = pairs(5_000);

    // Act
    const { output, sorter } = sortAll(input);

    // Assess
    expect(output).toEqual([...input].sort(byKeyThenHash));
    expect(sorter.stats).toMatchObject({ runs: 0, mergePasses: 0 });
  });

  it('returns nothing for nothing', () => {
    expect(sortAll([], { runRows: 1, fanIn: 2, readRows: 1 }).output).toEqual([]);
    expect(sortAll([]).output).toEqual([]);
  });
});
