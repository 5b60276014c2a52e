import type { Config } from '../../shared/config.js';
import { requireDatabaseUrl } from '../../shared/config.js';
import { withClient } from '../../shared/db/connect.js';
import { parseExtractEvent, type ExtractOutput } from '../../shared/events.js';
import { extractDay } from '../../shared/extract.js';
import { newRunId } from '../../shared/lake/layout.js';
import { openStore } from '../../shared/lake/store.js';
import { createLogger, type Logger } from '../../shared/log.js';

/** Extract handler: `{ date, mode? }` in, the staged day's summary out. */
export function createExtractHandler(config: Config, newLogger: () => Logger = () => createLogger('extract')) {
  const databaseUrl = requireDatabaseUrl(config);
  const opened = openStore(config);
  return async (event: unknown): Promise<ExtractOutput> => {
    const { day, mode, runId = newRunId() } = parseExtractEvent(event);
    const log = newLogger();
    log.appendKeys({ date: day.iso, run_id: runId });
    const store = await opened;
    const result = await withClient(databaseUrl, (client) =>
      extractDay({ client, store, day, timeZone: config.timeZone, runId, batchRows: config.batchRows, log }),
    );
    return { ...result, mode };
  };
}
