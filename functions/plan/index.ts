import { lambdaHandler } from '../../src/pipeline/handler.js';
import { stage } from '../../src/pipeline/plan/index.js';

/** Lambda entry point of the plan stage (src/pipeline/plan/). */
export const handler = lambdaHandler(stage, {});
