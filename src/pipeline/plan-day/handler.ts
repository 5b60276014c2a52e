import type { Config } from '../../core/config.js';
import { withClient } from '../../source/connect.js';
import { databaseUrlSource } from '../../source/credentials.js';
import { parseDayEvent, type DayPlanOutput } from '../contracts.js';
import { newRunId } from '../../lake/layout.js';
import { openStore } from '../../lake/store.js';
import { createLogger, type Logger } from '../../core/log.js';
import { planDay } from './plan-day.js';

/** Plan-day handler: `{ date, mode?, owner? }` in; the run id, the lock and the day's hour ranges out. */
export function createPlanDayHandler(config: Config, newLogger: () => Logger = () => createLogger('plan-day'), env: Record<string, string | undefined> = process.env) {
  const databaseUrl = databaseUrlSource(env, config.databaseUrl);
  const opened = openStore(config);
  return async (event: unknown): Promise<DayPlanOutput> => {
    const { day, mode, owner } = parseDayEvent(event);
    const runId = newRunId();
    const log = newLogger();
    log.appendKeys({ date: day.iso, run_id: runId });
    const store = await opened;
    const plan = await withClient(await databaseUrl(), (client) =>
      planDay({ client, store, day, timeZone: config.timeZone, runId, maxRowsPerRange: config.maxRowsPerRange, log, lock: { owner: owner ?? runId, ttlMs: config.lockTtlMs } }),
    );
    return { ...plan, mode };
  };
}
