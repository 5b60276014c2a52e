/**
 * The plan stage: the execution input in, `{ mode, dates }` out (or an `InputError`); for the
 * schedule's input also why each day runs (new, rerun, stale, missing) and which days it leaves
 * alone, and the source columns the declaration does not name (schema drift).
 */
import * as v from 'valibot';
import { defineStage } from '../stage.js';
import { STAGES } from '../stages.js';
import { MAX_DAYS_PER_EXECUTION, planExecution } from './plan.js';
import { checkDays } from './staleness.js';
import { RENTALS } from '../../core/tables.js';
import { describeUndeclared, undeclaredSourceColumns } from '../../source/source-columns.js';

export const stage = defineStage(STAGES.plan, v.unknown(), async (input, { config, log, store, withSource }) => {
  const { timeZone } = config;
  const plan = await planExecution(input, {
    timeZone,
    maxDays: MAX_DAYS_PER_EXECUTION,
    lookbackDays: config.republishLookbackDays,
    checkDays: (days) => checkDays({ store, withSource, days, timeZone }),
  });
  // Schema drift, said once by the schedule's plan, which reads the source anyway (each day's
  // report says it too); a date or range input's plan does not connect to the source.
  const scheduled = plan.reasons !== undefined;
  const undeclared = scheduled ? (await withSource((client) => undeclaredSourceColumns(client, [RENTALS]))).map(describeUndeclared) : [];
  if (undeclared.length > 0) log.warn('source columns not in the declaration: not carried into the lake', { columns: undeclared });
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
  return undeclared.length > 0 ? { ...plan, undeclaredColumns: undeclared } : plan;
});
