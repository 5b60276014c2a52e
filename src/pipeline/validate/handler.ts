import type { Config } from '../../core/config.js';
import { parseValidateEvent } from '../contracts.js';
import { openStore } from '../../lake/store.js';
import { createLogger, type Logger } from '../../core/log.js';
import { validateAndPublish, type ValidateResult } from './validate.js';

/** Validate handler: the day plan with what each range wrote in; checks, report and publish; the verdict out. */
export function createValidateHandler(config: Config, newLogger: () => Logger = () => createLogger('validate')) {
  const opened = openStore(config);
  return async (event: unknown): Promise<ValidateResult> => {
    const { day, run, written } = parseValidateEvent(event);
    const log = newLogger();
    log.appendKeys({ date: day.iso, run_id: run.runId });
    const store = await opened;
    return validateAndPublish({ store, day, run, written, thresholds: config.thresholds, log, lockTtlMs: config.lockTtlMs });
  };
}
