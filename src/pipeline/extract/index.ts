/** The extract stage: one hour range of the day plan in, the range's staged tables out. */
import type { Config } from '../../core/config.js';
import { rangeEventSchema, type ExtractOutput, type RangeEvent } from '../contracts.js';
import { defineStage, type StageContext } from '../stage.js';
import { STAGES } from '../stages.js';
import { extractDay, type ExtractRequest } from './extract.js';

/**
 * Runs extract for `event` as its stage does; `teeTo` hands its batches to a transform of the
 * range as well (a local run's overlap, `transform-write/overlap.ts`).
 */
export async function extractRange(
  event: RangeEvent,
  { config, store, withSource, log }: Pick<StageContext<Pick<Config, 'timeZone' | 'batchRows'>>, 'config' | 'store' | 'withSource' | 'log'>,
  teeTo?: ExtractRequest['teeTo'],
): Promise<ExtractOutput> {
  const { date: day, runId, hours } = event;
  const staged = await withSource((client) =>
    extractDay({ client, store, day, timeZone: config.timeZone, runId, hours, batchRows: config.batchRows, mode: event.mode, log, teeTo }),
  );
  return { ...staged, mode: event.mode, owner: event.owner ?? runId };
}

export const stage = defineStage(STAGES.extract, rangeEventSchema, (event, context) => extractRange(event, context));
