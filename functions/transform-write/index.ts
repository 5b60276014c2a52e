import { loadConfig } from '../../src/core/config.js';
import { createTransformWriteHandler } from '../../src/pipeline/transform-write/handler.js';

/** Lambda entry point; configuration is read once, at cold start. */
export const handler = createTransformWriteHandler(loadConfig());
