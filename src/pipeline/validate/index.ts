/** The validate stage: the day plan with what each range wrote in; checks, report and publish; the verdict out. */
import { validateEventSchema } from '../contracts.js';
import { defineStage } from '../stage.js';
import { STAGES } from '../stages.js';
import { validateAndPublish } from './validate.js';

export const stage = defineStage(STAGES.validate, validateEventSchema, async (event, { config, store, log, publication }) => {
  const { date: day, runId, mode, owner, sourceDuplicateIds, ranges, written } = event;
  return validateAndPublish({ store, day, run: { runId, mode, owner, sourceDuplicateIds, ranges }, written, thresholds: config.thresholds, log, publication });
});
