import type { Config } from '../../core/config.js';
import { withClient } from '../../source/connect.js';
import { databaseUrlSource } from '../../source/credentials.js';
import { parseExtractEvent, type ExtractOutput } from '../contracts.js';
import { extractDay } from './extract.js';
import { openStore } from '../../lake/store.js';
import { createLogger, type Logger } from '../../core/log.js';

/** Extract handler: `{ date, mode?, owner?, runId?, hours? }` in, the staged range's summary out. */
export function createExtractHandler(config: Config, newLogger: () => Logger = () => createLogger('extract'), env: Record<string, string | undefined> = process.env) {
  const databaseUrl = databaseUrlSource(env, config.databaseUrl);
  const opened = openStore(config);
  return async (event: unknown): Promise<ExtractOutput> => {
    const { day, mode, runId, owner = runId, hours } = parseExtractEvent(event);
    const log = newLogger();
    log.appendKeys({ date: day.iso, run_id: runId });
    const store = await opened;
    const result = await withClient(await databaseUrl(), (client) =>
      extractDay({ client, store, day, timeZone: config.timeZone, runId, hours, batchRows: config.batchRows, log, lock: { owner, ttlMs: config.lockTtlMs } }),
    );
    return { ...result, mode };
  };
}
