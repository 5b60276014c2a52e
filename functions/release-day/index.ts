import { openStore } from '../../src/lake/open.js';
import { lambdaHandler } from '../../src/pipeline/handler.js';
import { stage } from '../../src/pipeline/release-day/index.js';

/** Lambda entry point of the release-day stage (src/pipeline/release-day/). */
export const handler = lambdaHandler(stage, { lake: openStore });
