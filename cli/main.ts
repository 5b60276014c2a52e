/**
 * `etl`: the command line of the pipeline.
 *
 *   etl db migrate
 *   etl seed --from D1 --to D2 --rentals-per-day N [--users N] [--bikes N] [--seed S] [--error-rate R]
 *   etl run --date D [--mode overwrite|append]
 *   etl backfill --from D1 --to D2 [--mode overwrite|append] [--concurrency N]
 *   etl validate --date D
 *   etl read --date D | --from D1 --to D2 [--sql]
 *   etl start
 *
 * Exit codes: 0 every day validated, 1 a day failed, 2 bad input or configuration (nothing written).
 */
import { parseArgs } from 'node:util';
import type pg from 'pg';
import { loadConfig, requireDatabaseUrl, type Config } from '../src/core/config.js';
import { connect } from '../src/source/connect.js';
import { migrate } from '../dev/source/migrate.js';
import { daysBetween, parseDay, type CalendarDay } from '../src/core/day.js';
import { ConfigError, EtlError, InputError } from '../src/core/errors.js';
import { planRun } from '../src/pipeline/plan/plan.js';
import { MAX_DAYS_PER_EXECUTION } from '../src/pipeline/plan/handler.js';
import { seed } from '../dev/source/generator.js';
import { manifestKey } from '../src/lake/layout.js';
import { readManifest } from '../src/lake/manifest.js';
import { openStore, type ObjectStore } from '../src/lake/store.js';
import { recheckPartition } from '../src/pipeline/validate/recheck.js';
import { runLocalExecution } from '../src/pipeline/local-execution.js';
import { summaryTable, type DayOutcome } from './summary.js';
import { startCommand } from './start.js';

const USAGE = `usage: etl <command> [options]
  db migrate                                  create or update the source tables
  seed --from D --to D --rentals-per-day N    fill the source with synthetic rentals
       [--users N] [--bikes N] [--seed S] [--error-rate R]
  run --date D [--mode overwrite|append]      extract, transform, validate and publish one day
  backfill --from D --to D [--mode M] [--concurrency N]
  validate --date D                           re-check a published day against the source now
  read --date D | --from D --to D [--sql]     list the published Parquet files of days (or a DuckDB query)
  start                                       demo: embedded Postgres, 14 seeded days, ./lake
Dates are YYYY-MM-DD. Configuration comes from the environment (see README).`;

/** Prints to stdout (results) and stderr (progress); swapped in tests. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
}

const consoleIo: Io = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) };

function integerFlag(value: string | undefined, field: string, min: number, max: number, fallback?: number): number {
  if (value === undefined) {
    if (fallback === undefined) throw new InputError(field, `an integer from ${min} to ${max}`);
    return fallback;
  }
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new InputError(field, `an integer from ${min} to ${max}`, value);
  return n;
}

function numberFlag(value: string | undefined, field: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new InputError(field, `a number from ${min} to ${max}`, value);
  return n;
}

/** Connects and checks the source has the tables; an unreachable database is a configuration error. */
async function openSource(config: Config): Promise<pg.Client> {
  const url = requireDatabaseUrl(config);
  try {
    return await connect(url);
  } catch (error) {
    const target = new URL(url);
    throw new ConfigError('DATABASE_URL', 'a reachable Postgres (postgres://user:password@host:port/database)', `${target.hostname}:${target.port || 5432}${target.pathname}: ${(error as Error).message}`);
  }
}

/** Prints a day's outcome as it finishes: the progress line of a run. */
export function progressPrinter(io: Io, total: number): (outcome: DayOutcome) => void {
  let done = 0;
  return (o) => io.err(`[${++done}/${total}] ${o.date} ${o.verdict}${o.error ? `: ${o.error}` : ''} (${o.seconds === undefined ? '-' : o.seconds.toFixed(1)} s)`);
}

/**
 * Runs an execution of the deployed state machine definition in this process, prints progress
 * and the summary table; returns the exit code.
 */
async function runAndReport(config: Config, io: Io, input: Record<string, unknown>, days: number, concurrency: number): Promise<number> {
  const client = await openSource(config);
  await client.end();
  const result = await runLocalExecution(config, input, { concurrency, onDay: progressPrinter(io, days) });
  io.out(summaryTable(result.outcomes));
  if (result.status === 'FAILED' && result.error !== 'DaysFailed') io.err(`etl: execution failed: ${result.error}: ${result.cause}`);
  return result.status === 'SUCCEEDED' ? 0 : 1;
}

function rangeFlags(values: { from?: string; to?: string; date?: string }): CalendarDay[] {
  if (values.date !== undefined) {
    if (values.from !== undefined || values.to !== undefined) throw new InputError('date', 'either --date or --from/--to, not both', values.date);
    return [parseDay(values.date, 'date')];
  }
  return daysBetween(parseDay(values.from, 'from'), parseDay(values.to, 'to'), MAX_DAYS_PER_EXECUTION);
}

/**
 * Prints the published files of `days` (what the manifests name), one per line, or as one DuckDB
 * query over exactly those files with `sql`.
 */
async function listPublished(store: ObjectStore, days: CalendarDay[], io: Io, sql: boolean): Promise<number> {
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
  if (sql) {
    const list = uris.map((u) => `'${u.replace(/'/g, "''")}'`).join(', ');
    io.out(`SELECT * FROM read_parquet([${list}], hive_partitioning = true)`);
  } else {
    for (const uri of uris) io.out(uri);
  }
  return missing === 0 ? 0 : 1;
}

/** Runs one CLI invocation; returns the process exit code. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, io: Io = consoleIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    const { values, positionals } = parseArgs({
      args: [...rest],
      allowPositionals: true,
      strict: true,
      options: {
        date: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        mode: { type: 'string' },
        concurrency: { type: 'string' },
        'rentals-per-day': { type: 'string' },
        users: { type: 'string' },
        bikes: { type: 'string' },
        seed: { type: 'string' },
        'error-rate': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        sql: { type: 'boolean' },
      },
    });
    if (values.help || command === undefined || command === 'help' || command === '--help') {
      io.out(USAGE);
      return command === undefined ? 2 : 0;
    }
    const config = loadConfig(env, { lakeUri: './lake' });
    switch (command) {
      case 'db': {
        if (positionals[0] !== 'migrate') throw new InputError('db', 'the subcommand migrate', positionals[0]);
        const client = await openSource(config);
        try {
          const applied = await migrate(client);
          io.out(applied.length > 0 ? `applied ${applied.join(', ')}` : 'source schema is up to date');
        } finally {
          await client.end();
        }
        return 0;
      }
      case 'seed': {
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
          io.out(`seeded ${summary.rentals.toLocaleString('en-US')} rentals over ${summary.days} day(s), ${summary.users} users, ${summary.bikes} bikes in ${summary.seconds.toFixed(1)} s`);
        } finally {
          await client.end();
        }
        return 0;
      }
      case 'run': {
        const plan = planRun({ date: values.date, mode: values.mode }, { timeZone: config.timeZone, maxDays: 1 });
        return await runAndReport(config, io, { date: plan.dates[0], mode: plan.mode }, 1, 1);
      }
      case 'backfill': {
        const plan = planRun({ from: values.from, to: values.to, mode: values.mode }, { timeZone: config.timeZone, maxDays: MAX_DAYS_PER_EXECUTION });
        const concurrency = integerFlag(values.concurrency, 'concurrency', 1, 64, 2);
        return await runAndReport(config, io, { from: plan.dates[0], to: plan.dates.at(-1), mode: plan.mode }, plan.dates.length, concurrency);
      }
      case 'validate': {
        const day = parseDay(values.date, 'date');
        const client = await openSource(config);
        try {
          const { report, reportKey } = await recheckPartition({ store: await openStore(config), client, day, timeZone: config.timeZone });
          for (const c of report.checks) io.out(`${c.passed ? 'ok  ' : 'FAIL'} ${c.check}: expected ${c.expected}, got ${c.actual}`);
          io.out(`${day.iso}: ${report.verdict} (report: ${reportKey})`);
          return report.verdict === 'passed' ? 0 : 1;
        } finally {
          await client.end();
        }
      }
      case 'read':
        return await listPublished(await openStore(config), rangeFlags(values), io, values.sql === true);
      case 'start':
        return await startCommand(env, io);
      default:
        throw new InputError('command', 'one of db, seed, run, backfill, validate, read, start', command);
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      io.err(`etl: ${error.message}`);
      return 2;
    }
    if (error instanceof TypeError && (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`etl: ${error.message}\n${USAGE}`);
      return 2;
    }
    io.err(`etl: ${error instanceof EtlError ? `${error.name}: ` : ''}${(error as Error).message ?? String(error)}`);
    return 1;
  }
}
