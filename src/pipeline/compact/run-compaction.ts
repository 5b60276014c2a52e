/**
 * Compaction under the day's lease, with a run id of its own: `etl compact` takes the day's lease
 * like any run (a day another run holds is busy), and an append that leaves a partition with too
 * many files hands its lease on to a compaction right after its publish (the same owner takes
 * the lease over: no other run can slip in between).
 */
import type { CalendarDay } from '../../core/day.js';
import type { Logger } from '../../core/log.js';
import { DayPublication } from '../../lake/day-publication.js';
import { newRunId } from '../../lake/layout.js';
import type { LakeSession } from '../../lake/session.js';
import type { ObjectStore } from '../../lake/store.js';
import { compactPartition, type CompactOutcome } from './compact.js';

export interface CompactionSettings {
  readonly rowsPerFile: number;
  readonly rowGroupRows: number;
  readonly lockTtlMs: number;
  readonly log?: Logger;
}

/** Compacts `publication`'s day while holding its lease (renewed as it goes), then gives the day back. */
async function compactHolding(publication: DayPublication, settings: CompactionSettings): Promise<CompactOutcome> {
  try {
    return await publication.heartbeat(() =>
      compactPartition({ publication, rowsPerFile: settings.rowsPerFile, rowGroupRows: settings.rowGroupRows, log: settings.log }),
    );
  } finally {
    await publication.release().catch(() => undefined);
  }
}

/** `etl compact` of one day: takes its lease (or throws `PartitionBusyError`), compacts, gives it back. */
export async function compactDay(session: LakeSession, store: ObjectStore, day: CalendarDay, settings: CompactionSettings): Promise<CompactOutcome> {
  const runId = newRunId();
  const publication = session.publication(store, { day, runId, owner: runId }, settings.lockTtlMs);
  await publication.acquire();
  return compactHolding(publication, settings);
}

/**
 * Compacts the day `published` has just published, under its lease: a compaction run of the same
 * owner takes the lease over, compacts and gives the day back (so `published`'s release after its
 * stage finds nothing of its own to give back).
 */
export async function compactAfterPublish(published: DayPublication, settings: CompactionSettings): Promise<CompactOutcome> {
  const publication = new DayPublication(published.store, { ...published.holder, runId: newRunId() }, published.ttlMs, published.session);
  // A caller holding no lease (a benchmark of the stage) has none to hand on.
  if (published.ttlMs > 0) await publication.acquire();
  return compactHolding(publication, settings);
}
