/** The transform-write stage: extract's output in, the range's Parquet files, quarantine and metrics out. */
import type { Config } from '../../core/config.js';
import type { Logger } from '../../core/log.js';
import type { ObjectStore } from '../../lake/store.js';
import { extractOutputSchema, type TransformEvent, type TransformOutput } from '../contracts.js';
import { defineStage } from '../stage.js';
import { STAGES } from '../stages.js';
import { type ExtractCounts, transformDay, type TransformRequest, type TransformWritten } from './transform.js';

/** The transform of `event` (extract's output) as the stage runs it. */
export function transformRequestOf(
  event: Omit<TransformEvent, ExtractCounts>,
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

/** What a range's transform wrote, with the counts of its extract (`event`) passed on. */
export function withCounts(written: TransformWritten, event: Pick<TransformEvent, ExtractCounts>): TransformOutput {
  const { sourceCount, sourceDigest, digestRows, previousDayCount } = event;
  return {
    ...written,
    sourceCount,
    ...(sourceDigest === undefined ? {} : { sourceDigest }),
    ...(digestRows === undefined ? {} : { digestRows }),
    ...(previousDayCount === undefined ? {} : { previousDayCount }),
  };
}

export const stage = defineStage(STAGES.transformWrite, extractOutputSchema, async (event, { config, store, log }) =>
  withCounts(await transformDay(transformRequestOf(event, config, store, log)), event),
);
