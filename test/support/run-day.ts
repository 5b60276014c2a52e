/**
 * Runs one day through the three stages in this process with a store of the test's choosing
 * (a fault-injecting one, say), the way the handlers do: same lock, same order.
 */
import { DEFAULT_THRESHOLDS, type QualityThresholds } from '../../shared/config.js';
import type { CalendarDay } from '../../shared/day.js';
import { withClient } from '../../shared/db/connect.js';
import { extractDay } from '../../shared/extract.js';
import { newRunId } from '../../shared/lake/layout.js';
import type { ObjectStore } from '../../shared/lake/store.js';
import { transformDay, type WriteMode } from '../../shared/transform.js';
import { validateAndPublish } from '../../shared/validate.js';

export interface RunDayOptions {
  readonly mode?: WriteMode;
  readonly owner?: string;
  readonly lockTtlMs?: number;
  readonly thresholds?: QualityThresholds;
  readonly batchRows?: number;
  readonly rowsPerFile?: number;
}

/** Runs the day with a connection of its own to `databaseUrl`, as the extract Lambda does. */
export async function runDay(store: ObjectStore, databaseUrl: string, day: CalendarDay, options: RunDayOptions = {}) {
  const runId = newRunId();
  const lockTtlMs = options.lockTtlMs ?? 60_000;
  const extract = await withClient(databaseUrl, (client) => extractDay({
    client,
    store,
    day,
    timeZone: 'UTC',
    runId,
    batchRows: options.batchRows ?? 1_000,
    lock: { owner: options.owner ?? runId, ttlMs: lockTtlMs },
  }));
  const transform = await transformDay({ store, day, extract, mode: options.mode ?? 'overwrite', rowsPerFile: options.rowsPerFile ?? 1_024, rowGroupRows: 1_024, lockTtlMs });
  return validateAndPublish({ store, day, transform, thresholds: options.thresholds ?? DEFAULT_THRESHOLDS, lockTtlMs });
}
