/** The plan stage: the execution input in, `{ mode, dates }` out (or an `InputError`). */
import * as v from 'valibot';
import { defineStage } from '../stage.js';
import { STAGES } from '../stages.js';
import { MAX_DAYS_PER_EXECUTION, planRun } from './plan.js';

export const stage = defineStage(STAGES.plan, v.unknown(), async (input, { config, log }) => {
  const plan = planRun(input, { timeZone: config.timeZone, maxDays: MAX_DAYS_PER_EXECUTION });
  log.info('planned', { days: plan.dates.length, first: plan.dates[0], last: plan.dates.at(-1), mode: plan.mode });
  return plan;
});
