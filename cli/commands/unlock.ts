/**
 * `etl unlock --date D [--force]`: gives back a day a run stopped holding without giving it back
 * (a killed process, a stopped execution), after sweeping what that run left. Refuses while the
 * holder is alive, unless forced. A run of the day does the same by itself when the holder is
 * provably gone; this is for the rest (a holder on another machine whose lease has not run out).
 * On a local disk it also removes the temporary files of writers provably gone (as `etl clean`).
 */
import { parseArgs } from 'node:util';
import { parseDay } from '../../src/core/day.js';
import { describeHolder } from '../../src/lake/lease.js';
import { UNFINISHED_WRITE_AGE_MS } from '../../src/lake/store.js';
import { icebergUpkeepOf } from '../../src/lake/iceberg/upkeep.js';
import { unlockDay } from '../../src/lake/sweep.js';
import type { CommandContext } from '../io.js';
import { openLake } from '../lake.js';
import { cliLiveness } from '../liveness.js';
import { commandConfig } from '../options.js';

export async function run(argv: readonly string[], { env, io }: CommandContext): Promise<number> {
  const { values } = parseArgs({ args: [...argv], strict: true, options: { date: { type: 'string' }, force: { type: 'boolean' } } });
  const day = parseDay(values.date, 'date');
  const config = commandConfig(env);
  const store = await openLake(config);
  const outcome = await unlockDay(store, day, { force: values.force ?? false, liveness: await cliLiveness(), iceberg: icebergUpkeepOf(config) });
  // A killed run's unfinished writes on a local disk: those of a process gone from this host go now.
  const temporary = outcome.kind === 'held' ? 0 : ((await store.sweepTemporaryFiles?.(UNFINISHED_WRITE_AGE_MS)) ?? 0);
  const unfinished = temporary ? `, ${temporary} unfinished temporary file(s)` : '';
  switch (outcome.kind) {
    case 'not-locked':
      io.out(`${day.iso} is not locked${temporary ? ` (removed ${temporary} unfinished temporary file(s))` : ''}`);
      return 0;
    case 'held':
      io.err(`etl unlock: ${day.iso} is held by a live run: ${describeHolder(outcome.lock)}; wait for it, or stop it and use --force`);
      return 1;
    case 'unlocked':
      io.out(
        `${day.iso} unlocked (it was ${describeHolder(outcome.lock).replace(' holds it', ' holding it')}); ${outcome.removed.length - 1} leftover file(s) removed${unfinished}`,
      );
      return 0;
  }
}
