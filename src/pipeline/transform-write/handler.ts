import type { Config } from '../../core/config.js';
import { parseTransformEvent } from '../contracts.js';
import { openStore } from '../../lake/store.js';
import { createLogger, type Logger } from '../../core/log.js';
import { transformDay, type TransformResult } from './transform.js';

/** Transform-and-write handler: extract's output in, the written files and metrics out. */
export function createTransformWriteHandler(config: Config, newLogger: () => Logger = () => createLogger('transform-write')) {
  const opened = openStore(config);
  return async (event: unknown): Promise<TransformResult> => {
    const { day, extract } = parseTransformEvent(event);
    const log = newLogger();
    log.appendKeys({ date: day.iso, run_id: extract.runId });
    const store = await opened;
    return transformDay({ store, day, extract, mode: extract.mode, rowsPerFile: config.rowsPerFile, rowGroupRows: config.rowGroupRows, log, lockTtlMs: config.lockTtlMs });
  };
}
