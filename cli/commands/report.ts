/**
 * `etl report [--from D --to D] [--out FILE]`: the HTML data-quality report of the days (every day
 * the lake holds without dates), one file that opens offline; prints its path.
 */
import { access, constants, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { InputError } from '../../src/core/errors.js';
import { DEFAULT_REPORT_FILE, writeReportPage } from '../../src/monitor/report/index.js';
import type { CommandContext } from '../io.js';
import { openLake } from '../lake.js';
import { commandConfig, daysFlags } from '../options.js';

/** Refuses `--out` in a folder that does not exist or cannot be written, before any work. */
async function checkWritableFile(file: string): Promise<void> {
  const folder = dirname(resolve(file));
  try {
    if (!(await stat(folder)).isDirectory()) throw new InputError('out', 'a file in an existing folder', `${file} (${folder} is not a folder)`);
    await access(folder, constants.W_OK);
  } catch (error) {
    if (error instanceof InputError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError('out', 'a file in an existing, writable folder', `${file} (${folder}: ${code === 'ENOENT' ? 'no such folder' : code})`);
  }
}

export async function run(argv: readonly string[], { env, io }: CommandContext): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: { from: { type: 'string' }, to: { type: 'string' }, out: { type: 'string' } },
  });
  const config = commandConfig(env);
  const days = values.from === undefined && values.to === undefined ? undefined : daysFlags(values);
  const out = values.out ?? DEFAULT_REPORT_FILE;
  await checkWritableFile(out);
  const store = await openLake(config);
  const path = await writeReportPage(store, days, out);
  io.out(path);
  return 0;
}
