/**
 * `etl validate --date D | --from D --to D [--json]`: re-checks published days against the source
 * as it is now. Exit code 0 when every day passed; 1 when a day failed or is not published (a day
 * never published has nothing to re-check, and no report is written for it).
 */
import { parseArgs } from 'node:util';
import { manifestKey } from '../../src/lake/layout.js';
import { recheckPartition } from '../../src/pipeline/validate/recheck.js';
import type { ValidationReport } from '../../src/lake/report-record.js';
import type { CommandContext } from '../io.js';
import { printJsonResult } from '../json.js';
import { openLake } from '../lake.js';
import { commandConfig, daysFlags } from '../options.js';
import { openSource } from '../source.js';

/** A day as `--json` prints it: its report and the report's key, or that it is not published. */
type DayResult = (ValidationReport & { readonly reportKey: string }) | { readonly date: string; readonly verdict: 'not published' };

export async function run(argv: readonly string[], { env, io }: CommandContext): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: { date: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, json: { type: 'boolean' } },
  });
  const config = commandConfig(env);
  const days = daysFlags(values);
  const client = await openSource(config);
  try {
    const store = await openLake(config);
    const results: DayResult[] = [];
    for (const day of days) {
      const result = await recheckPartition({ store, client, day, timeZone: config.timeZone });
      results.push(result.published ? { ...result.report, reportKey: result.reportKey } : { date: day.iso, verdict: 'not published' as const });
      if (values.json) {
        io.err(`[${results.length}/${days.length}] ${day.iso} ${results.at(-1)!.verdict}`);
        continue;
      }
      if (!result.published) {
        io.out(`${day.iso}: not published (no ${manifestKey(day)}), nothing to validate`);
        continue;
      }
      // One day: every check. Several: only the failing ones, then each day's verdict.
      for (const c of result.report.checks)
        if (days.length === 1 || !c.passed) io.out(`${c.passed ? 'ok  ' : 'FAIL'} ${c.check}: expected ${c.expected}, got ${c.actual}`);
      io.out(`${day.iso}: ${result.report.verdict} (report: ${result.reportKey})`);
    }
    const count = (verdict: string) => results.filter((r) => r.verdict === verdict).length;
    const ok = count('passed') === days.length;
    if (values.json) printJsonResult(io, { command: 'validate', lake: config.lake.uri, ok }, { days: results });
    else if (days.length > 1) io.out(`${days.length} days: ${count('passed')} passed, ${count('failed')} failed, ${count('not published')} not published`);
    return ok ? 0 : 1;
  } finally {
    await client.end();
  }
}
