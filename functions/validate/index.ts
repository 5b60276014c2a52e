import { loadConfig } from '../../src/core/config.js';
import { createValidateHandler } from '../../src/pipeline/validate/handler.js';

/** Lambda entry point; configuration is read once, at cold start. */
export const handler = createValidateHandler(loadConfig());
