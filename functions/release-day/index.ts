import { loadConfig } from '../../src/core/config.js';
import { createReleaseDayHandler } from '../../src/pipeline/release-day/handler.js';

/** Lambda entry point; configuration is read once, at cold start. */
export const handler = createReleaseDayHandler(loadConfig());
