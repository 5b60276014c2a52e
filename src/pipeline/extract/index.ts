/** The extract stage: one hour range of the day plan in, the range's staged tables out. */
import { rangeEventSchema, type ExtractOutput } from '../contracts.js';
import { defineStage } from '../stage.js';
import { STAGES } from '../stages.js';
import { extractDay } from './extract.js';

export const stage = defineStage(STAGES.extract, rangeEventSchema, async (event, { config, store, withSource, log }): Promise<ExtractOutput> => {
  const { date: day, runId, hours } = event;
  const staged = await withSource((client) =>
    extractDay({ client, store, day, timeZone: config.timeZone, runId, hours, batchRows: config.batchRows, mode: event.mode, log }),
  );
  return { ...staged, mode: event.mode, owner: event.owner ?? runId };
});
