/** `etl db migrate`: creates or updates the source tables. */
import { parseArgs } from 'node:util';
import { migrate } from '../../src/source/migrate.js';
import { InputError } from '../../src/core/errors.js';
import type { CommandContext } from '../io.js';
import { commandConfig } from '../options.js';
import { openSource } from '../source.js';

export async function run(argv: readonly string[], { env, io }: CommandContext): Promise<number> {
  const { positionals } = parseArgs({ args: [...argv], strict: true, allowPositionals: true, options: {} });
  if (positionals.length !== 1 || positionals[0] !== 'migrate') throw new InputError('db', 'the subcommand migrate', positionals.join(' ') || undefined);
  const client = await openSource(commandConfig(env));
  try {
    const applied = await migrate(client);
    io.out(applied.length > 0 ? `applied ${applied.join(', ')}` : 'source schema is up to date');
  } finally {
    await client.end();
  }
  return 0;
}
