/**
 * The stages of a day measured one by one, each in a fresh process (as each runs in its own Lambda
 * container), then the whole day in one process. Each stage is its real Lambda handler
 * (`functions/<name>/index.ts`, bundled as the stack bundles it) run by `handler-child.ts` with the
 * event the state machine would give it; they take, renew and give back the day's lease as in
 * production. The whole day is the deployed definition run locally (`day-child.ts`). The stages
 * share a fresh lake per run (a directory, or a bucket on an S3 endpoint: `lake.ts`), so
 * transform-write reads what extract staged and validate checks what transform-write wrote.
 */
import { join } from 'node:path';
import type { StageKey } from '../../src/pipeline/stages.js';
import { bundle, LOCAL_TOOL_NODE_PATH } from './bundle.js';
import { runJsonChild } from './child-process.js';
import type { DayRun } from './day-child.js';
import type { HandlerJob, HandlerRun } from './handler-child.js';
import type { BenchLake } from './lake.js';
import type { MemoryPeaks } from './measured-child.js';
import { DAY_STAGES, handlerEntry, stageEvent, stageWork, type EarlierOutputs } from './stage-events.js';
import { median, repeated } from './stats.js';

/** The label of the whole day run in one process, beside the stages' registry names. */
export const WHOLE_DAY = 'whole day';
/** How to read the whole day's parts: in one process a range's transform-write runs while its extract reads. */
export const OVERLAP_NOTE =
  "extract and transform-write overlap in one process: extract's time holds most of the transform, transform-write's is what is left after extract";

export interface StageMeasurement {
  /** The stage's registry name (`plan-day`, ...), or `WHOLE_DAY`. */
  readonly stage: string;
  /** Time of the handler call (lease, contract, work); for the whole day, of its execution. */
  readonly seconds: number;
  /** CPU seconds (every thread) of the handler call; absent for the whole day. */
  readonly cpuSeconds?: number;
  /** Rows the stage handled: planned, extracted from the source, written, validated. */
  readonly rows: number;
  /** Bytes the stage produced (staged Arrow IPC, Parquet data files) or covered (the published partition). */
  readonly bytes: number;
  readonly files: number;
  /** Peak RSS of the whole child process, in KB. */
  readonly peakRssKb: number;
  /** RSS once the handler's bundle is loaded, before its call (the whole day: when its first task starts), in KB. */
  readonly baselineRssKb: number;
  /** Where the peak RSS comes from: the largest value of each part of `process.memoryUsage()`. */
  readonly memoryPeaksKb: MemoryPeaks;
  /** The whole day only: seconds in each stage's task handlers, by registry name. */
  readonly parts?: Readonly<Record<string, number>>;
  /** The whole day only: loading the stages and the definition before the first task. */
  readonly setupSeconds?: number;
}

/** A stage measured several times: the run of median time, with the largest peak RSS of all runs. */
export interface RepeatedStageMeasurement extends StageMeasurement {
  /** Seconds of every run, in order. */
  readonly samples: readonly number[];
}

/** The bundles the measurements run. */
export interface StageBundles {
  /** `handler-child.ts`, which runs one handler bundle. */
  readonly handlerChild: string;
  /** `day-child.ts`, which runs the whole day. */
  readonly dayChild: string;
  /** Each stage of the day's handler bundle, by registry key. */
  readonly handlers: Partial<Record<StageKey, string>>;
}

export interface StagesRequest {
  readonly bundles: StageBundles;
  readonly databaseUrl: string;
  readonly date: string;
  /** Where each run's lakes are made: `lake-stages-<run>` and `lake-whole-day-<run>`. */
  readonly lake: BenchLake;
  /** A scratch directory; directory lakes are made under it. */
  readonly workDir: string;
  /** How many times the stages and the whole day run, each time on fresh lakes. */
  readonly repeat: number;
  /** Told before each child starts, with the stage's registry name or `WHOLE_DAY`. */
  readonly onStage?: (stage: string, run: number) => void;
}

export interface StagesMeasurement {
  /** The stages of a day in pipeline order (`DAY_STAGES`). */
  readonly stages: readonly RepeatedStageMeasurement[];
  readonly wholeDay: RepeatedStageMeasurement;
  /** The largest peak of the stages: what the largest function's memory size must hold. */
  readonly maxStagePeakRssKb: number;
}

/** Bundles the handler child (tiny), the day child (a local tool) and the handlers of a day's stages into `dir`. */
export async function bundleStages(dir: string): Promise<StageBundles> {
  const handlers: Partial<Record<StageKey, string>> = {};
  for (const spec of DAY_STAGES) handlers[spec.key] = (await bundle(handlerEntry(spec), join(dir, spec.name))).file;
  return {
    handlerChild: (await bundle('dev/bench/handler-child.ts', join(dir, 'handler-child'))).file,
    dayChild: (await bundle('dev/bench/day-child.ts', join(dir, 'day-child'), { localTool: true })).file,
    handlers,
  };
}

/** The environment of a measured child: NODE_OPTIONS cleared, so no loader or flag of the parent's reaches it. */
const childEnv = (env: Record<string, string>) => ({ ...env, NODE_OPTIONS: '' });

/** Runs the handler of stage `key` once in a fresh process. */
async function runHandler(bundles: StageBundles, key: StageKey, event: unknown, env: Record<string, string>): Promise<HandlerRun> {
  const handler = bundles.handlers[key];
  if (!handler) throw new Error(`no handler bundle for stage ${key}`);
  const job: HandlerJob = { event, calls: 1 };
  return runJsonChild<HandlerRun>(bundles.handlerChild, [handler, JSON.stringify(job)], { env: childEnv(env) });
}

/** The run of median time, carrying the median seconds and the largest peak RSS (with its breakdown) of all runs. */
function summarise(runs: readonly StageMeasurement[]): RepeatedStageMeasurement {
  const samples = runs.map((r) => r.seconds);
  const typical = [...runs].sort((a, b) => a.seconds - b.seconds)[(runs.length - 1) >> 1];
  const largest = runs.reduce((a, b) => (b.peakRssKb > a.peakRssKb ? b : a));
  const cpu = runs.map((r) => r.cpuSeconds);
  const cpuSeconds = cpu.every((c) => c !== undefined) ? median(cpu as number[]) : undefined;
  return { ...typical, seconds: median(samples), cpuSeconds, peakRssKb: largest.peakRssKb, memoryPeaksKb: largest.memoryPeaksKb, samples };
}

/** One run: each stage of the day in a fresh process, chained by their outputs on a fresh lake, then the whole day in one. */
async function runDay(request: StagesRequest, run: number): Promise<{ stages: StageMeasurement[]; wholeDay: StageMeasurement }> {
  const { date, bundles, lake } = request;
  // The children read LAKE_URI, DATABASE_URL and, for an S3 lake, the endpoint and credentials from their environment.
  const env = { ...lake.env, DATABASE_URL: request.databaseUrl, LAKE_URI: await lake.create(`lake-stages-${run}`, request.workDir) };
  const outputs: EarlierOutputs = {};
  const stages: StageMeasurement[] = [];
  for (const spec of DAY_STAGES) {
    request.onStage?.(spec.name, run);
    const measured = await runHandler(bundles, spec.key, stageEvent(spec.key, date, outputs), env);
    outputs[spec.key] = measured.output;
    stages.push({
      stage: spec.name,
      seconds: measured.callMs[0] / 1000,
      cpuSeconds: measured.callCpuMs[0] / 1000,
      ...stageWork(spec.key, measured.output),
      peakRssKb: measured.peakRssKb,
      baselineRssKb: measured.baselineRssKb,
      memoryPeaksKb: measured.memoryPeaksKb,
    });
  }
  const wholeDayLake = await lake.create(`lake-whole-day-${run}`, request.workDir);
  request.onStage?.(WHOLE_DAY, run);
  const day = await runJsonChild<DayRun>(bundles.dayChild, [JSON.stringify({ date })], {
    env: childEnv({ ...env, LAKE_URI: wholeDayLake, NODE_PATH: LOCAL_TOOL_NODE_PATH }),
  });
  return { stages, wholeDay: { stage: WHOLE_DAY, ...day } };
}

/**
 * Measures the stages `request.repeat` times; each stage's time is the median of its runs and its
 * peak RSS the largest, which is what a function's memory size must hold.
 */
export async function measureStages(request: StagesRequest): Promise<StagesMeasurement> {
  const runs = await repeated(request.repeat, (run) => runDay(request, run));
  const stages = DAY_STAGES.map((_, i) => summarise(runs.map((r) => r.stages[i])));
  return {
    stages,
    wholeDay: summarise(runs.map((r) => r.wholeDay)),
    maxStagePeakRssKb: Math.max(...stages.map((s) => s.peakRssKb)),
  };
}
