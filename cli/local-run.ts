/**
 * What `etl run` and `etl backfill` share once their flags are valid: an execution of the state
 * machine definition in this process, its progress and the summary table. Commands import this
 * module only then, as it loads the whole pipeline (handlers, Parquet, the AWS SDK).
 */
import type { Config } from '../src/core/config.js';
import { DAYS_FAILED_ERROR } from '../src/pipeline/definition.js';
import { runLocalExecution } from '../src/pipeline/local-execution.js';
import { progressPrinter, type Io } from './io.js';
import { openSource } from './source.js';
import { summaryTable } from './summary.js';

/** Runs `input` locally with `concurrency` days at once and prints the outcome; returns the exit code. */
export async function runAndReport(config: Config, io: Io, input: Record<string, unknown>, days: number, concurrency: number): Promise<number> {
  // An unreachable source is a configuration error before anything runs, not a failed day.
  const client = await openSource(config);
  await client.end();
  const result = await runLocalExecution(config, input, { concurrency, onDay: progressPrinter(io, days) });
  io.out(summaryTable(result.outcomes));
  if (result.status === 'FAILED' && result.error !== DAYS_FAILED_ERROR) io.err(`etl: execution failed: ${result.error}: ${result.cause}`);
  return result.status === 'SUCCEEDED' ? 0 : 1;
}
