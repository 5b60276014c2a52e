/**
 * Child entry of `bench/stages.ts`: runs one stage (or the whole day) in this fresh process and
 * prints a `StageReport` as one JSON line. Each stage imports only the modules its Lambda would,
 * so the process' peak RSS is the stage's.
 *
 *   node --import tsx bench/stage-child.ts '{"stage":"extract","date":"2025-06-02"}'
 *
 * Reads LAKE_URI, DATABASE_URL and the tuning variables through `loadConfig`.
 */
import { loadConfig, requireDatabaseUrl, type Config } from '../shared/config.js';
import { parseDay, type CalendarDay } from '../shared/day.js';
import type { ExtractResult } from '../shared/extract.js';
import { newRunId } from '../shared/lake/layout.js';
import { openStore, type ObjectStore } from '../shared/lake/store.js';
import type { TransformResult } from '../shared/transform.js';
import type { ValidateResult } from '../shared/validate.js';
import type { StageJob, StageReport } from './stages.js';

interface Stage<R> {
  readonly rows: number;
  readonly bytes: number;
  readonly files: number;
  readonly result: R;
}

/** The stage's work, started once its modules are loaded; `timed` brackets the measured call. */
type Timed = <T>(work: () => Promise<T>) => Promise<T>;

function extractStage(config: Config, store: ObjectStore, day: CalendarDay) {
  return async (timed: Timed): Promise<Stage<ExtractResult>> => {
    const { withClient } = await import('../shared/db/connect.js');
    const { extractDay } = await import('../shared/extract.js');
    const result = await withClient(requireDatabaseUrl(config), (client) =>
      timed(() => extractDay({ client, store, day, timeZone: config.timeZone, runId: newRunId(), batchRows: config.batchRows })),
    );
    const staged = Object.values(result.staging);
    return { rows: result.sourceCount, bytes: staged.reduce((s, t) => s + t.bytes, 0), files: staged.length, result };
  };
}

function transformStage(config: Config, store: ObjectStore, day: CalendarDay, extract: ExtractResult) {
  return async (timed: Timed): Promise<Stage<TransformResult>> => {
    const { transformDay } = await import('../shared/transform.js');
    const result = await timed(() =>
      transformDay({ store, day, extract, mode: 'overwrite', rowsPerFile: config.rowsPerFile, rowGroupRows: config.rowGroupRows }),
    );
    return { rows: result.metrics.rows, bytes: result.files.reduce((s, f) => s + f.bytes, 0), files: result.files.length, result };
  };
}

function validateStage(config: Config, store: ObjectStore, day: CalendarDay, transform: TransformResult) {
  return async (timed: Timed): Promise<Stage<ValidateResult>> => {
    const { validateAndPublish } = await import('../shared/validate.js');
    const result = await timed(() => validateAndPublish({ store, day, transform, thresholds: config.thresholds }));
    return { rows: result.rows, bytes: result.bytes, files: result.files, result };
  };
}

/** Runs `stage`, timing only the calls it brackets with `timed`. */
async function measure<R>(stage: (timed: Timed) => Promise<Stage<R>>): Promise<Stage<R> & { seconds: number; baselineRssKb: number }> {
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

async function main(job: StageJob): Promise<StageReport> {
  const config = loadConfig();
  const store = await openStore(config);
  const day = parseDay(job.date);
  let measured;
  let parts: StageReport['parts'];
  switch (job.stage) {
    case 'extract':
      measured = await measure(extractStage(config, store, day));
      break;
    case 'transform-write':
      measured = await measure(transformStage(config, store, day, job.extract));
      break;
    case 'validate':
      measured = await measure(validateStage(config, store, day, job.transform));
      break;
    case 'whole-day': {
      // Load every stage's modules first, so the day's time holds no module loading, as the
      // per-stage times hold none.
      await Promise.all([import('../shared/extract.js'), import('../shared/transform.js'), import('../shared/validate.js')]);
      const extract = await measure(extractStage(config, store, day));
      const transform = await measure(transformStage(config, store, day, extract.result));
      const validate = await measure(validateStage(config, store, day, transform.result));
      parts = { extract: extract.seconds, transformWrite: transform.seconds, validate: validate.seconds };
      measured = {
        ...validate,
        seconds: extract.seconds + transform.seconds + validate.seconds,
        baselineRssKb: extract.baselineRssKb,
        rows: transform.rows,
        bytes: transform.bytes,
        files: transform.files,
      };
      break;
    }
  }
  return { stage: job.stage, ...measured, parts, peakRssKb: process.resourceUsage().maxRSS };
}

const report = await main(JSON.parse(process.argv[2] ?? '{}') as StageJob);
process.stdout.write(`${JSON.stringify(report)}\n`);
