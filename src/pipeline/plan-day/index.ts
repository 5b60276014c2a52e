/** The plan-day stage: `{ date, mode?, owner? }` in; the new run, its lease and the day's hour ranges out. */
import { dayEventSchema, type DayPlan } from '../contracts.js';
import { defineStage } from '../stage.js';
import { STAGES } from '../stages.js';
import { planDay } from './plan-day.js';

export const stage = defineStage(STAGES.planDay, dayEventSchema, async (event, { config, withSource, runId, log }): Promise<DayPlan> => {
  const cut = await withSource((client) => planDay({ client, day: event.date, timeZone: config.timeZone, maxRowsPerRange: config.maxRowsPerRange, log }));
  return { runId, date: event.date.iso, mode: event.mode, owner: event.owner ?? runId, ...cut };
});
