/** `etl run --date D [--mode overwrite|append]`: extracts, transforms, validates and publishes one day. */
import { parseArgs } from 'node:util';
import { planRun } from '../../src/pipeline/plan/plan.js';
import type { CommandContext } from '../io.js';
import { commandConfig } from '../options.js';

export async function run(argv: readonly string[], { env, io }: CommandContext): Promise<number> {
  const { values } = parseArgs({ args: [...argv], strict: true, options: { date: { type: 'string' }, mode: { type: 'string' } } });
  const config = commandConfig(env);
  const plan = planRun({ date: values.date, mode: values.mode }, { timeZone: config.timeZone, maxDays: 1 });
  const { runAndReport } = await import('../local-run.js');
  return await runAndReport(config, io, { date: plan.dates[0], mode: plan.mode }, 1, 1);
}
