/**
 * `etl clean`: sweeps the lake of what interrupted runs left: days held by runs no longer alive
 * are given back, staging of runs that hold no day goes, and so does any file in a partition
 * folder its manifest does not name; days a live run holds are left alone. On a local disk,
 * temporary files of writes that never finished and empty folders go too.
 */
import { parseArgs } from 'node:util';
import { icebergUpkeepOf } from '../../src/lake/iceberg/upkeep.js';
import { UNFINISHED_WRITE_AGE_MS } from '../../src/lake/store.js';
import { cleanLake } from '../../src/lake/sweep.js';
import type { CommandContext } from '../io.js';
import { openLake } from '../lake.js';
import { cliLiveness } from '../liveness.js';
import { commandConfig } from '../options.js';

export async function run(argv: readonly string[], { env, io }: CommandContext): Promise<number> {
  parseArgs({ args: [...argv], strict: true, options: {} });
  const config = commandConfig(env);
  const store = await openLake(config);
  const outcome = await cleanLake(store, { liveness: await cliLiveness(), iceberg: icebergUpkeepOf(config) });
  const temporary = (await store.sweepTemporaryFiles?.(UNFINISHED_WRITE_AGE_MS)) ?? 0;
  io.out(
    `cleaned ${store.location.uri}: ${outcome.removed.length} leftover file(s) removed` +
      (temporary ? `, ${temporary} unfinished temporary file(s)` : '') +
      (outcome.unlocked.length ? `; gave back ${outcome.unlocked.join(', ')}` : '') +
      (outcome.held.length ? `; left ${outcome.held.join(', ')} to the live runs holding them` : ''),
  );
  return 0;
}
