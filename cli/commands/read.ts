/**
 * `etl read --date D | --from D --to D [--sql]`: the published files of days (what their manifests
 * name), one per line, or one DuckDB query over exactly those files. Exit 1 when a day is not
 * published, with or without --sql (as `etl validate`).
 */
import { parseArgs } from 'node:util';
import { manifestKey } from '../../src/lake/layout.js';
import { readManifest } from '../../src/lake/manifest.js';
import type { CommandContext } from '../io.js';
import { openLake } from '../lake.js';
import { readParquetSql, sqlString } from '../duckdb.js';
import { commandConfig, daysFlags } from '../options.js';

export async function run(argv: readonly string[], { env, io }: CommandContext): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: { date: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, sql: { type: 'boolean' } },
  });
  const config = commandConfig(env);
  const days = daysFlags(values);
  const store = await openLake(config);
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
    if (uris.length === 0) {
      io.err(
        `etl read: no published day ${days.length === 1 ? `on ${days[0].iso}` : `from ${days[0].iso} to ${days.at(-1)!.iso}`}: nothing to query (run the days first)`,
      );
      return 1;
    }
    io.out(`SELECT * FROM ${readParquetSql(`[${uris.map(sqlString).join(', ')}]`)}`);
  } else {
    for (const uri of uris) io.out(uri);
  }
  return missing === 0 ? 0 : 1;
}
