import { openStore } from '../../src/lake/open.js';
import { lambdaHandler } from '../../src/pipeline/handler.js';
import { stage } from '../../src/pipeline/transform-write/index.js';

/** Lambda entry point of the transform-write stage (src/pipeline/transform-write/). */
export const handler = lambdaHandler(stage, { lake: openStore });
