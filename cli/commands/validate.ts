/** `etl validate --date D`: re-checks a published day against the source as it is now. */
import { parseArgs } from 'node:util';
import { parseDay } from '../../src/core/day.js';
import { openStore } from '../../src/lake/open.js';
import { recheckPartition } from '../../src/pipeline/validate/recheck.js';
import type { CommandContext } from '../io.js';
import { commandConfig } from '../options.js';
import { openSource } from '../source.js';

export async function run(argv: readonly string[], { env, io }: CommandContext): Promise<number> {
  const { values } = parseArgs({ args: [...argv], strict: true, options: { date: { type: 'string' } } });
  const config = commandConfig(env);
  const day = parseDay(values.date, 'date');
  const client = await openSource(config);
  try {
    const { report, reportKey } = await recheckPartition({ store: await openStore(config), client, day, timeZone: config.timeZone });
    for (const c of report.checks) io.out(`${c.passed ? 'ok  ' : 'FAIL'} ${c.check}: expected ${c.expected}, got ${c.actual}`);
    io.out(`${day.iso}: ${report.verdict} (report: ${reportKey})`);
    return report.verdict === 'passed' ? 0 : 1;
  } finally {
    await client.end();
  }
}
