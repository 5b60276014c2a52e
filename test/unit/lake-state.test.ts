/**
 * What `etl status` reads: a day whose newest report is the publish its manifest records costs
 * one read (the manifest says what that report said); a day with a newer report (a failed run, a
 * re-check) has it read. The status is the same either way.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLakeUri } from '../../src/core/config.js';
import { daysBetween, parseDay } from '../../src/core/day.js';
import { FsStore } from '../../src/lake/fs-store.js';
import { newRunId, reportKey } from '../../src/lake/layout.js';
import type { ObjectStore } from '../../src/lake/store.js';
import { readLakeState } from '../../src/monitor/lake-state.js';
import { dayStatus } from '../../src/monitor/status.js';
import { syntheticRows, writeSyntheticDays } from '../support/synthetic-lake.js';

const DAYS = daysBetween(parseDay('2025-01-01'), parseDay('2025-01-10'));

describe('the lake state status reads', () => {
  let root: string;
  let store: FsStore;

  /** The store, counting the objects read under `prefix`. */
  const counting = (prefix: string) => {
    let reads = 0;
    const counted: ObjectStore = Object.assign(Object.create(store), {
      getObject: (key: string) => {
        if (key.startsWith(prefix)) reads++;
        return store.getObject(key);
      },
    });
    return { counted, reads: () => reads };
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'lake-state-'));
    store = new FsStore(parseLakeUri(root));
    await writeSyntheticDays(store, DAYS);
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('reads no report of a day whose newest report is its manifest’s publish, and shows the same status', async () => {
    // Prepare
    const { counted, reads } = counting('_reports/');

    // Act
    const records = await readLakeState(counted, DAYS, 'latest');
    const all = await readLakeState(store, DAYS, 'all');

    // Assess: no report read, and each day's status equals the one its real report gives
    expect(reads()).toBe(0);
    expect(records.map((day) => day.date)).toEqual(DAYS.map((day) => day.iso));
    records.forEach((day, i) => {
      const fromReport = dayStatus(all[i], undefined, new Date(0));
      const fromManifest = dayStatus(day, undefined, new Date(0));
      expect(fromManifest.quarantineRate).toBe(fromReport.quarantineRate);
      expect(fromManifest.quarantineRate).toBe((i % 7) / syntheticRows(i));
      expect(fromManifest.last?.verdict).toBe('passed');
      expect({ ...fromManifest.last, checkedAt: undefined }).toEqual({ ...fromReport.last, checkedAt: undefined });
    });
  });

  it('reads the newer report of a day whose last run failed after its publish', async () => {
    // Prepare: a failed run of the third day, after the published one
    const day = DAYS[2];
    const failedRun = newRunId(new Date('2030-01-01T00:00:00Z'));
    await store.putObject(
      reportKey(day, failedRun),
      JSON.stringify({
        table: 'rentals',
        date: day.iso,
        runId: failedRun,
        kind: 'publish',
        verdict: 'failed',
        checkedAt: '2030-01-01T00:00:01.000Z',
        sourceCount: 1,
        rows: 1,
        files: 1,
        bytes: 1,
        quarantined: 1,
        checks: [{ check: 'row_count', passed: false, severity: 'error', expected: '2', actual: '1' }],
      }),
    );
    const { counted, reads } = counting('_reports/');

    // Act
    const [records] = await readLakeState(counted, [day], 'latest');

    // Assess
    expect(reads()).toBe(1);
    expect(dayStatus(records, undefined).last).toMatchObject({ verdict: 'failed', runId: failedRun });
  });
});
