/**
 * `etl verify [--date D | --from D --to D] [--json] [--repair]`: compares published days (every
 * one the lake holds without dates) with the source as it is now, by content (`pipeline/verify`),
 * without writing to the lake. Exit 0 when every published day equals the source; 1 naming each
 * differing day with its rows missing, extra and changed. `--repair` republishes those days
 * through the normal local execution (same lease and publish protocol) and compares them again.
 */
import { parseArgs } from 'node:util';
import { parseDay, type CalendarDay } from '../../src/core/day.js';
import { dateOfManifestKey, MANIFESTS_PREFIX } from '../../src/lake/layout.js';
import type { ObjectStore } from '../../src/lake/store.js';
import { verifyDays, type DayDifference, type VerifyResult } from '../../src/pipeline/verify/verify.js';
import type { CommandContext } from '../io.js';
import { printJsonResult } from '../json.js';
import { openLake } from '../lake.js';
import { commandConfig, daysFlags } from '../options.js';
import { openSource } from '../source.js';

const differs = (r: VerifyResult): r is DayDifference => 'equal' in r && !r.equal;

/** Every day the lake holds a partition of, oldest first. */
async function publishedDays(store: ObjectStore): Promise<CalendarDay[]> {
  const dates = (await store.list(MANIFESTS_PREFIX)).flatMap((o) => dateOfManifestKey(o.key) ?? []);
  return dates.sort().map((date) => parseDay(date));
}

function describe(d: DayDifference): string {
  const n = (x: number) => x.toLocaleString('en-US');
  return `${d.date}: differs: ${n(d.missing)} missing, ${n(d.extra)} extra, ${n(d.changed)} changed (source ${n(d.sourceRows)} rows, lake ${n(d.lakeRows)})`;
}

export async function run(argv: readonly string[], { env, io }: CommandContext): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: { date: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, json: { type: 'boolean' }, repair: { type: 'boolean' } },
  });
  const config = commandConfig(env);
  const ranged = values.date !== undefined || values.from !== undefined || values.to !== undefined;
  const store = await openLake(config);
  const days = ranged ? daysFlags(values) : await publishedDays(store);
  const client = await openSource(config);
  const verify = (which: readonly CalendarDay[]) =>
    verifyDays({ store, client, timeZone: config.timeZone, batchRows: config.batchRows }, which, (r) => {
      if (!values.json && differs(r)) io.out(describe(r));
    });
  let results: VerifyResult[];
  let repaired: VerifyResult[] | undefined;
  try {
    results = await verify(days);
    const differing = results.filter(differs);
    if (values.repair && differing.length > 0) {
      const { runLocalExecution } = await import('../../src/pipeline/local-execution.js');
      for (const day of differing) {
        const outcome = await runLocalExecution(
          config,
          { date: day.date },
          { concurrency: 1, logLine: (line) => io.err(line.replace(/\n$/, '')), logLevel: 'WARN' },
        );
        io.err(`${day.date}: republished (${outcome.status === 'SUCCEEDED' ? 'passed' : `failed: ${outcome.outcomes[0]?.error ?? outcome.cause}`})`);
      }
      repaired = await verify(differing.map((d) => parseDay(d.date)));
    }
  } finally {
    await client.end();
  }
  const compared = results.filter((r) => 'equal' in r).length;
  const stillDiffer = (repaired ?? results).filter(differs);
  if (values.json) {
    printJsonResult(io, { command: 'verify', lake: config.lake.uri, ok: stillDiffer.length === 0 }, { days: results, ...(repaired ? { repaired } : {}) });
  } else {
    const unpublished = results.length - compared;
    const differing = results.filter(differs).length;
    io.out(
      `${compared} published days compared with the source: ${compared - differing} equal, ${differing} differ` +
        (unpublished > 0 ? ` (${unpublished} not published, not compared)` : '') +
        (repaired ? `; after --repair ${stillDiffer.length} differ` : ''),
    );
  }
  return stillDiffer.length === 0 ? 0 : 1;
}
