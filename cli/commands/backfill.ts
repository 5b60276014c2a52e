/** `etl backfill --from D --to D [--mode M] [--concurrency N] [--json] [--quiet]`: runs a range of days, N at once. */
import { parseArgs } from 'node:util';
import { MAX_DAYS_PER_EXECUTION, planRun } from '../../src/pipeline/plan/plan.js';
import type { CommandContext } from '../io.js';
import { commandConfig, integerFlag, REPORT_FLAGS, reportOptions } from '../options.js';

export async function run(argv: readonly string[], { env, io }: CommandContext): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: { from: { type: 'string' }, to: { type: 'string' }, mode: { type: 'string' }, concurrency: { type: 'string' }, ...REPORT_FLAGS },
  });
  const config = commandConfig(env);
  const plan = planRun({ from: values.from, to: values.to, mode: values.mode }, { timeZone: config.timeZone, maxDays: MAX_DAYS_PER_EXECUTION });
  const concurrency = integerFlag(values.concurrency, 'concurrency', 1, 64, 2);
  const report = reportOptions('backfill', values, env);
  const { runAndReport } = await import('../local-run.js');
  return await runAndReport(config, io, { from: plan.dates[0], to: plan.dates.at(-1), mode: plan.mode }, plan.dates.length, concurrency, report);
}
