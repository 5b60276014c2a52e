import { openStore } from '../../src/lake/open.js';
import { lambdaHandler } from '../../src/pipeline/handler.js';
import { stage } from '../../src/pipeline/snapshot/index.js';
import { sourceConnector } from '../../src/source/connect.js';

/** Lambda entry point of the snapshot stage (src/pipeline/snapshot/). */
export const handler = lambdaHandler(stage, { lake: openStore, source: sourceConnector });
