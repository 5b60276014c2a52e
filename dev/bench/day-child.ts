/**
 * Child of the benchmark that runs one whole day in this process as `etl run` does: the state
 * machine definition the stack deploys, executed locally (`runLocalExecution`) with every stage
 * under the day's lease. Prints a `DayRun` as one JSON line. The benchmark bundles it as a local
 * tool (`bundle.ts`) and runs it with plain node:
 *
 *   node day-child/index.js '{"date":"2025-06-02"}'
 *
 * Reads LAKE_URI, DATABASE_URL and the tuning variables through `loadConfig`.
 */
import { loadConfig } from '../../src/core/config.js';
import { runLocalExecution, type LocalExecutionOptions } from '../../src/pipeline/local-execution.js';
import { STAGE_LIST } from '../../src/pipeline/stages.js';
import { peakRssKb, reportFromChild, rssKb, sampleMemory, type MemoryPeaks } from './measured-child.js';

/** What the child prints. */
export interface DayRun {
  /** From the first task's start (Plan) to the execution's result. */
  readonly seconds: number;
  /** Before the first task: loading the stages and the state machine definition. */
  readonly setupSeconds: number;
  /** Seconds in each stage's task handler (registry name; summed over its calls), in pipeline order. */
  readonly parts: Readonly<Record<string, number>>;
  /** Rows, bytes and files of the published day, as the execution reports them. */
  readonly rows: number;
  readonly bytes: number;
  readonly files: number;
  /** RSS when the first task starts, in KB. */
  readonly baselineRssKb: number;
  readonly peakRssKb: number;
  readonly memoryPeaksKb: MemoryPeaks;
}

async function runDay(date: string): Promise<DayRun> {
  const stopSampling = sampleMemory();
  const config = loadConfig();
  const parts: Record<string, number> = {};
  let firstTask: { at: number; rssKb: number } | undefined;
  // Each task state's handler, timed: the definition runs the stages, this only watches them.
  const handlers: LocalExecutionOptions['handlers'] = Object.fromEntries(
    STAGE_LIST.map((spec) => [
      spec.state,
      (own: (input: unknown) => Promise<unknown>) => async (input: unknown) => {
        firstTask ??= { at: performance.now(), rssKb: rssKb() };
        const started = performance.now();
        try {
          return await own(input);
        } finally {
          parts[spec.name] = (parts[spec.name] ?? 0) + (performance.now() - started) / 1000;
        }
      },
    ]),
  );
  const started = performance.now();
  const result = await runLocalExecution(config, { date }, { concurrency: 1, handlers });
  const finished = performance.now();
  const [day] = result.outcomes;
  if (result.status !== 'SUCCEEDED' || day?.verdict !== 'passed' || !firstTask) {
    throw new Error(`the day did not pass: ${result.error ?? day?.verdict}: ${result.cause ?? day?.error ?? 'no outcome'}`);
  }
  const ordered = Object.fromEntries(STAGE_LIST.filter((spec) => spec.name in parts).map((spec) => [spec.name, parts[spec.name]]));
  return {
    seconds: (finished - firstTask.at) / 1000,
    setupSeconds: (firstTask.at - started) / 1000,
    parts: ordered,
    rows: day.writtenRows ?? 0,
    bytes: day.bytes ?? 0,
    files: day.files ?? 0,
    baselineRssKb: firstTask.rssKb,
    peakRssKb: peakRssKb(),
    memoryPeaksKb: stopSampling(),
  };
}

const { date } = JSON.parse(process.argv[2] ?? '{}') as { date?: string };
if (!date) {
  process.stderr.write(`usage: node day-child.js '{"date":"YYYY-MM-DD"}'\n`);
  process.exitCode = 2;
} else {
  // No top-level await: this file is bundled as CommonJS, like the handlers.
  reportFromChild(runDay(date));
}
