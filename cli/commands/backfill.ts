/**
 * `etl backfill --from D --to D | --dates D1,D2,... [--mode M] [--concurrency N] [--json] [--quiet]`:
 * runs a range of days, or the days listed (the failed days of an earlier run), N at once.
 */
import { parseArgs } from 'node:util';
import { InputError } from '../../src/core/errors.js';
import { MAX_DAYS_PER_EXECUTION, planRun } from '../../src/pipeline/plan/plan.js';
import type { CommandContext } from '../io.js';
import { commandConfig, integerFlag, REPORT_FLAGS, reportOptions } from '../options.js';

export async function run(argv: readonly string[], { env, io }: CommandContext): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      from: { type: 'string' },
      to: { type: 'string' },
      dates: { type: 'string' },
      mode: { type: 'string' },
      concurrency: { type: 'string' },
      ...REPORT_FLAGS,
    },
  });
  if (values.dates !== undefined && (values.from !== undefined || values.to !== undefined)) {
    throw new InputError('dates', '--dates D1,D2,... or --from D --to D, not both', values.dates);
  }
  const config = commandConfig(env);
  const days = values.dates === undefined ? { from: values.from, to: values.to } : { dates: values.dates.split(',').map((d) => d.trim()) };
  const plan = planRun({ ...days, mode: values.mode }, { timeZone: config.timeZone, maxDays: MAX_DAYS_PER_EXECUTION });
  const concurrency = integerFlag(values.concurrency, 'concurrency', 1, 64, 2);
  const report = reportOptions('backfill', values, env);
  const input = values.dates === undefined ? { from: plan.dates[0], to: plan.dates.at(-1), mode: plan.mode } : { dates: plan.dates, mode: plan.mode };
  const { runAndReport } = await import('../local-run.js');
  return await runAndReport(config, io, input, plan.dates.length, concurrency, report);
}
