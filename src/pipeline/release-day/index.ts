/**
 * The release-day stage: `{ date, runId }` of a day that failed for good in; gives the day's lease
 * back if the run still holds it, so another run need not wait for it to expire.
 */
import { releaseEventSchema } from '../contracts.js';
import { defineStage } from '../stage.js';
import { STAGES } from '../stages.js';

export const stage = defineStage(STAGES.releaseDay, releaseEventSchema, async (event, { publication, log }) => {
  const released = await publication.release();
  log.info('day given up', { released });
  return { date: event.date.iso, released };
});
