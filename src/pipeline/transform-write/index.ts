/** The transform-write stage: extract's output in, the range's Parquet files, quarantine and metrics out. */
import type { Config } from '../../core/config.js';
import type { Logger } from '../../core/log.js';
import type { ObjectStore } from '../../lake/store.js';
import { extractOutputSchema, type TransformEvent } from '../contracts.js';
import { defineStage } from '../stage.js';
import { STAGES } from '../stages.js';
import { transformDay, type TransformRequest } from './transform.js';

/** The transform of `event` (extract's output) as the stage runs it. */
export function transformRequestOf(
  event: TransformEvent,
  config: Pick<Config, 'timeZone' | 'rowsPerFile' | 'rowGroupRows' | 'openRentalMaxMinutes'>,
  store: ObjectStore,
  log: Logger,
): TransformRequest {
  return {
    store,
    day: event.date,
    extract: event,
    timeZone: config.timeZone,
    rowsPerFile: config.rowsPerFile,
    rowGroupRows: config.rowGroupRows,
    mode: event.mode,
    openRentalMaxMs: config.openRentalMaxMinutes * 60_000,
    log,
  };
}

export const stage = defineStage(STAGES.transformWrite, extractOutputSchema, (event, { config, store, log }) =>
  transformDay(transformRequestOf(event, config, store, log)),
);
