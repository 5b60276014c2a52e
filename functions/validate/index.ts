import { openStore } from '../../src/lake/open.js';
import { lambdaHandler } from '../../src/pipeline/handler.js';
import { stage } from '../../src/pipeline/validate/index.js';

/** Lambda entry point of the validate stage (src/pipeline/validate/). */
export const handler = lambdaHandler(stage, { lake: openStore });
