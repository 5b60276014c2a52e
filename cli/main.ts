/**
 * `etl`: the command line of the pipeline. Each command is a module of `commands/`, loaded only
 * when it runs, that reads its own flags (an unknown flag is an error naming it).
 *
 * Exit codes: 0 every day validated, 1 a day failed (or, for read and validate, is not published), 2 bad
 * input or configuration (nothing written).
 */
import { ConfigError, EtlError, InputError } from '../src/core/errors.js';
import { consoleIo, type CommandContext, type Io } from './io.js';

export type { Io } from './io.js';

const USAGE = `usage: etl <command> [options]
  db migrate                                  create or update the source tables
  seed --from D --to D --rentals-per-day N    fill the source with synthetic rentals
       [--users N] [--bikes N] [--seed S] [--error-rate R]
  run --date D [--mode overwrite|append]      extract, transform, validate and publish one day
  run --scheduled [--at TIMESTAMP]            what the daily schedule runs: yesterday, and the stale days before it
  backfill --from D --to D | --dates D1,D2,... [--mode M] [--concurrency N]
       run and backfill: [--json] the outcome as JSON on stdout; [--quiet] no progress, only warnings
  validate --date D | --from D --to D [--json]
                                              re-check published days against the source now
  verify [--date D | --from D --to D] [--json] [--repair]
                                              compare published days with the source by content; --repair republishes those that differ
  compact [--date D | --from D --to D] [--json]
                                              rewrite published days into files of ROWS_PER_FILE rows
  read --date D | --from D --to D [--sql]     list the published Parquet files of days (or a DuckDB query)
       [--as-of TIMESTAMP] the files of the Iceberg snapshot current then; [--iceberg --sql] an iceberg_scan query
  status [--date D | --from D --to D] [--json]
                                              each day at a glance: published, stale, locked, last verdict
  status --tables [--json]                    the Iceberg tables: current metadata location and snapshot
  report [--from D --to D] [--out FILE]       an HTML data-quality report with charts (one file, opens offline)
  unlock --date D [--force]                   give back a day a killed run still holds (refused while it lives)
  clean                                       sweep what interrupted runs left (staging, unpublished files)
  start [--keep | --stop]                     demo: embedded Postgres, 14 seeded days, ./lake;
                                              --keep leaves Postgres running (prints its DATABASE_URL); --stop stops it
  remote --date D | --from D --to D [--mode M] [--wait-minutes N] [--stack NAME] [--localstack]
                                              run days on the deployed stack (AWS, or LocalStack)
Dates are YYYY-MM-DD. Configuration comes from the environment (see README); POWERTOOLS_LOG_LEVEL
(DEBUG, INFO, WARN, ERROR; default INFO) sets how much the stages log to stderr.`;

type Command = { run(argv: readonly string[], context: CommandContext): Promise<number> };

/** Every command, loaded when it runs. */
const COMMANDS: Readonly<Record<string, () => Promise<Command>>> = {
  db: () => import('./commands/db.js'),
  seed: () => import('./commands/seed.js'),
  run: () => import('./commands/run.js'),
  backfill: () => import('./commands/backfill.js'),
  validate: () => import('./commands/validate.js'),
  verify: () => import('./commands/verify.js'),
  compact: () => import('./commands/compact.js'),
  read: () => import('./commands/read.js'),
  status: () => import('./commands/status.js'),
  report: () => import('./commands/report.js'),
  unlock: () => import('./commands/unlock.js'),
  clean: () => import('./commands/clean.js'),
  start: () => import('./commands/start.js'),
  remote: () => import('./commands/remote.js'),
};

/**
 * `--flag -5` as `--flag=-5`: Node's parser would take `-5` for an option and report an ambiguous
 * argument; joined, the flag's own check names it and its range.
 */
export function withNegativeValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const next = argv[i + 1];
    if (argv[i].startsWith('--') && !argv[i].includes('=') && next !== undefined && /^-\d/.test(next)) {
      out.push(`${argv[i]}=${next}`);
      i++;
    } else out.push(argv[i]);
  }
  return out;
}

/**
 * Refuses a flag given twice (`run --date A --date B`): Node's parser would keep the last one and
 * run a day the user may not have meant. Arguments after `--` are not flags.
 */
export function refuseRepeatedFlags(argv: readonly string[]): void {
  const seen = new Set<string>();
  for (const arg of argv) {
    if (arg === '--') return;
    if (!arg.startsWith('--')) continue;
    const name = arg.slice(2).split('=')[0];
    if (seen.has(name)) throw new InputError(name, `--${name} once, not twice (one flag, one value)`);
    seen.add(name);
  }
}

/** The usage lines of `command` (its forms, without their descriptions), for the hint under a flag error. */
export function commandUsage(command: string | undefined): string {
  const forms = USAGE.split('\n')
    .filter((line) => command !== undefined && line.startsWith(`  ${command} `))
    .map((line) => `etl ${line.trim().split(/\s{2,}/)[0]}`);
  return forms.length === 0 ? 'usage: etl --help' : `usage: ${forms.join(' | ')}   (all commands: etl --help)`;
}

/** Runs one CLI invocation; returns the process exit code. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, io: Io = consoleIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === 'help' || argv.some((arg) => arg === '--help' || arg === '-h')) {
      io.out(USAGE);
      return command === undefined ? 2 : 0;
    }
    if (!Object.hasOwn(COMMANDS, command)) throw new InputError('command', `one of ${Object.keys(COMMANDS).join(', ')}`, command);
    const { run } = await COMMANDS[command]();
    const args = withNegativeValues(rest);
    refuseRepeatedFlags(args);
    return await run(args, { env, io });
  } catch (error) {
    if (error instanceof ConfigError) {
      io.err(`etl: ${error.message}`);
      return 2;
    }
    if (error instanceof TypeError && (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      // Node's first sentence names the flag; the rest is about positionals, which no command takes.
      io.err(`etl: ${error.message.split('. ')[0]}\n${commandUsage(command)}`);
      return 2;
    }
    io.err(`etl: ${error instanceof EtlError ? `${error.name}: ` : ''}${(error as Error).message ?? String(error)}`);
    return 1;
  }
}
