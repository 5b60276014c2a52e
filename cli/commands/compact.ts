/**
 * `etl compact [--date D | --from D --to D] [--json]`: rewrites each published day's files into
 * files of `ROWS_PER_FILE` rows, without the source, under the day's lease and the staged publish
 * (every row kept: checked by counts and a content digest before the commit). Every published day
 * when no date is given. A day already in as few files as its rows need is left alone. Exit code 0
 * when every day was compacted or needed none; 1 when a day was busy or failed.
 */
import { parseArgs } from 'node:util';
import { EtlError } from '../../src/core/errors.js';
import { parseDay } from '../../src/core/day.js';
import { dateOfManifestKey, MANIFESTS_PREFIX } from '../../src/lake/layout.js';
import { icebergUpkeepOf } from '../../src/lake/iceberg/upkeep.js';
import { LakeSession } from '../../src/lake/session.js';
import { compactDay } from '../../src/pipeline/compact/run-compaction.js';
import type { CompactOutcome } from '../../src/pipeline/compact/compact.js';
import type { CommandContext } from '../io.js';
import { printJsonResult } from '../json.js';
import { openLake } from '../lake.js';
import { commandConfig, daysFlags } from '../options.js';
import { formatBytes } from '../summary.js';

type DayResult = CompactOutcome | { readonly date: string; readonly error: string };

export async function run(argv: readonly string[], { env, io }: CommandContext): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: { date: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, json: { type: 'boolean' } },
  });
  const config = commandConfig(env);
  const store = await openLake(config);
  const given = values.date !== undefined || values.from !== undefined || values.to !== undefined;
  const days = given
    ? daysFlags(values)
    : (await store.list(MANIFESTS_PREFIX)).flatMap((o) => {
        const date = dateOfManifestKey(o.key);
        return date ? [parseDay(date)] : [];
      });
  const session = new LakeSession(undefined, icebergUpkeepOf(config));
  const results: DayResult[] = [];
  for (const day of days) {
    try {
      const outcome = await compactDay(session, store, day, {
        rowsPerFile: config.rowsPerFile,
        rowGroupRows: config.rowGroupRows,
        lockTtlMs: config.lockTtlMs,
      });
      results.push(outcome);
      if (values.json) continue;
      if (!outcome.compacted) io.out(`${day.iso}: ${outcome.filesBefore} file(s), ${outcome.rows.toLocaleString('en-US')} rows: nothing to compact`);
      else
        io.out(
          `${day.iso}: ${outcome.filesBefore} files -> ${outcome.filesAfter} (${outcome.rows.toLocaleString('en-US')} rows, ${formatBytes(outcome.bytesBefore)} -> ${formatBytes(outcome.bytesAfter)}, digest ${outcome.digest!.slice(0, 12)}, ${outcome.seconds.toFixed(1)} s)`,
        );
    } catch (error) {
      if (!(error instanceof EtlError)) throw error;
      results.push({ date: day.iso, error: `${error.name}: ${error.message}` });
      if (!values.json) io.err(`${day.iso}: ${error.name}: ${error.message}`);
    }
  }
  const ok = results.every((r) => !('error' in r));
  if (values.json) printJsonResult(io, { command: 'compact', lake: config.lake.uri, ok }, { days: results });
  return ok ? 0 : 1;
}
