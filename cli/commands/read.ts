/**
 * `etl read --date D | --from D --to D [--sql] [--as-of TIMESTAMP | --iceberg]`: the published files
 * of days (what their manifests name), one per line, or one DuckDB query over exactly those files.
 * Exit 1 when a day is not published, with or without --sql (as `etl validate`). `--as-of` takes the
 * files from the Iceberg snapshot of `rentals` that was current at that instant (time travel, while
 * its files exist); `--iceberg --sql` prints a query over the Iceberg table itself (DuckDB's
 * `iceberg_scan`).
 */
import { parseArgs } from 'node:util';
import { icebergMetadataLocationOf } from '../../src/lake/iceberg/lake-sync.js';
import { filesAsOf } from '../../src/lake/iceberg/table-reads.js';
import { manifestKey, rentalsPartitionPrefix } from '../../src/lake/layout.js';
import { readManifest } from '../../src/lake/manifest.js';
import { RENTALS } from '../../src/core/tables.js';
import type { CommandContext } from '../io.js';
import { openLake } from '../lake.js';
import { readParquetSql, sqlString } from '../duckdb.js';
import { commandConfig, daysFlags } from '../options.js';

export async function run(argv: readonly string[], { env, io }: CommandContext): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      date: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      sql: { type: 'boolean' },
      'as-of': { type: 'string' },
      iceberg: { type: 'boolean' },
    },
  });
  const config = commandConfig(env);
  const days = daysFlags(values);
  const store = await openLake(config);
  if (values.iceberg || values['as-of'] !== undefined) return readIceberg(store, days, values, io);
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

/** `etl read --iceberg` and `--as-of`: the days as the Iceberg table of `rentals` has them. */
async function readIceberg(
  store: Awaited<ReturnType<typeof openLake>>,
  days: ReturnType<typeof daysFlags>,
  values: { sql?: boolean; 'as-of'?: string; iceberg?: boolean },
  io: CommandContext['io'],
): Promise<number> {
  const asOf = values['as-of'] === undefined ? new Date() : new Date(values['as-of']);
  if (Number.isNaN(asOf.getTime())) {
    io.err(`etl read: --as-of: expected an ISO timestamp (2025-06-02T12:00:00Z), got ${JSON.stringify(values['as-of'])}`);
    return 2;
  }
  const found = await filesAsOf(store, RENTALS.name, asOf);
  if (!found) {
    io.err(`etl read: no snapshot of ${RENTALS.name} was current at ${asOf.toISOString()} (before the first commit, or expired)`);
    return 2;
  }
  const uris = days.flatMap((day) => found.keys.filter((key) => key.startsWith(rentalsPartitionPrefix(day))).map((key) => `${store.location.uri}/${key}`));
  if (values.sql && values.iceberg && values['as-of'] === undefined) {
    const location = await icebergMetadataLocationOf(store, RENTALS.name);
    const filter = days.map((d) => `(year = ${d.year} AND month = ${d.month} AND day = ${d.day})`).join(' OR ');
    io.out(`SELECT * FROM iceberg_scan(${sqlString(location ?? '')}) WHERE ${filter}`);
    return 0;
  }
  if (values.sql) {
    if (uris.length === 0) {
      io.err(`etl read: no file of these days in the snapshot of ${new Date(found.snapshot['timestamp-ms']).toISOString()}`);
      return 2;
    }
    io.out(`SELECT * FROM ${readParquetSql(`[${uris.map(sqlString).join(', ')}]`)}`);
  } else {
    for (const uri of uris) io.out(uri);
  }
  return 0;
}
