/**
 * This project's stages measured one by one, each in a fresh process (as each runs in its own
 * Lambda container), then the whole day in one process. Stages share a local-directory lake, so
 * transform-write reads what extract staged and validate checks what transform-write wrote.
 */
import { join } from 'node:path';
import type { ExtractResult } from '../shared/extract.js';
import type { TransformResult } from '../shared/transform.js';
import type { ValidateResult } from '../shared/validate.js';
import { runJsonChild } from './child-process.js';

export type StageName = 'extract' | 'transform-write' | 'validate' | 'whole-day';

/** What a stage child is asked to do (its only argument, as JSON). */
export type StageJob =
  | { readonly stage: 'extract'; readonly date: string }
  | { readonly stage: 'transform-write'; readonly date: string; readonly extract: ExtractResult }
  | { readonly stage: 'validate'; readonly date: string; readonly transform: TransformResult }
  | { readonly stage: 'whole-day'; readonly date: string };

export interface StageMeasurement {
  readonly stage: StageName;
  /** Time of the stage's call into shared/ (extractDay, transformDay, validateAndPublish). */
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
  /** Seconds of each stage inside the whole-day run. */
  readonly parts?: { readonly extract: number; readonly transformWrite: number; readonly validate: number };
}

/** A stage child's report: the measurement and the stage's own result, handed to the next stage. */
export interface StageReport<R = unknown> extends StageMeasurement {
  readonly result: R;
}

export interface StagesRequest {
  readonly databaseUrl: string;
  readonly date: string;
  /** A scratch directory; the stages' lakes are made under it. */
  readonly workDir: string;
  /** Told before each child starts. */
  readonly onStage?: (stage: StageName) => void;
}

export interface StagesMeasurement {
  readonly extract: StageMeasurement;
  readonly transformWrite: StageMeasurement;
  readonly validate: StageMeasurement;
  readonly wholeDay: StageMeasurement;
  /** The largest peak of the three stages: what each function's memory size must hold. */
  readonly maxStagePeakRssKb: number;
}

const STAGE_CHILD = 'bench/stage-child.ts';

async function runStage<R>(job: StageJob, env: Record<string, string>): Promise<StageReport<R>> {
  return runJsonChild<StageReport<R>>(STAGE_CHILD, [JSON.stringify(job)], { nodeArgs: ['--import', 'tsx'], env });
}

function measurementOf({ result: _result, ...measurement }: StageReport): StageMeasurement {
  return measurement;
}

/** Runs extract, transform-write and validate in a chain of fresh processes, then the whole day in one. */
export async function measureStages(request: StagesRequest): Promise<StagesMeasurement> {
  const { date } = request;
  const stageEnv = { DATABASE_URL: request.databaseUrl, LAKE_URI: join(request.workDir, 'lake-stages') };
  request.onStage?.('extract');
  const extract = await runStage<ExtractResult>({ stage: 'extract', date }, stageEnv);
  request.onStage?.('transform-write');
  const transform = await runStage<TransformResult>({ stage: 'transform-write', date, extract: extract.result }, stageEnv);
  request.onStage?.('validate');
  const validate = await runStage<ValidateResult>({ stage: 'validate', date, transform: transform.result }, stageEnv);
  request.onStage?.('whole-day');
  const wholeDay = await runStage({ stage: 'whole-day', date }, { ...stageEnv, LAKE_URI: join(request.workDir, 'lake-whole-day') });
  return {
    extract: measurementOf(extract),
    transformWrite: measurementOf(transform),
    validate: measurementOf(validate),
    wholeDay: measurementOf(wholeDay),
    maxStagePeakRssKb: Math.max(extract.peakRssKb, transform.peakRssKb, validate.peakRssKb),
  };
}
