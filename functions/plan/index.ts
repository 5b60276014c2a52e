import { loadConfig } from '../../src/core/config.js';
import { createPlanHandler } from '../../src/pipeline/plan/handler.js';

/** Lambda entry point; configuration is read once, at cold start. */
export const handler = createPlanHandler(loadConfig());
