/**
 * Cold start of each Lambda handler as deployed: each `functions/<name>/index.ts` bundled by
 * esbuild the way the stack bundles it (CJS, minified, names kept, everything but pg-native
 * inside, parquet-wasm's `.wasm` copied beside it), then `require()`d in a fresh plain `node`
 * process and called twice on an empty day. Also reports each bundle's zipped size.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { deflateRawSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';
import { PROJECT_ROOT, runJsonChild } from './child-process.js';

export const HANDLERS = ['plan', 'extract', 'transform-write', 'validate'] as const;
export type HandlerName = (typeof HANDLERS)[number];

/** Fresh processes per handler; the report gives the median. */
const REPEATS = 3;
const PARQUET_WASM = 'node_modules/parquet-wasm/node/parquet_wasm_bg.wasm';
const CHILD = 'bench/cold-start-child.cjs';

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
    return (await stat(archive)).size;
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
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'index.js');
  const { metafile } = await build({
    entryPoints: [join(PROJECT_ROOT, 'functions', name, 'index.ts')],
    outfile: file,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    keepNames: true,
    sourcemap: true,
    sourcesContent: false,
    external: ['pg-native'],
    metafile: true,
    logLevel: 'silent',
  });
  const usesWasm = Object.keys(metafile.inputs).some((path) => path.includes('node_modules/parquet-wasm/'));
  const files = ['index.js'];
  if (usesWasm) {
    await copyFile(join(PROJECT_ROOT, PARQUET_WASM), join(dir, 'parquet_wasm_bg.wasm'));
    files.push('parquet_wasm_bg.wasm');
  }
  const size: BundleSize = {
    jsBytes: (await stat(file)).size,
    wasmBytes: usesWasm ? (await stat(join(dir, 'parquet_wasm_bg.wasm'))).size : 0,
    zipBytes: await zippedSize(dir, files),
    mapBytes: (await stat(`${file}.map`)).size,
    largestPackages: largestPackages(metafile),
  };
  return { file, size };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Bundles and cold-starts every handler. The handlers are chained on the empty day as the state
 * machine chains them: transform-write gets extract's output, validate transform-write's.
 */
export async function measureColdStarts(request: ColdStartRequest): Promise<ColdStart[]> {
  const env = {
    DATABASE_URL: request.databaseUrl,
    LAKE_URI: join(request.workDir, 'lake-cold-start'),
    // The handlers run as in Lambda: no tsx loader inherited from the parent's NODE_OPTIONS.
    NODE_OPTIONS: '',
  };
  const results: ColdStart[] = [];
  let event: unknown = { date: request.emptyDay };
  for (const name of HANDLERS) {
    request.onHandler?.(name);
    const { file, size } = await bundleHandler(name, join(request.workDir, 'bundles', name));
    const args = [file, JSON.stringify(event)];
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
    // plan's output is a plan, not a stage event: extract starts from the day itself.
    if (name !== 'plan') event = runs[0].output;
  }
  return results;
}
