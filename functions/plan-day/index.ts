import { openStore } from '../../src/lake/open.js';
import { executionLiveness } from '../../src/pipeline/execution-liveness.js';
import { lambdaHandler } from '../../src/pipeline/handler.js';
import { stage } from '../../src/pipeline/plan-day/index.js';
import { sourceConnector } from '../../src/source/connect.js';

/** Lambda entry point of the plan-day stage (src/pipeline/plan-day/). */
export const handler = lambdaHandler(stage, { lake: openStore, source: sourceConnector, liveness: executionLiveness() });
