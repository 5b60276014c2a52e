/** The transform-write stage: extract's output in, the range's Parquet files, quarantine and metrics out. */
import { extractOutputSchema } from '../contracts.js';
import { defineStage } from '../stage.js';
import { STAGES } from '../stages.js';
import { transformDay } from './transform.js';

export const stage = defineStage(STAGES.transformWrite, extractOutputSchema, async (event, { config, store, log }) =>
  transformDay({
    store,
    day: event.date,
    extract: event,
    timeZone: config.timeZone,
    rowsPerFile: config.rowsPerFile,
    rowGroupRows: config.rowGroupRows,
    mode: event.mode,
    openRentalMaxMs: config.openRentalMaxMinutes * 60_000,
    log,
  }),
);
