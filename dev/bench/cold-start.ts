/**
 * Cold start of each Lambda handler as deployed: each stage of the registry's
 * `functions/<name>/index.ts` bundled as the stack bundles it (`bundle.ts`), then `require()`d in a
 * fresh plain `node` process (`handler-child.ts`) and called twice on an empty day. Also reports
 * each bundle's zipped size.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { deflateRawSync } from 'node:zlib';
import type { Metafile } from 'esbuild';
import { bundle, fileSize, PARQUET_WASM_FILE } from './bundle.js';
import { runJsonChild } from './child-process.js';
import type { HandlerJob, HandlerRun } from './handler-child.js';
import { handlerEntry, stageEvent, type EarlierOutputs } from './stage-events.js';
import { median } from './stats.js';
import { parseDay } from '../../src/core/day.js';
import { lockKey, type PartitionLock } from '../../src/lake/lease.js';
import type { DayPlan } from '../../src/pipeline/contracts.js';
import { STAGE_LIST, type StageSpec } from '../../src/pipeline/stages.js';

/** Fresh processes per handler; the report gives the median. */
const REPEATS = 3;

export interface BundleSize {
  /** Minified index.js. */
  readonly jsBytes: number;
  /** parquet_wasm_bg.wasm beside it, or 0 when the handler does not use parquet-wasm. */
  readonly wasmBytes: number;
  /** index.js and the .wasm zipped (what a Lambda upload of them weighs); the source map is left out. */
  readonly zipBytes: number;
  /** The source map the stack also deploys (linked, without sources). */
  readonly mapBytes: number;
  /** The packages that weigh most in index.js, bytes each. */
  readonly largestPackages: ReadonlyArray<{ readonly name: string; readonly bytes: number }>;
}

export interface ColdStart {
  /** The stage's registry name: its `functions/<name>/` folder. */
  readonly handler: string;
  readonly bundle: BundleSize;
  /** require() of the bundle: module initialisation, wasm compilation, loadConfig. Median of REPEATS. */
  readonly importMs: number;
  /** The first call on an empty day: the set-up a first invocation pays (store, connection, lazy imports). */
  readonly firstCallMs: number;
  /** The same call again in the same process. */
  readonly warmCallMs: number;
  /** importMs + firstCallMs: what a cold invocation adds before its real work. */
  readonly coldInitMs: number;
  /** require() with `--enable-source-maps`, as the stack runs the functions. */
  readonly importMsSourceMaps: number;
  readonly peakRssKb: number;
  readonly runs: number;
}

export interface ColdStartRequest {
  readonly databaseUrl: string;
  /** A day with no rentals in that database. */
  readonly emptyDay: string;
  readonly workDir: string;
  readonly onHandler?: (name: string) => void;
}

/** `@aws-sdk/client-s3` from `node_modules/@aws-sdk/client-s3/dist-cjs/...`; `(project)` for our code. */
function packageOf(path: string): string {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  return match ? match[1] : '(project)';
}

function largestPackages(metafile: Metafile, top = 5): BundleSize['largestPackages'] {
  const bytes = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [path, input] of Object.entries(output.inputs)) {
      bytes.set(packageOf(path), (bytes.get(packageOf(path)) ?? 0) + input.bytesInOutput);
    }
  }
  return [...bytes.entries()]
    .map(([name, n]) => ({ name, bytes: n }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, top);
}

/** Zipped size of `files` in `dir`: the `zip` CLI when present, else raw deflate plus zip headers. */
async function zippedSize(dir: string, files: readonly string[]): Promise<number> {
  const archive = join(dir, 'bundle.zip');
  try {
    await promisify(execFile)('zip', ['-q', '-X', '-9', archive, ...files], { cwd: dir });
    return await fileSize(archive);
  } catch {
    let total = 22;
    for (const file of files) {
      const deflated = deflateRawSync(await readFile(join(dir, file)), { level: 9 }).byteLength;
      total += deflated + 30 + 46 + 2 * file.length;
    }
    return total;
  }
}

/** Bundles one handler into `dir` as the stack does and measures its files. */
async function bundleHandler(spec: StageSpec, dir: string): Promise<{ file: string; size: BundleSize }> {
  const made = await bundle(handlerEntry(spec), dir);
  const files = made.usesWasm ? ['index.js', PARQUET_WASM_FILE] : ['index.js'];
  const size: BundleSize = {
    jsBytes: await fileSize(made.file),
    wasmBytes: made.usesWasm ? await fileSize(join(dir, PARQUET_WASM_FILE)) : 0,
    zipBytes: await zippedSize(dir, files),
    mapBytes: await fileSize(`${made.file}.map`),
    largestPackages: largestPackages(made.metafile),
  };
  return { file: made.file, size };
}

/** The lease file plan-day left for the run, as `{ path, body }` for the child to put back before each call. */
function leaseOfPlan(lakeDir: string, day: string, plan: DayPlan): { path: string; body: string } {
  const now = new Date();
  const lock: PartitionLock = {
    owner: plan.owner,
    runId: plan.runId,
    acquiredAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + 3_600_000).toISOString(),
  };
  return { path: join(lakeDir, lockKey(parseDay(day))), body: `${JSON.stringify(lock)}\n` };
}

/**
 * Bundles and cold-starts the handler of every stage in the registry. The handlers are chained on
 * the empty day as the state machine chains them (`stage-events.ts`).
 */
export async function measureColdStarts(request: ColdStartRequest): Promise<ColdStart[]> {
  const env = {
    DATABASE_URL: request.databaseUrl,
    LAKE_URI: join(request.workDir, 'lake-cold-start'),
    // The handlers run as in Lambda: no tsx loader inherited from the parent's NODE_OPTIONS.
    NODE_OPTIONS: '',
  };
  const child = (await bundle('dev/bench/handler-child.ts', join(request.workDir, 'handler-child'))).file;
  // One lease owner for every run, as for one execution's retries: each plan-day may take the day over.
  const owner = 'pg-lake-etl-bench-cold-start';
  const results: ColdStart[] = [];
  const outputs: EarlierOutputs = {};
  for (const spec of STAGE_LIST) {
    request.onHandler?.(spec.name);
    const { file, size } = await bundleHandler(spec, join(request.workDir, 'bundles', spec.name));
    // Validate gives the day's lease back after publishing: each of its calls needs the lease the
    // day plan took, so the child puts it back in place before each call (outside the timing).
    const lease = spec.lease === 'renew-and-release' ? leaseOfPlan(env.LAKE_URI, request.emptyDay, outputs.planDay as DayPlan) : undefined;
    const job: HandlerJob = { event: stageEvent(spec.key, request.emptyDay, outputs, owner), calls: 2, lease };
    const args = [file, JSON.stringify(job)];
    const runs: HandlerRun[] = [];
    const withSourceMaps: HandlerRun[] = [];
    for (let i = 0; i < REPEATS; i++) {
      runs.push(await runJsonChild<HandlerRun>(child, args, { env }));
      withSourceMaps.push(await runJsonChild<HandlerRun>(child, args, { env, nodeArgs: ['--enable-source-maps'] }));
    }
    results.push({
      handler: spec.name,
      bundle: size,
      importMs: median(runs.map((r) => r.importMs)),
      firstCallMs: median(runs.map((r) => r.callMs[0])),
      warmCallMs: median(runs.map((r) => r.callMs[1])),
      coldInitMs: median(runs.map((r) => r.importMs + r.callMs[0])),
      importMsSourceMaps: median(withSourceMaps.map((r) => r.importMs)),
      peakRssKb: Math.max(...runs.map((r) => r.peakRssKb)),
      runs: REPEATS,
    });
    // The last run's output: each plan-day call made a new run and took the day's lease over for it.
    outputs[spec.key] = withSourceMaps.at(-1)!.output;
  }
  return results;
}
