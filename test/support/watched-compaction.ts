/**
 * Compacts one day (`compactDay`, as `etl compact` does) while an outside reader watches the lake:
 * a poller reads throughout, and a reading is taken right before every write the compaction makes
 * (each write waits for it). Tells the readings apart by the publish window: from the first file
 * promoted into the partition to the end of the last removal from it.
 */
import type { CalendarDay } from '../../src/core/day.js';
import { LakeSession } from '../../src/lake/session.js';
import type { ObjectStore } from '../../src/lake/store.js';
import type { CompactOutcome } from '../../src/pipeline/compact/compact.js';
import { compactDay, type CompactionSettings } from '../../src/pipeline/compact/run-compaction.js';
import { type Reading, readBeforeEveryWrite } from './watched-replacement.js';

export interface WatchedCompaction<V> {
  readonly outcome: CompactOutcome;
  readonly readings: readonly Reading<V>[];
  /** Undefined when nothing was promoted into the partition (or removed from it). */
  readonly windowStart: number | undefined;
  readonly windowEnd: number | undefined;
  /** The readings wholly before or after the publish window. */
  readonly outside: readonly Reading<V>[];
}

export async function watchCompaction<V>(
  store: ObjectStore,
  day: CalendarDay,
  settings: CompactionSettings,
  read: () => Promise<V>,
): Promise<WatchedCompaction<V>> {
  const readings: Reading<V>[] = [];
  const observe = async () => {
    const at = performance.now();
    const view = await read();
    readings.push({ at, end: performance.now(), view });
  };
  const inPartition = (key: unknown) => String(key).startsWith('rentals/');
  let windowStart: number | undefined;
  let windowEnd: number | undefined;
  const watched = readBeforeEveryWrite(store, observe, {
    starting: (name, args) => {
      if (name === 'promote' && inPartition(args[1])) windowStart ??= performance.now();
    },
    done: (name, args) => {
      if (name === 'deleteObjects' && (args[0] as readonly string[]).some(inPartition)) windowEnd = performance.now();
    },
  });
  let running = true;
  const poller = (async () => {
    while (running) await observe();
  })();
  let outcome: CompactOutcome;
  try {
    outcome = await compactDay(new LakeSession(), watched, day, settings);
  } finally {
    running = false;
    await poller;
  }
  const outside = readings.filter((r) => windowStart === undefined || windowEnd === undefined || r.end < windowStart || r.at > windowEnd);
  return { outcome, readings, windowStart, windowEnd, outside };
}
