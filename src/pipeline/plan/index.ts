/**
 * The plan stage: the execution input in, `{ mode, dates }` out (or an `InputError`); for the
 * schedule's input also why each day runs (new, stale, missing) and which days it leaves alone.
 */
import * as v from 'valibot';
import { defineStage } from '../stage.js';
import { STAGES } from '../stages.js';
import { MAX_DAYS_PER_EXECUTION, planExecution } from './plan.js';
import { checkDays } from './staleness.js';

export const stage = defineStage(STAGES.plan, v.unknown(), async (input, { config, log, store, withSource }) => {
  const { timeZone } = config;
  const plan = await planExecution(input, {
    timeZone,
    maxDays: MAX_DAYS_PER_EXECUTION,
    lookbackDays: config.republishLookbackDays,
    checkDays: (days) => checkDays({ store, withSource, days, timeZone }),
  });
  log.info('planned', {
    days: plan.dates.length,
    first: plan.dates[0],
    last: plan.dates.at(-1),
    mode: plan.mode,
    ...(plan.reasons && {
      stale: plan.reasons.filter((r) => r.kind === 'stale').map((r) => r.date),
      missing: plan.reasons.filter((r) => r.kind === 'missing').map((r) => r.date),
    }),
    ...(plan.skipped && {
      current: plan.skipped.filter((s) => s.kind === 'current').length,
      unpublished: plan.skipped.filter((s) => s.kind === 'unpublished').map((s) => s.date),
    }),
  });
  return plan;
});
