import type { Config } from '../../core/config.js';
import { createLogger, type Logger } from '../../core/log.js';
import { planRun, type RunPlan } from './plan.js';

/** Most days one execution may cover (ten years). */
export const MAX_DAYS_PER_EXECUTION = 3_660;

/** Plan handler: the execution input in, `{ mode, dates }` out (or an InputError). */
export function createPlanHandler(config: Pick<Config, 'timeZone'>, newLogger: () => Logger = () => createLogger('plan')) {
  return async (event: unknown): Promise<RunPlan> => {
    const plan = planRun(event, { timeZone: config.timeZone, maxDays: MAX_DAYS_PER_EXECUTION });
    newLogger().info('planned', { days: plan.dates.length, first: plan.dates[0], last: plan.dates.at(-1), mode: plan.mode });
    return plan;
  };
}
