/**
 * esbuild bundles made the way the stack makes the Lambda bundles (`infra/constructs/etl-function.ts`):
 * CommonJS for Node 24 (the Lambda runtime), minified with names kept, everything inside but pg-native, a linked source
 * map without sources, and parquet-wasm's `.wasm` copied beside the bundle when it is used. The
 * benchmark runs its measurements from such bundles with plain `node`, so neither tsx's loader
 * thread (about 35 MB of RSS) nor its transpiling inflates them.
 */
import { copyFile, mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Metafile, type Plugin } from 'esbuild';
import { PROJECT_ROOT } from './child-process.js';

const PARQUET_WASM = 'node_modules/parquet-wasm/node/parquet_wasm_bg.wasm';
export const PARQUET_WASM_FILE = 'parquet_wasm_bg.wasm';

/**
 * Packages a local run loads only to synthesize the state machine definition from the CDK stack.
 * A local-tool bundle leaves them in the project's `node_modules` (`LOCAL_TOOL_NODE_PATH`).
 */
const CDK_PACKAGES = ['aws-cdk-lib', 'constructs', 'cdk-nag'];

/** NODE_PATH under which a local-tool bundle finds the packages it leaves out. */
export const LOCAL_TOOL_NODE_PATH = join(PROJECT_ROOT, 'node_modules');

export interface Bundle {
  /** Path of `index.js`. */
  readonly file: string;
  readonly dir: string;
  /** True when parquet-wasm is inside and its `.wasm` was copied beside `index.js`. */
  readonly usesWasm: boolean;
  readonly metafile: Metafile;
}

export interface BundleOptions {
  /**
   * A local tool rather than a Lambda (the whole day run in one process): each project module's
   * `import.meta.url` stays its source file's URL, so code that finds files from its own location
   * (the stack's project root, the emitted definition) finds them from the bundle too; and the CDK
   * packages stay in `node_modules`, to be run with `NODE_PATH=LOCAL_TOOL_NODE_PATH`.
   */
  readonly localTool?: boolean;
}

/** Replaces `import.meta.url` in the project's own modules by the URL of their source file. */
const sourceLocations: Plugin = {
  name: 'source-locations',
  setup(builder) {
    builder.onLoad({ filter: /\.ts$/ }, async ({ path }) => {
      if (path.includes('/node_modules/')) return undefined;
      const source = await readFile(path, 'utf8');
      return { contents: source.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(path).href)), loader: 'ts' };
    });
  },
};

/** Bundles `entry` (relative to the project root) into `dir/index.js`. */
export async function bundle(entry: string, dir: string, options: BundleOptions = {}): Promise<Bundle> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'index.js');
  const { metafile } = await build({
    entryPoints: [join(PROJECT_ROOT, entry)],
    outfile: file,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    minify: true,
    keepNames: true,
    sourcemap: true,
    sourcesContent: false,
    external: ['pg-native', ...(options.localTool ? CDK_PACKAGES : [])],
    plugins: options.localTool ? [sourceLocations] : [],
    metafile: true,
    logLevel: 'silent',
  });
  const usesWasm = Object.keys(metafile.inputs).some((path) => path.includes('node_modules/parquet-wasm/'));
  if (usesWasm) await copyFile(join(PROJECT_ROOT, PARQUET_WASM), join(dir, PARQUET_WASM_FILE));
  return { file, dir, usesWasm, metafile };
}

/** Size of a file in bytes. */
export async function fileSize(path: string): Promise<number> {
  return (await stat(path)).size;
}
