/** `etl seed --from D --to D --rentals-per-day N [...]`: fills the source with synthetic rentals. */
import { parseArgs } from 'node:util';
import { seed } from '../../src/source/synthetic/load.js';
import { migrate } from '../../src/source/migrate.js';
import { daysBetween, parseDay } from '../../src/core/day.js';
import { MAX_DAYS_PER_EXECUTION } from '../../src/pipeline/plan/plan.js';
import type { CommandContext } from '../io.js';
import { commandConfig, integerFlag, numberFlag } from '../options.js';
import { openSource } from '../source.js';

export async function run(argv: readonly string[], { env, io }: CommandContext): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      from: { type: 'string' },
      to: { type: 'string' },
      'rentals-per-day': { type: 'string' },
      users: { type: 'string' },
      bikes: { type: 'string' },
      seed: { type: 'string' },
      'error-rate': { type: 'string' },
    },
  });
  const config = commandConfig(env);
  const from = parseDay(values.from, 'from');
  const to = parseDay(values.to, 'to');
  daysBetween(from, to, MAX_DAYS_PER_EXECUTION);
  const options = {
    from,
    to,
    rentalsPerDay: integerFlag(values['rentals-per-day'], 'rentals-per-day', 0, 10_000_000),
    users: values.users === undefined ? undefined : integerFlag(values.users, 'users', 1, 10_000_000),
    bikes: values.bikes === undefined ? undefined : integerFlag(values.bikes, 'bikes', 1, 1_000_000),
    seed: values.seed === undefined ? undefined : integerFlag(values.seed, 'seed', 0, 2 ** 31 - 1),
    errorRate: numberFlag(values['error-rate'], 'error-rate', 0, 1),
    timeZone: config.timeZone,
  };
  const client = await openSource(config);
  try {
    await migrate(client);
    const summary = await seed(client, options, (p) => io.err(`seeded ${p.day}: ${p.rows.toLocaleString('en-US')} rentals`));
    io.out(
      `seeded ${summary.rentals.toLocaleString('en-US')} rentals over ${summary.days} day(s), ${summary.users} users, ${summary.bikes} bikes in ${summary.seconds.toFixed(1)} s`,
    );
  } finally {
    await client.end();
  }
  return 0;
}
