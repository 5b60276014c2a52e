/**
 * Cold start of each Lambda handler as deployed: each `functions/<name>/index.ts` bundled as the
 * stack bundles it (`bundle.ts`), then `require()`d in a fresh plain `node` process and called
 * twice on an empty day. Also reports each bundle's zipped size.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { deflateRawSync } from 'node:zlib';
import type { Metafile } from 'esbuild';
import { bundle, fileSize, PARQUET_WASM_FILE } from './bundle.js';
import { runJsonChild } from './child-process.js';
import { median } from './stats.js';
import { parseDay } from '../../src/core/day.js';
import { lockKey, type PartitionLock } from '../../src/lake/lease.js';

export const HANDLERS = ['plan', 'plan-day', 'extract', 'transform-write', 'validate', 'release-day'] as const;
export type HandlerName = (typeof HANDLERS)[number];

/** Fresh processes per handler; the report gives the median. */
const REPEATS = 3;
const CHILD = 'dev/bench/cold-start-child.cjs';

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
  readonly handler: HandlerName;
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
  readonly onHandler?: (name: HandlerName) => void;
}

interface ChildReport {
  readonly importMs: number;
  readonly firstCallMs: number;
  readonly warmCallMs: number;
  readonly peakRssKb: number;
  readonly output: unknown;
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
async function bundleHandler(name: HandlerName, dir: string): Promise<{ file: string; size: BundleSize }> {
  const made = await bundle(`functions/${name}/index.ts`, dir);
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

/**
 * The event of handler `name`, made from the outputs of the handlers before it as the state machine
 * makes it: extract gets the day plan's first range, validate the plan with the ranges written.
 */
function eventOf(name: HandlerName, day: string, outputs: Partial<Record<HandlerName, Record<string, unknown>>>): unknown {
  // One lock owner for every run, as for one execution's retries: each may take the day's lock over.
  const owner = 'pg-lake-etl-bench-cold-start';
  const plan = outputs['plan-day'] as { runId: string; mode: string; ranges: { from: number; to: number }[] } | undefined;
  switch (name) {
    case 'plan':
      return { date: day };
    case 'plan-day':
      return { date: day, owner };
    case 'extract':
      return { date: day, mode: plan!.mode, owner, runId: plan!.runId, hours: { from: plan!.ranges[0].from, to: plan!.ranges[0].to } };
    case 'transform-write':
      return outputs.extract;
    case 'validate':
      return { ...plan, written: [outputs['transform-write']] };
    case 'release-day':
      return { date: day, runId: plan!.runId };
  }
}

/** The lock file plan-day left for the run, as `{ path, body }` for the child to write. */
function lockOfPlan(lakeDir: string, day: string, outputs: Partial<Record<HandlerName, Record<string, unknown>>>): { path: string; body: string } {
  const { runId, owner } = outputs['plan-day'] as { runId: string; owner: string };
  const now = new Date();
  const lock: PartitionLock = { owner, runId, acquiredAt: now.toISOString(), expiresAt: new Date(now.getTime() + 3_600_000).toISOString() };
  return { path: join(lakeDir, lockKey(parseDay(day))), body: `${JSON.stringify(lock)}\n` };
}

/**
 * Bundles and cold-starts every handler. The handlers are chained on the empty day as the state
 * machine chains them (see `eventOf`).
 */
export async function measureColdStarts(request: ColdStartRequest): Promise<ColdStart[]> {
  const env = {
    DATABASE_URL: request.databaseUrl,
    LAKE_URI: join(request.workDir, 'lake-cold-start'),
    // The handlers run as in Lambda: no tsx loader inherited from the parent's NODE_OPTIONS.
    NODE_OPTIONS: '',
  };
  const results: ColdStart[] = [];
  const outputs: Partial<Record<HandlerName, Record<string, unknown>>> = {};
  for (const name of HANDLERS) {
    request.onHandler?.(name);
    const { file, size } = await bundleHandler(name, join(request.workDir, 'bundles', name));
    const args = [file, JSON.stringify(eventOf(name, request.emptyDay, outputs))];
    // Validate gives the day's lock back after publishing: each of its calls needs the lock the
    // day plan took, so the child puts it back in place before each call (outside the timing).
    if (name === 'validate') args.push(JSON.stringify(lockOfPlan(env.LAKE_URI, request.emptyDay, outputs)));
    const runs: ChildReport[] = [];
    const withSourceMaps: ChildReport[] = [];
    for (let i = 0; i < REPEATS; i++) {
      runs.push(await runJsonChild<ChildReport>(CHILD, args, { env }));
      withSourceMaps.push(await runJsonChild<ChildReport>(CHILD, args, { env, nodeArgs: ['--enable-source-maps'] }));
    }
    const importMs = median(runs.map((r) => r.importMs));
    const firstCallMs = median(runs.map((r) => r.firstCallMs));
    results.push({
      handler: name,
      bundle: size,
      importMs,
      firstCallMs,
      warmCallMs: median(runs.map((r) => r.warmCallMs)),
      coldInitMs: median(runs.map((r) => r.importMs + r.firstCallMs)),
      importMsSourceMaps: median(withSourceMaps.map((r) => r.importMs)),
      peakRssKb: Math.max(...runs.map((r) => r.peakRssKb)),
      runs: REPEATS,
    });
    // The last run's output: each plan-day run made a new run id and took the day's lock over.
    outputs[name] = withSourceMaps.at(-1)!.output as Record<string, unknown>;
  }
  return results;
}
