/**
 * `etl report [--from D --to D] [--out FILE]`: the HTML data-quality report of the days (every day
 * the lake holds without dates), one file that opens offline; prints its path.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_REPORT_FILE, writeReportPage } from '../../src/monitor/report/index.js';
import type { CommandContext } from '../io.js';
import { openLake } from '../lake.js';
import { commandConfig, daysFlags } from '../options.js';

export async function run(argv: readonly string[], { env, io }: CommandContext): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: { from: { type: 'string' }, to: { type: 'string' }, out: { type: 'string' } },
  });
  const config = commandConfig(env);
  const days = values.from === undefined && values.to === undefined ? undefined : daysFlags(values);
  const store = await openLake(config);
  const path = await writeReportPage(store, days, values.out ?? DEFAULT_REPORT_FILE);
  io.out(path);
  return 0;
}
