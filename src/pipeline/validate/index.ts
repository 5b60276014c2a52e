/** The validate stage: the day plan with what each range wrote in; checks, report and publish; the verdict out. */
import { validateEventSchema } from '../contracts.js';
import { defineStage } from '../stage.js';
import { STAGES } from '../stages.js';
import { compactAfterPublish } from '../compact/run-compaction.js';
import { validateAndPublish } from './validate.js';

export const stage = defineStage(STAGES.validate, validateEventSchema, async (event, { config, store, log, publication }) => {
  const { date: day, runId, mode, owner, sourceDuplicateIds, ranges, written } = event;
  const { rowsPerFile, rowGroupRows, lockTtlMs } = config;
  const compaction = { aboveFiles: config.compactAboveFiles, run: () => compactAfterPublish(publication, { rowsPerFile, rowGroupRows, lockTtlMs, log }) };
  return validateAndPublish({
    store,
    day,
    run: { runId, mode, owner, sourceDuplicateIds, ranges },
    written,
    thresholds: config.thresholds,
    log,
    publication,
    compaction,
  });
});
