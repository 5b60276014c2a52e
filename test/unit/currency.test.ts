/**
 * The one rule for "current" (the schedule's lookback, `etl status`, `npm start`'s skip, `etl
 * validate`): a published partition against the source's day now (its count, change signal and
 * latest change), for partitions built by one overwrite and by appends, with and without a signal
 * in the manifest (manifests written before it are judged by count and `updated_at`).
 */
import { describe, expect, it } from 'vitest';
import { dayCurrency } from '../../src/lake/currency.js';
import type { ManifestRun } from '../../src/lake/manifest.js';
import type { SourceDayState } from '../../src/source/day-state.js';

const SNAPSHOT = '2025-03-02T01:30:00.000Z';

function run(sourceCount: number, sourceSnapshotAt: string, mode: ManifestRun['mode'] = 'overwrite', rows = sourceCount): ManifestRun {
  return { runId: '20250302T013000000Z-0a1b2c3d', mode, sourceCount, sourceSnapshotAt, rows, publishedAt: sourceSnapshotAt };
}

/** What the plan and `etl status` show of the rule's answer. */
function decided(manifest: { runs: readonly ManifestRun[] }, source: SourceDayState) {
  const { state, detail } = dayCurrency(manifest, source);
  return { state, detail };
}

describe('dayCurrency', () => {
  it('finds a partition current when the source has the rows it was built from and none changed since', () => {
    // Act
    const check = decided({ runs: [run(3_000, SNAPSHOT)] }, { count: 3_000, digest: '0', lastChange: '2025-03-02T01:29:59.999Z' });

    // Assess
    expect(check).toEqual({ state: 'current', detail: `3,000 rows, none changed after ${SNAPSHOT} (by updated_at: no change signal recorded)` });
  });

  it('finds a partition stale when the source has more rows (a late rental) or fewer (a deleted one)', () => {
    // Act
    const more = decided({ runs: [run(3_000, SNAPSHOT)] }, { count: 3_012, digest: '0', lastChange: '2025-03-01T23:00:00.000Z' });
    const fewer = decided({ runs: [run(3_000, SNAPSHOT)] }, { count: 2_999, digest: '0', lastChange: '2025-03-01T23:00:00.000Z' });

    // Assess
    expect(more).toEqual({ state: 'stale', detail: 'source has 3,012 rows, partition 3,000' });
    expect(fewer).toEqual({ state: 'stale', detail: 'source has 2,999 rows, partition 3,000' });
  });

  it('finds a partition stale when a row was updated after its snapshot, even by a millisecond', () => {
    // Act
    const check = decided({ runs: [run(3_000, SNAPSHOT)] }, { count: 3_000, digest: '0', lastChange: '2025-03-02T01:30:00.001Z' });

    // Assess
    expect(check).toEqual({ state: 'stale', detail: `rows changed after ${SNAPSHOT} (the latest at 2025-03-02T01:30:00.001Z)` });
  });

  it('counts the source rows a partition was built from over all its runs (an append adds its new rows)', () => {
    // Prepare: an overwrite of 3,000 rows, then an append of 12 late ones
    const manifest = { runs: [run(3_000, SNAPSHOT), run(12, '2025-03-03T01:30:00.000Z', 'append')] };

    // Act
    const current = decided(manifest, { count: 3_012, digest: '0', lastChange: '2025-03-02T01:00:00.000Z' });
    const stale = decided(manifest, { count: 3_000, digest: '0', lastChange: '2025-03-02T01:00:00.000Z' });

    // Assess
    expect(current.state).toBe('current');
    expect(stale).toEqual({ state: 'stale', detail: 'source has 3,000 rows, partition 3,012' });
  });

  it("takes an appended partition's earliest snapshot: rows an earlier run read keep its version", () => {
    // Prepare: a row changed between the overwrite and the append, which did not read it again
    const manifest = { runs: [run(3_000, SNAPSHOT), run(12, '2025-03-03T01:30:00.000Z', 'append')] };

    // Act
    const check = decided(manifest, { count: 3_012, digest: '0', lastChange: '2025-03-02T12:00:00.000Z' });

    // Assess
    expect(check).toEqual({ state: 'stale', detail: `rows changed after ${SNAPSHOT} (the latest at 2025-03-02T12:00:00.000Z)` });
  });

  it('counts rows a run left out of the lake (a required value NULL) as read: they do not make the day stale', () => {
    // Act
    const check = decided({ runs: [run(3_000, SNAPSHOT, 'overwrite', 2_998)] }, { count: 3_000, digest: '0', lastChange: undefined });

    // Assess
    expect(check.state).toBe('current');
  });

  it('finds an empty day current while the source has no rows, and stale once one arrives', () => {
    // Act
    const empty = decided({ runs: [run(0, SNAPSHOT)] }, { count: 0, digest: '0', lastChange: undefined });
    const late = decided({ runs: [run(0, SNAPSHOT)] }, { count: 1, digest: '0', lastChange: '2025-03-05T10:00:00.000Z' });

    // Assess
    expect(empty.state).toBe('current');
    expect(late).toEqual({ state: 'stale', detail: 'source has 1 rows, partition 0' });
  });

  it('finds a manifest without runs stale', () => {
    // Act / Assess
    expect(decided({ runs: [] }, { count: 0, digest: '0', lastChange: undefined })).toEqual({ state: 'stale', detail: 'the manifest records no run' });
  });

  it('answers with the figures the re-check reports: rows read by all runs, the earliest snapshot, and which half failed', () => {
    // Prepare
    const manifest = { runs: [run(3_000, SNAPSHOT), run(12, '2025-03-03T01:30:00.000Z', 'append')] };

    // Act
    const current = dayCurrency(manifest, { count: 3_012, digest: '0', lastChange: '2025-03-02T01:00:00.000Z' });
    const changed = dayCurrency(manifest, { count: 3_012, digest: '0', lastChange: '2025-03-02T12:00:00.000Z' });
    const short = dayCurrency(manifest, { count: 3_013, digest: '0', lastChange: undefined });
    const empty = dayCurrency({ runs: [] }, { count: 0, digest: '0', lastChange: undefined });

    // Assess
    expect(current).toMatchObject({ state: 'current', read: 3_012, snapshotAt: SNAPSHOT, countMatches: true, unchanged: true, signal: false });
    expect(changed).toMatchObject({ state: 'stale', countMatches: true, unchanged: false });
    expect(short).toMatchObject({ state: 'stale', read: 3_012, countMatches: false, unchanged: true });
    expect(empty).toMatchObject({ state: 'stale', snapshotAt: undefined, countMatches: false, unchanged: false });
  });

  describe('with a change signal in the manifest', () => {
    const signed = (digest: string, rows = 3_000, at = SNAPSHOT, mode: ManifestRun['mode'] = 'overwrite', sourceCount = rows): ManifestRun => ({
      ...run(sourceCount, at, mode),
      signal: { rows, digest },
    });

    it('finds a partition current when the digest is the same, whatever updated_at says (a stamp in the future included)', () => {
      // Act
      const check = decided(
        { runs: [signed('-1234567890123456789012')] },
        { count: 3_000, digest: '-1234567890123456789012', lastChange: '2099-01-01T00:00:00.000Z' },
      );

      // Assess
      expect(check).toEqual({ state: 'current', detail: `3,000 rows, none changed after ${SNAPSHOT}` });
    });

    it('finds a partition stale when the digest differs at an equal count (an unstamped update, a delete plus an insert)', () => {
      // Act
      const check = dayCurrency({ runs: [signed('42')] }, { count: 3_000, digest: '43', lastChange: '2025-03-01T00:00:00.000Z' });

      // Assess
      expect(check).toMatchObject({ state: 'stale', countMatches: true, unchanged: false, signal: true });
      expect(check.detail).toBe(`rows changed after ${SNAPSHOT} (inserted, updated or deleted: the change signal differs)`);
    });

    it("judges an appended partition by its latest run's signal and by the stamps since its earliest snapshot", () => {
      // Prepare: an overwrite of 3,000 rows, then an append of 12 that read the day's 3,012
      const later = '2025-03-03T01:30:00.000Z';
      const manifest = { runs: [signed('1'), signed('99', 3_012, later, 'append', 12)] };

      // Act
      const current = decided(manifest, { count: 3_012, digest: '99', lastChange: '2025-03-02T01:00:00.000Z' });
      const changed = decided(manifest, { count: 3_012, digest: '100', lastChange: '2025-03-02T01:00:00.000Z' });
      const stamped = decided(manifest, { count: 3_012, digest: '99', lastChange: '2025-03-02T12:00:00.000Z' });

      // Assess
      expect(current.state).toBe('current');
      expect(changed).toEqual({ state: 'stale', detail: `rows changed after ${later} (inserted, updated or deleted: the change signal differs)` });
      expect(stamped).toEqual({ state: 'stale', detail: `rows changed after ${SNAPSHOT} (the latest at 2025-03-02T12:00:00.000Z)` });
    });
  });
});
