/**
 * `etl run --date D [--mode overwrite|append] [--json] [--quiet]`: extracts, transforms, validates and publishes one day.
 * `etl run --scheduled [--at TIMESTAMP]`: runs what the daily schedule runs at that time (default now, never a time in
 * the future): yesterday unless it is published and current, and the days of the lookback (`REPUBLISH_LOOKBACK_DAYS`)
 * whose published partition has gone stale or that are missing.
 */
import { parseArgs } from 'node:util';
import { planRun } from '../../src/pipeline/plan/plan.js';
import { InputError } from '../../src/core/errors.js';
import type { CommandContext } from '../io.js';
import { commandConfig, REPORT_FLAGS, reportOptions } from '../options.js';

export async function run(argv: readonly string[], { env, io }: CommandContext): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: { date: { type: 'string' }, mode: { type: 'string' }, scheduled: { type: 'boolean' }, at: { type: 'string' }, ...REPORT_FLAGS },
  });
  const config = commandConfig(env);
  if (values.scheduled) return await runScheduled(values, { env, io }, config);
  if (values.at !== undefined) throw new InputError('at', 'only with --scheduled', values.at);
  if (values.date === undefined) throw new InputError('date', 'either --date YYYY-MM-DD (one day) or --scheduled [--at TIMESTAMP] (what the schedule runs)');
  const plan = planRun({ date: values.date, mode: values.mode }, { timeZone: config.timeZone, maxDays: 1 });
  const report = reportOptions('run', values, env);
  const { runAndReport } = await import('../local-run.js');
  return await runAndReport(config, io, { date: plan.dates[0], mode: plan.mode }, 1, 1, report);
}

/** `etl run --scheduled [--at T]`: the schedule's input, planned by the Plan state (how many days run is known only then). */
async function runScheduled(
  values: { date?: string; at?: string; mode?: string; json?: boolean; quiet?: boolean },
  { env, io }: CommandContext,
  config: ReturnType<typeof commandConfig>,
): Promise<number> {
  if (values.date !== undefined)
    throw new InputError('date', 'no --date with --scheduled (the schedule plans its days: yesterday and the stale days before it)', values.date);
  const at = values.at ?? new Date().toISOString();
  if (Number.isNaN(Date.parse(at))) throw new InputError('at', 'an ISO 8601 timestamp such as 2025-03-02T02:30:00Z', at);
  // A schedule fires at its time, never before: a future time would publish a day not over yet.
  if (Date.parse(at) > Date.now()) throw new InputError('at', `a time not in the future (now ${new Date().toISOString()})`, at);
  const input = { scheduledTime: new Date(at).toISOString(), ...(values.mode === undefined ? {} : { mode: values.mode }) };
  planRun(input, { timeZone: config.timeZone, maxDays: 1, lookbackDays: config.republishLookbackDays });
  const report = reportOptions('run', values, env);
  const { runAndReport } = await import('../local-run.js');
  return await runAndReport(config, io, input, undefined, 1, report);
}
