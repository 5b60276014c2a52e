/**
 * `npm start`: the whole product on one machine with nothing but Node. Starts an embedded
 * Postgres when DATABASE_URL is unset, seeds 14 days when the source is empty, runs every day
 * that is not already published and up to date into ./lake, and prints the summary, a DuckDB
 * query to read the result and where it wrote the HTML report of the days. A second run finds everything up to date and does no work.
 */
import { readParquetSql, sqlString } from '../duckdb.js';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import type pg from 'pg';
import type { Config } from '../../src/core/config.js';
import { connect } from '../../src/source/connect.js';
import { migrate } from '../../src/source/migrate.js';
import { addDays, dayAt, daysBetween, parseDay, type CalendarDay } from '../../src/core/day.js';
import { seed } from '../../src/source/synthetic/load.js';
import type { KeptPostgres } from '../../dev/embedded-postgres.js';
import { InputError } from '../../src/core/errors.js';
import { dayCurrency } from '../../src/lake/currency.js';
import { readManifest } from '../../src/lake/manifest.js';
import { openStore } from '../../src/lake/open.js';
import type { ObjectStore } from '../../src/lake/store.js';
import { DEFAULT_REPORT_FILE, writeReportPage } from '../../src/monitor/report/index.js';
import { runLocalExecution } from '../../src/pipeline/local-execution.js';
import { sourceDayStates } from '../../src/source/day-state.js';
import { progressPrinter, type CommandContext, type Io } from '../io.js';
import { checkWritableLake, openLake } from '../lake.js';
import { commandConfig } from '../options.js';
import { etlCommand } from '../invocation.js';
import { homeFolder, shownPath } from '../project.js';
import { summaryTable, type DayOutcome } from '../summary.js';

export const DEMO_DAYS = 14;
export const DEMO_RENTALS_PER_DAY = 10_000;
/** The embedded Postgres's data: `.data/postgres` in the project root, whatever subfolder `etl start` runs in. */
function embeddedDataDir(): string {
  return join(homeFolder(), '.data', 'postgres');
}

/** A DuckDB one-liner that reads the lake (for a local-directory lake). */
export function duckdbQuery(config: Config): string {
  const root = config.lake.kind === 'fs' ? relative(process.cwd(), config.lake.root) || '.' : config.lake.uri;
  return (
    `duckdb -c "SELECT year, month, day, count(*) AS rentals, sum(rent_cost) AS revenue ` +
    `FROM ${readParquetSql(sqlString(`${root}/rentals/*/*/*/*.parquet`))} GROUP BY ALL ORDER BY ALL"`
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

/**
 * Splits `days` into those published and current (by the rule the schedule's lookback, `etl
 * status` and `etl validate` use: `dayCurrency`), as skipped outcomes, and the dates to run.
 */
export async function upToDateDays(
  store: ObjectStore,
  client: pg.Client,
  days: readonly CalendarDay[],
  timeZone: string,
): Promise<{ skipped: DayOutcome[]; pending: string[] }> {
  const states = await sourceDayStates(
    client,
    days.map((day) => day.iso),
    timeZone,
  );
  const skipped: DayOutcome[] = [];
  const pending: string[] = [];
  for (const day of days) {
    const published = await readManifest(store, day);
    const state = states.get(day.iso)!;
    if (!published || dayCurrency(published.manifest, state).state !== 'current') {
      pending.push(day.iso);
      continue;
    }
    const m = published.manifest;
    skipped.push({
      date: day.iso,
      verdict: 'skipped',
      sourceRows: state.count,
      writtenRows: m.rows,
      // What the lake holds of the day: its runs' quarantined rows, as a run of it would have said.
      quarantined: m.runs.reduce((n, r) => n + (r.quarantined ?? 0), 0),
      files: m.files.length,
      bytes: m.files.reduce((s, f) => s + f.bytes, 0),
      seconds: 0,
      note: 'published and up to date',
    });
  }
  return { skipped, pending };
}

/** How to go on with the kept Postgres: its DATABASE_URL for the other commands, and how to stop it. */
function printKept(io: Io, kept: KeptPostgres): void {
  io.out('');
  io.out(`The embedded Postgres keeps running (pid ${kept.pid}, data in ${shownPath(embeddedDataDir())}). For the other etl commands, in this shell:`);
  io.out(`  export DATABASE_URL=${kept.url}`);
  io.out(`Stop it with: ${etlCommand()} start --stop`);
}

/** `etl start --stop`: stops the Postgres that `--keep` left running in this directory. */
async function stopKept(io: Io): Promise<number> {
  const { stopKeptPostgres } = await import('../../dev/embedded-postgres.js');
  const stopped = await stopKeptPostgres(embeddedDataDir());
  io.out(
    stopped
      ? `stopped the embedded Postgres in ${shownPath(embeddedDataDir())} (pid ${stopped.pid})`
      : `no embedded Postgres is kept running in ${shownPath(embeddedDataDir())}`,
  );
  return 0;
}

/**
 * `--keep` leaves the embedded Postgres running after the demo (detached, recorded beside its data)
 * and prints its DATABASE_URL; later `etl start`s use it; `--stop` stops it.
 */
export async function run(argv: readonly string[], { env, io }: CommandContext): Promise<number> {
  const { values } = parseArgs({ args: [...argv], strict: true, options: { keep: { type: 'boolean' }, stop: { type: 'boolean' } } });
  if (values.stop) {
    if (values.keep) throw new InputError('stop', 'either --keep or --stop, not both');
    return await stopKept(io);
  }
  // An unwritable lake is said before Postgres starts.
  await checkWritableLake(commandConfig(env));
  let stopPostgres: (() => Promise<void>) | undefined;
  let kept: KeptPostgres | undefined;
  let runEnv = env;
  if (!env.DATABASE_URL) {
    const embedded = await import('../../dev/embedded-postgres.js');
    kept = await embedded.findKeptPostgres(embeddedDataDir());
    if (kept) {
      io.err(`using the embedded Postgres kept running in ${shownPath(embeddedDataDir())} (pid ${kept.pid})`);
    } else if (values.keep) {
      io.err(`starting embedded Postgres in ${shownPath(embeddedDataDir())}, to keep running (set DATABASE_URL to use your own)`);
      kept = await embedded.keepEmbeddedPostgres(embeddedDataDir());
    }
    let url = kept?.url;
    if (url === undefined) {
      io.err(`starting embedded Postgres in ${shownPath(embeddedDataDir())} (set DATABASE_URL to use your own)`);
      const postgres = await embedded.startEmbeddedPostgres(embeddedDataDir(), { log: io.err });
      stopPostgres = postgres.stop;
      url = postgres.url;
    }
    runEnv = { ...env, DATABASE_URL: url };
  } else if (values.keep) {
    io.err('--keep: DATABASE_URL is set, so there is no embedded Postgres to keep');
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

      const store = await openLake(config);
      const { skipped, pending } = await upToDateDays(store, client, days, config.timeZone);
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
    const reported = outcomes.map((o) => parseDay(o.date));
    const report = await writeReportPage(await openStore(config), reported, DEFAULT_REPORT_FILE);
    io.out(`The data-quality report of these days, one page to open in a browser: ${report}`);
    return outcomes.every((o) => o.verdict !== 'failed') ? 0 : 1;
  } finally {
    await stopPostgres?.();
    if (kept) printKept(io, kept);
  }
}
