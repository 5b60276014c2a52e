/**
 * `npm start`: the whole product on one machine with nothing but Node. Starts an embedded
 * Postgres when DATABASE_URL is unset, seeds 14 days when the source is empty, runs every day
 * that is not already published and up to date into ./lake, and prints the summary and a DuckDB
 * query to read the result. A second run finds everything up to date and does no work.
 */
import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import type { Config } from '../../src/core/config.js';
import { connect } from '../../src/source/connect.js';
import { migrate } from '../../dev/source/migrate.js';
import { addDays, dayAt, daysBetween, parseDay } from '../../src/core/day.js';
import { seed } from '../../dev/source/generator.js';
import { readManifest } from '../../src/lake/manifest.js';
import { openStore } from '../../src/lake/open.js';
import { isUpToDate, sourceState } from '../../src/pipeline/validate/recheck.js';
import { runLocalExecution } from '../../src/pipeline/local-execution.js';
import { progressPrinter, type CommandContext } from '../io.js';
import { commandConfig } from '../options.js';
import { summaryTable, type DayOutcome } from '../summary.js';

export const DEMO_DAYS = 14;
export const DEMO_RENTALS_PER_DAY = 10_000;
const EMBEDDED_DATA_DIR = '.data/postgres';

/** A DuckDB one-liner that reads the lake (for a local-directory lake). */
export function duckdbQuery(config: Config): string {
  const root = config.lake.kind === 'fs' ? relative(process.cwd(), config.lake.root) || '.' : config.lake.uri;
  return (
    `duckdb -c "SELECT year, month, day, count(*) AS rentals, sum(rent_cost) AS revenue ` +
    `FROM read_parquet('${root}/rentals/*/*/*/*.parquet', hive_partitioning = true) GROUP BY ALL ORDER BY ALL"`
  );
}

/** Splits sorted ISO dates into runs of consecutive days. */
export function contiguousRanges(dates: readonly string[]): string[][] {
  const ranges: string[][] = [];
  for (const date of dates) {
    const last = ranges.at(-1)?.at(-1);
    if (last !== undefined && addDays(parseDay(last), 1).iso === date) ranges.at(-1)!.push(date);
    else ranges.push([date]);
  }
  return ranges;
}

export async function run(argv: readonly string[], { env, io }: CommandContext): Promise<number> {
  parseArgs({ args: [...argv], strict: true, options: {} });
  let stopPostgres: (() => Promise<void>) | undefined;
  let runEnv = env;
  if (!env.DATABASE_URL) {
    io.err(`starting embedded Postgres in ${EMBEDDED_DATA_DIR} (set DATABASE_URL to use your own)`);
    const { startEmbeddedPostgres } = await import('../../dev/embedded-postgres.js');
    const postgres = await startEmbeddedPostgres(EMBEDDED_DATA_DIR, { log: io.err });
    stopPostgres = postgres.stop;
    runEnv = { ...env, DATABASE_URL: postgres.url };
  }
  try {
    const config = commandConfig(runEnv);
    const client = await connect(config.databaseUrl!);
    let outcomes: DayOutcome[];
    try {
      await migrate(client);
      const { rows } = await client.query<{ first: Date | null; last: Date | null }>('SELECT min(rent_start) AS first, max(rent_start) AS last FROM rentals');
      let first = rows[0].first;
      let last = rows[0].last;
      if (!first || !last) {
        const yesterday = addDays(dayAt(new Date(), config.timeZone), -1);
        const from = addDays(yesterday, -(DEMO_DAYS - 1));
        io.err(`source is empty: seeding ${DEMO_DAYS} days (${from.iso} to ${yesterday.iso}), ${DEMO_RENTALS_PER_DAY.toLocaleString('en-US')} rentals a day`);
        await seed(client, { from, to: yesterday, rentalsPerDay: DEMO_RENTALS_PER_DAY, timeZone: config.timeZone });
        const seeded = await client.query<{ first: Date; last: Date }>('SELECT min(rent_start) AS first, max(rent_start) AS last FROM rentals');
        first = seeded.rows[0].first;
        last = seeded.rows[0].last;
      }
      const lastDay = dayAt(last, config.timeZone);
      const firstDay = dayAt(first, config.timeZone);
      const earliest = addDays(lastDay, -(DEMO_DAYS - 1));
      const days = daysBetween(firstDay.iso > earliest.iso ? firstDay : earliest, lastDay);

      const store = await openStore(config);
      const skipped: DayOutcome[] = [];
      const pending: string[] = [];
      for (const day of days) {
        const published = await readManifest(store, day);
        const state = await sourceState(client, day, config.timeZone);
        if (published && isUpToDate(published.manifest, state)) {
          const m = published.manifest;
          skipped.push({
            date: day.iso,
            verdict: 'skipped',
            sourceRows: state.count,
            writtenRows: m.rows,
            files: m.files.length,
            bytes: m.files.reduce((s, f) => s + f.bytes, 0),
            seconds: 0,
            note: 'published and up to date',
          });
        } else {
          pending.push(day.iso);
        }
      }
      io.err(`${days.length} days in ${config.lake.uri}: ${skipped.length} up to date, ${pending.length} to run`);
      const ran: DayOutcome[] = [];
      const onDay = progressPrinter(io, pending.length);
      for (const range of contiguousRanges(pending)) {
        const input = range.length === 1 ? { date: range[0] } : { from: range[0], to: range.at(-1) };
        ran.push(...(await runLocalExecution(config, input, { concurrency: 2, onDay })).outcomes);
      }
      outcomes = [...skipped, ...ran].sort((a, b) => (a.date < b.date ? -1 : 1));
    } finally {
      await client.end();
    }
    io.out(summaryTable(outcomes));
    io.out('');
    io.out(`The lake is in ${config.lake.uri}. Read it with DuckDB:`);
    io.out(`  ${duckdbQuery(config)}`);
    return outcomes.every((o) => o.verdict !== 'failed') ? 0 : 1;
  } finally {
    await stopPostgres?.();
  }
}
