/**
 * Runs one day through the stages in this process with a store of the test's choosing (a
 * fault-injecting one, say), the way the state machine does: same lock, same order, the day's
 * hour ranges extracted and written one after the other, the lock given back when the day fails.
 */
import { DEFAULT_THRESHOLDS, type QualityThresholds } from '../../src/core/config.js';
import type { CalendarDay } from '../../src/core/day.js';
import { withClient } from '../../src/source/connect.js';
import { extractDay } from '../../src/pipeline/extract/extract.js';
import { newRunId } from '../../src/lake/layout.js';
import { releaseLock } from '../../src/lake/lease.js';
import { planDay } from '../../src/pipeline/plan-day/plan-day.js';
import type { ObjectStore } from '../../src/lake/store.js';
import { transformDay, type WriteMode } from '../../src/pipeline/transform-write/transform.js';
import { validateAndPublish } from '../../src/pipeline/validate/validate.js';

export interface RunDayOptions {
  readonly mode?: WriteMode;
  readonly owner?: string;
  readonly lockTtlMs?: number;
  readonly thresholds?: QualityThresholds;
  readonly batchRows?: number;
  readonly rowsPerFile?: number;
  readonly maxRowsPerRange?: number;
}

/** Runs the day with a connection of its own to `databaseUrl`, as the extract Lambda does. */
export async function runDay(store: ObjectStore, databaseUrl: string, day: CalendarDay, options: RunDayOptions = {}) {
  const runId = newRunId();
  const owner = options.owner ?? runId;
  const lockTtlMs = options.lockTtlMs ?? 60_000;
  const lock = { owner, ttlMs: lockTtlMs };
  const plan = await withClient(databaseUrl, (client) =>
    planDay({ client, store, day, timeZone: 'UTC', runId, maxRowsPerRange: options.maxRowsPerRange ?? 20_000_000, lock }),
  );
  const mode = options.mode ?? 'overwrite';
  try {
    const written = [];
    for (const hours of plan.ranges) {
      const extract = await withClient(databaseUrl, (client) =>
        extractDay({ client, store, day, timeZone: 'UTC', runId, hours, batchRows: options.batchRows ?? 1_000, lock }),
      );
      written.push(await transformDay({ store, day, extract, mode, rowsPerFile: options.rowsPerFile ?? 1_024, rowGroupRows: 1_024, lockTtlMs }));
    }
    const run = { runId, mode, owner, sourceDuplicateIds: plan.sourceDuplicateIds, ranges: plan.ranges };
    return await validateAndPublish({ store, day, run, written, thresholds: options.thresholds ?? DEFAULT_THRESHOLDS, lockTtlMs });
  } catch (error) {
    // The state machine's ReleaseDay step.
    await releaseLock(store, day, runId).catch(() => undefined);
    throw error;
  }
}
