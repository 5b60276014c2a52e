/** The snapshot stage: once per execution, users and bikes copied whole, checked and published. */
import { snapshotEventSchema } from '../contracts.js';
import { newRunId } from '../../lake/layout.js';
import { defineStage } from '../stage.js';
import { STAGES } from '../stages.js';
import { snapshotTables } from './snapshot.js';

export const stage = defineStage(STAGES.snapshot, snapshotEventSchema, async (_event, { config, store, withSource, log, session }) => {
  const runId = newRunId();
  log.appendKeys({ run_id: runId });
  return withSource((client) => snapshotTables({ client, store, session, runId, batchRows: config.batchRows, rowGroupRows: config.rowGroupRows, log }));
});
