import { loadConfig } from '../../shared/config.js';
import { createPlanHandler } from './handler.js';

/** Lambda entry point; configuration is read once, at cold start. */
export const handler = createPlanHandler(loadConfig());
