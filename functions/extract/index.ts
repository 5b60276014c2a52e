import { loadConfig } from '../../src/core/config.js';
import { createExtractHandler } from '../../src/pipeline/extract/handler.js';

/** Lambda entry point; configuration is read once, at cold start. */
export const handler = createExtractHandler(loadConfig());
