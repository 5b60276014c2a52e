/**
 * What `etl run` and `etl backfill` share once their flags are valid: an execution of the state
 * machine definition in this process, its progress and the summary table. Commands import this
 * module only then, as it loads the whole pipeline (handlers, Parquet, the AWS SDK).
 */
import type { Config } from '../src/core/config.js';
import { DAYS_FAILED_ERROR } from '../src/pipeline/definition.js';
import { runLocalExecution } from '../src/pipeline/local-execution.js';
import { progressPrinter, type Io } from './io.js';
import { printJsonResult } from './json.js';
import { etlCommand } from './invocation.js';
import { checkLake, checkWritableLake } from './lake.js';
import type { StageLogLevel } from './options.js';
import { openSource } from './source.js';
import { driftLine, summaryTable } from './summary.js';
import { RENTALS } from '../src/core/tables.js';
import { describeUndeclared, undeclaredSourceColumns } from '../src/source/source-columns.js';

/** How a run reports, besides its progress on stderr. */
export interface ReportOptions {
  /** The command running (`run`, `backfill`), for the `--json` envelope. */
  readonly command?: string;
  /** The outcome as one JSON document on stdout instead of the table (`--json`). */
  readonly json?: boolean;
  /** No progress lines (`--quiet`; the stages' level comes with `logLevel`). */
  readonly quiet?: boolean;
  /** The least severe level of the stages' log lines. */
  readonly logLevel?: StageLogLevel;
}

/** Runs `input` locally with `concurrency` days at once and prints the outcome; returns the exit code. */
export async function runAndReport(
  config: Config,
  io: Io,
  input: Record<string, unknown>,
  /** Days the input runs, for the progress lines; undefined when the plan decides (the schedule's input). */
  days: number | undefined,
  concurrency: number,
  options: ReportOptions = {},
): Promise<number> {
  // An unreachable source or lake is a configuration error before anything runs, not a failed day.
  const client = await openSource(config);
  const undeclared = await undeclaredSourceColumns(client, [RENTALS]).finally(() => client.end());
  await checkLake(config);
  await checkWritableLake(config);
  // Ctrl-C stops the run cleanly: the days in flight are swept and given back, exit 130. Twice: at once.
  const interrupt = new AbortController();
  const onSigint = () => {
    if (interrupt.signal.aborted) process.exit(130);
    interrupt.abort();
  };
  process.on('SIGINT', onSigint);
  const waiting = new Map<string, string>();
  let result: Awaited<ReturnType<typeof runLocalExecution>>;
  try {
    result = await runLocalExecution(config, input, {
      concurrency,
      onDay: options.quiet ? undefined : progressPrinter(io, days),
      logLine: (line) => io.err(line.replace(/\n$/, '')),
      logLevel: options.logLevel,
      signal: interrupt.signal,
      onBusy: (date, holder) => {
        if (waiting.get(date) === holder) return;
        waiting.set(date, holder);
        io.err(`  ${date} waiting: ${holder.replace(/^partition \S+ is busy: /, '')}`);
      },
    });
  } finally {
    process.off('SIGINT', onSigint);
  }
  if (result.status === 'ABORTED') {
    const given = result.interrupted ?? [];
    io.err(
      `etl: interrupted; ${given.length === 0 ? 'no day was in flight' : `gave back ${given.join(', ')} (unpublished files removed)`}; published days stay`,
    );
    return 130;
  }
  const executionError = result.status === 'FAILED' && result.error !== DAYS_FAILED_ERROR ? { error: result.error, cause: result.cause } : {};
  if (options.json) {
    const drift = undeclared.length > 0 ? { undeclaredColumns: undeclared.map(describeUndeclared) } : {};
    printJsonResult(
      io,
      { command: options.command ?? 'run', lake: config.lake.uri, ok: result.status === 'SUCCEEDED' },
      { status: result.status, days: result.outcomes, ...drift, ...executionError },
    );
  } else {
    io.out(summaryTable(result.outcomes));
    if (undeclared.length > 0) io.out(driftLine(undeclared));
    io.out('');
    const first = result.outcomes.find((o) => o.verdict === 'passed')?.date;
    io.out(`The lake is in ${config.lake.uri}${first ? ` (the files of a day: ${etlCommand()} read --date ${first})` : ''}.`);
  }
  if (executionError.error) io.err(`etl: execution failed: ${executionError.error}: ${executionError.cause}`);
  return result.status === 'SUCCEEDED' ? 0 : 1;
}
