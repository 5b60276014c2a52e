import type { Config } from '../../core/config.js';
import { parseReleaseEvent } from '../contracts.js';
import { releaseLock } from '../../lake/lease.js';
import { openStore } from '../../lake/store.js';
import { createLogger, type Logger } from '../../core/log.js';

/**
 * Release-day handler: `{ date, runId }` of a day that failed in; gives the day's partition lock
 * back if the run still holds it, so another run need not wait for it to expire. Out:
 * `{ date, released }`.
 */
export function createReleaseDayHandler(config: Config, newLogger: () => Logger = () => createLogger('release-day')) {
  const opened = openStore(config);
  return async (event: unknown): Promise<{ date: string; released: boolean }> => {
    const { day, runId } = parseReleaseEvent(event);
    const released = await releaseLock(await opened, day, runId);
    const log = newLogger();
    log.appendKeys({ date: day.iso, run_id: runId });
    log.info('day given up', { released });
    return { date: day.iso, released };
  };
}
