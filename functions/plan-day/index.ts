import { loadConfig } from '../../shared/config.js';
import { createPlanDayHandler } from './handler.js';

/** Lambda entry point; configuration is read once, at cold start. */
export const handler = createPlanDayHandler(loadConfig());
