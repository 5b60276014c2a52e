/**
 * Child entry of `bench/stages.ts`: runs one stage (or the whole day) in this fresh process and
 * prints a `StageReport` as one JSON line. Each stage loads only the modules its Lambda would, so
 * the process' peak RSS is the stage's. The stages take the day's partition lock as the handlers
 * do. `stages.ts` bundles it and runs the bundle with plain node; by hand:
 *
 *   node --import tsx bench/stage-child.ts '{"stage":"extract","date":"2025-06-02"}'
 *
 * Reads LAKE_URI, DATABASE_URL and the tuning variables through `loadConfig`.
 */
import { loadConfig, requireDatabaseUrl, type Config } from '../../src/core/config.js';
import { parseDay, type CalendarDay } from '../../src/core/day.js';
import type { ExtractResult } from '../../src/pipeline/extract/extract.js';
import type { DayPlan } from '../../src/pipeline/plan-day/plan-day.js';
import { newRunId } from '../../src/lake/layout.js';
import { openStore, type ObjectStore } from '../../src/lake/store.js';
import type { TransformResult } from '../../src/pipeline/transform-write/transform.js';
import type { ValidateResult } from '../../src/pipeline/validate/validate.js';
import type { StageJob, StageReport } from './stages.js';

interface Stage<R> {
  readonly rows: number;
  readonly bytes: number;
  readonly files: number;
  readonly result: R;
}

/** The stage's work, started once its modules are loaded; `timed` brackets the measured call. */
type Timed = <T>(work: () => Promise<T>) => Promise<T>;

function planDayStage(config: Config, store: ObjectStore, day: CalendarDay) {
  return async (timed: Timed): Promise<Stage<DayPlan>> => {
    const { withClient } = await import('../../src/source/connect.js');
    const { planDay } = await import('../../src/pipeline/plan-day/plan-day.js');
    const result = await withClient(requireDatabaseUrl(config), (client) =>
      timed(() => {
        const runId = newRunId();
        return planDay({ client, store, day, timeZone: config.timeZone, runId, maxRowsPerRange: config.maxRowsPerRange, lock: { owner: runId, ttlMs: config.lockTtlMs } });
      }),
    );
    return { rows: result.plannedRows, bytes: 0, files: 0, result };
  };
}

/** Extracts the day's first range: the whole day, unless it is bigger than RANGE_MAX_ROWS. */
function extractStage(config: Config, store: ObjectStore, day: CalendarDay, plan: DayPlan) {
  return async (timed: Timed): Promise<Stage<ExtractResult>> => {
    const { withClient } = await import('../../src/source/connect.js');
    const { extractDay } = await import('../../src/pipeline/extract/extract.js');
    const [hours] = plan.ranges;
    const result = await withClient(requireDatabaseUrl(config), (client) =>
      timed(() =>
        extractDay({ client, store, day, timeZone: config.timeZone, runId: plan.runId, hours, batchRows: config.batchRows, lock: { owner: plan.owner, ttlMs: config.lockTtlMs } }),
      ),
    );
    const staged = Object.values(result.staging).filter((t) => t !== undefined);
    return { rows: result.sourceCount, bytes: staged.reduce((s, t) => s + t.bytes, 0), files: staged.length, result };
  };
}

function transformStage(config: Config, store: ObjectStore, day: CalendarDay, extract: ExtractResult) {
  return async (timed: Timed): Promise<Stage<TransformResult>> => {
    const { transformDay } = await import('../../src/pipeline/transform-write/transform.js');
    const result = await timed(() =>
      transformDay({ store, day, extract, mode: 'overwrite', rowsPerFile: config.rowsPerFile, rowGroupRows: config.rowGroupRows, lockTtlMs: config.lockTtlMs }),
    );
    return { rows: result.metrics.rows, bytes: result.files.reduce((s, f) => s + f.bytes, 0), files: result.files.length, result };
  };
}

function validateStage(config: Config, store: ObjectStore, day: CalendarDay, plan: DayPlan, transform: TransformResult) {
  return async (timed: Timed): Promise<Stage<ValidateResult>> => {
    const { validateAndPublish } = await import('../../src/pipeline/validate/validate.js');
    const run = { runId: plan.runId, mode: transform.mode, owner: plan.owner, sourceDuplicateIds: plan.sourceDuplicateIds, ranges: plan.ranges };
    const result = await timed(() => validateAndPublish({ store, day, run, written: [transform], thresholds: config.thresholds, lockTtlMs: config.lockTtlMs }));
    return { rows: result.rows, bytes: result.bytes, files: result.files, result };
  };
}

type Measured<R> = Stage<R> & { readonly seconds: number; readonly baselineRssKb: number };

/** Runs `stage`, timing only the calls it brackets with `timed`. */
async function measure<R>(stage: (timed: Timed) => Promise<Stage<R>>): Promise<Measured<R>> {
  let seconds = 0;
  let baselineRssKb: number | undefined;
  const outcome = await stage(async (work) => {
    baselineRssKb ??= Math.round(process.memoryUsage().rss / 1024);
    const started = performance.now();
    try {
      return await work();
    } finally {
      seconds += (performance.now() - started) / 1000;
    }
  });
  return { ...outcome, seconds, baselineRssKb: baselineRssKb ?? 0 };
}

/** How often the memory sampler looks; cheap enough (a /proc read) not to show in the times. */
const SAMPLE_MS = 25;

/** Samples `process.memoryUsage()` until stopped; returns the largest value of each part, in KB. */
function sampleMemory(): () => NonNullable<StageReport['memoryPeaksKb']> {
  const peaks = { heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
  const sample = () => {
    const usage = process.memoryUsage();
    for (const key of Object.keys(peaks) as (keyof typeof peaks)[]) peaks[key] = Math.max(peaks[key], usage[key]);
  };
  const timer = setInterval(sample, SAMPLE_MS);
  return () => {
    clearInterval(timer);
    sample();
    const kb = (bytes: number) => Math.round(bytes / 1024);
    return { heapTotal: kb(peaks.heapTotal), heapUsed: kb(peaks.heapUsed), external: kb(peaks.external), arrayBuffers: kb(peaks.arrayBuffers) };
  };
}

async function main(job: StageJob): Promise<StageReport> {
  const stopSampling = sampleMemory();
  const config = loadConfig();
  const store = await openStore(config);
  const day = parseDay(job.date);
  let measured: Measured<unknown>;
  let parts: StageReport['parts'];
  switch (job.stage) {
    case 'plan-day':
      measured = await measure(planDayStage(config, store, day));
      break;
    case 'extract':
      measured = await measure(extractStage(config, store, day, job.plan));
      break;
    case 'transform-write':
      measured = await measure(transformStage(config, store, day, job.extract));
      break;
    case 'validate':
      measured = await measure(validateStage(config, store, day, job.plan, job.transform));
      break;
    case 'whole-day': {
      // Load every stage's modules first, so the day's time holds no module loading, as the
      // per-stage times hold none.
      await Promise.all([import('../../src/pipeline/plan-day/plan-day.js'), import('../../src/pipeline/extract/extract.js'), import('../../src/pipeline/transform-write/transform.js'), import('../../src/pipeline/validate/validate.js')]);
      const plan = await measure(planDayStage(config, store, day));
      const extract = await measure(extractStage(config, store, day, plan.result));
      const transform = await measure(transformStage(config, store, day, extract.result));
      const validate = await measure(validateStage(config, store, day, plan.result, transform.result));
      parts = { planDay: plan.seconds, extract: extract.seconds, transformWrite: transform.seconds, validate: validate.seconds };
      measured = {
        ...validate,
        seconds: plan.seconds + extract.seconds + transform.seconds + validate.seconds,
        baselineRssKb: plan.baselineRssKb,
        rows: transform.rows,
        bytes: transform.bytes,
        files: transform.files,
      };
      break;
    }
    default:
      throw new Error(`usage: stage-child '{"stage":"plan-day|extract|transform-write|validate|whole-day","date":"YYYY-MM-DD",...}'`);
  }
  return { stage: job.stage, ...measured, parts, peakRssKb: process.resourceUsage().maxRSS, memoryPeaksKb: stopSampling() };
}

// No top-level await: this file is bundled as CommonJS, like the handlers.
main(JSON.parse(process.argv[2] ?? '{}') as StageJob).then(
  (report) => process.stdout.write(`${JSON.stringify(report)}\n`),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
