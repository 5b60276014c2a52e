import { openStore } from '../../src/lake/open.js';
import { stage } from '../../src/pipeline/extract/index.js';
import { lambdaHandler } from '../../src/pipeline/handler.js';
import { sourceConnector } from '../../src/source/connect.js';

/** Lambda entry point of the extract stage (src/pipeline/extract/). */
export const handler = lambdaHandler(stage, { lake: openStore, source: sourceConnector });
