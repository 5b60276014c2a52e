import { loadConfig } from '../../src/core/config.js';
import { createPlanDayHandler } from '../../src/pipeline/plan-day/handler.js';

/** Lambda entry point; configuration is read once, at cold start. */
export const handler = createPlanDayHandler(loadConfig());
