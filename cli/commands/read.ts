/**
 * `etl read --date D | --from D --to D [--sql]`: the published files of days (what their manifests
 * name), one per line, or one DuckDB query over exactly those files.
 */
import { parseArgs } from 'node:util';
import { manifestKey } from '../../src/lake/layout.js';
import { readManifest } from '../../src/lake/manifest.js';
import { openStore } from '../../src/lake/open.js';
import type { CommandContext } from '../io.js';
import { commandConfig, daysFlags } from '../options.js';

export async function run(argv: readonly string[], { env, io }: CommandContext): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: { date: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, sql: { type: 'boolean' } },
  });
  const config = commandConfig(env);
  const days = daysFlags(values);
  const store = await openStore(config);
  let missing = 0;
  const uris: string[] = [];
  for (const day of days) {
    const published = await readManifest(store, day);
    if (!published) {
      io.err(`${day.iso}: not published (no ${manifestKey(day)})`);
      missing++;
      continue;
    }
    for (const file of published.manifest.files) uris.push(`${store.location.uri}/${file.key}`);
  }
  if (values.sql) {
    const list = uris.map((u) => `'${u.replace(/'/g, "''")}'`).join(', ');
    io.out(`SELECT * FROM read_parquet([${list}], hive_partitioning = true)`);
  } else {
    for (const uri of uris) io.out(uri);
  }
  return missing === 0 ? 0 : 1;
}
