/**
 * This project's stages measured one by one, each in a fresh process (as each runs in its own
 * Lambda container), then the whole day in one process. The child is `stage-child.ts` bundled as a
 * Lambda is (`bundle.ts`) and run by plain `node`, so its peak RSS is what a function would see.
 * Stages share a local-directory lake, so transform-write reads what extract staged and validate
 * checks what transform-write wrote.
 */
import { join } from 'node:path';
import type { ExtractResult } from '../../src/pipeline/extract/extract.js';
import type { DayPlan } from '../../src/pipeline/plan-day/plan-day.js';
import type { TransformResult } from '../../src/pipeline/transform-write/transform.js';
import type { ValidateResult } from '../../src/pipeline/validate/validate.js';
import { bundle } from './bundle.js';
import { runJsonChild } from './child-process.js';
import { median, repeated } from './stats.js';

export type StageName = 'plan-day' | 'extract' | 'transform-write' | 'validate' | 'whole-day';

/** What a stage child is asked to do (its only argument, as JSON). */
export type StageJob =
  | { readonly stage: 'plan-day'; readonly date: string }
  | { readonly stage: 'extract'; readonly date: string; readonly plan: DayPlan }
  | { readonly stage: 'transform-write'; readonly date: string; readonly extract: ExtractResult }
  | { readonly stage: 'validate'; readonly date: string; readonly plan: DayPlan; readonly transform: TransformResult }
  | { readonly stage: 'whole-day'; readonly date: string };

export interface StageMeasurement {
  readonly stage: StageName;
  /** Time of the stage's call into shared/ (planDay, extractDay, transformDay, validateAndPublish). */
  readonly seconds: number;
  /** Rows the stage handled: source rows extracted, rows written, rows validated. */
  readonly rows: number;
  /** Bytes the stage produced (staged Arrow IPC) or covered (Parquet data files). */
  readonly bytes: number;
  readonly files: number;
  /** Peak RSS of the whole child process, in KB. */
  readonly peakRssKb: number;
  /** RSS once the stage's modules are loaded, before it runs, in KB. */
  readonly baselineRssKb: number;
  /**
   * Largest value of each part of `process.memoryUsage()` seen while the child ran (sampled, each
   * at its own moment), in KB: where the peak RSS comes from. `external` includes `arrayBuffers`
   * and WebAssembly memory.
   */
  readonly memoryPeaksKb?: { readonly heapTotal: number; readonly heapUsed: number; readonly external: number; readonly arrayBuffers: number };
  /** Seconds of each stage inside the whole-day run. */
  readonly parts?: { readonly planDay: number; readonly extract: number; readonly transformWrite: number; readonly validate: number };
}

/** A stage measured several times: the run of median time, with the largest peak RSS of all runs. */
export interface RepeatedStageMeasurement extends StageMeasurement {
  /** Seconds of every run, in order. */
  readonly samples: readonly number[];
}

/** A stage child's report: the measurement and the stage's own result, handed to the next stage. */
export interface StageReport<R = unknown> extends StageMeasurement {
  readonly result: R;
}

export interface StagesRequest {
  /** The bundled stage child (`bundleStageChild`). */
  readonly child: string;
  readonly databaseUrl: string;
  readonly date: string;
  /** A scratch directory; the stages' lakes are made under it. */
  readonly workDir: string;
  /** How many times the chain and the whole day run, each time on fresh lakes. */
  readonly repeat: number;
  /** Told before each child starts. */
  readonly onStage?: (stage: StageName, run: number) => void;
}

export interface StagesMeasurement {
  readonly planDay: RepeatedStageMeasurement;
  readonly extract: RepeatedStageMeasurement;
  readonly transformWrite: RepeatedStageMeasurement;
  readonly validate: RepeatedStageMeasurement;
  readonly wholeDay: RepeatedStageMeasurement;
  /** The largest peak of the three stages: what each function's memory size must hold. */
  readonly maxStagePeakRssKb: number;
}

/** Bundles the stage child into `dir`; returns the file to run. */
export async function bundleStageChild(dir: string): Promise<string> {
  return (await bundle('dev/bench/stage-child.ts', dir)).file;
}

async function runStage<R>(child: string, job: StageJob, env: Record<string, string>): Promise<StageReport<R>> {
  // NODE_OPTIONS cleared: no loader or flag of the parent's may reach the measured process.
  return runJsonChild<StageReport<R>>(child, [JSON.stringify(job)], { env: { ...env, NODE_OPTIONS: '' } });
}

/** The run of median time, carrying the median seconds and the largest peak RSS (with its breakdown) of all runs. */
function summarise(runs: readonly StageReport[]): RepeatedStageMeasurement {
  const samples = runs.map((r) => r.seconds);
  const { result: _result, ...typical } = [...runs].sort((a, b) => a.seconds - b.seconds)[(runs.length - 1) >> 1];
  const largest = runs.reduce((a, b) => (b.peakRssKb > a.peakRssKb ? b : a));
  return { ...typical, seconds: median(samples), peakRssKb: largest.peakRssKb, memoryPeaksKb: largest.memoryPeaksKb, samples };
}

interface ChainRun {
  readonly planDay: StageReport;
  readonly extract: StageReport;
  readonly transform: StageReport;
  readonly validate: StageReport;
  readonly wholeDay: StageReport;
}

/** One run: plan-day, extract, transform-write and validate chained over fresh processes, then the whole day in one. */
async function runChain(request: StagesRequest, run: number): Promise<ChainRun> {
  const { date, child } = request;
  const stageEnv = { DATABASE_URL: request.databaseUrl, LAKE_URI: join(request.workDir, `lake-stages-${run}`) };
  request.onStage?.('plan-day', run);
  const planDay = await runStage<DayPlan>(child, { stage: 'plan-day', date }, stageEnv);
  request.onStage?.('extract', run);
  const extract = await runStage<ExtractResult>(child, { stage: 'extract', date, plan: planDay.result }, stageEnv);
  request.onStage?.('transform-write', run);
  const transform = await runStage<TransformResult>(child, { stage: 'transform-write', date, extract: extract.result }, stageEnv);
  request.onStage?.('validate', run);
  const validate = await runStage<ValidateResult>(child, { stage: 'validate', date, plan: planDay.result, transform: transform.result }, stageEnv);
  request.onStage?.('whole-day', run);
  const wholeDay = await runStage(child, { stage: 'whole-day', date }, { ...stageEnv, LAKE_URI: join(request.workDir, `lake-whole-day-${run}`) });
  return { planDay, extract, transform, validate, wholeDay };
}

/**
 * Measures the stages `request.repeat` times; each stage's time is the median of its runs and its
 * peak RSS the largest, which is what a function's memory size must hold.
 */
export async function measureStages(request: StagesRequest): Promise<StagesMeasurement> {
  const runs = await repeated(request.repeat, (run) => runChain(request, run));
  const planDay = summarise(runs.map((r) => r.planDay));
  const extract = summarise(runs.map((r) => r.extract));
  const transformWrite = summarise(runs.map((r) => r.transform));
  const validate = summarise(runs.map((r) => r.validate));
  return {
    planDay,
    extract,
    transformWrite,
    validate,
    wholeDay: summarise(runs.map((r) => r.wholeDay)),
    maxStagePeakRssKb: Math.max(planDay.peakRssKb, extract.peakRssKb, transformWrite.peakRssKb, validate.peakRssKb),
  };
}
