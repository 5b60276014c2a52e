import { loadConfig } from '../../shared/config.js';
import { createReleaseDayHandler } from './handler.js';

/** Lambda entry point; configuration is read once, at cold start. */
export const handler = createReleaseDayHandler(loadConfig());
