/**
 * esbuild bundles made the way the stack makes the Lambda bundles (`infra/constructs/etl-function.ts`):
 * CommonJS for Node 24 (the Lambda runtime), minified with names kept, everything inside but pg-native, a linked source
 * map without sources, and parquet-wasm's `.wasm` copied beside the bundle when it is used. The
 * benchmark runs its measurements from such bundles with plain `node`, so neither tsx's loader
 * thread (about 35 MB of RSS) nor its transpiling inflates them.
 */
import { copyFile, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { PROJECT_ROOT } from './child-process.js';

const PARQUET_WASM = 'node_modules/parquet-wasm/node/parquet_wasm_bg.wasm';
export const PARQUET_WASM_FILE = 'parquet_wasm_bg.wasm';

export interface Bundle {
  /** Path of `index.js`. */
  readonly file: string;
  readonly dir: string;
  /** True when parquet-wasm is inside and its `.wasm` was copied beside `index.js`. */
  readonly usesWasm: boolean;
  readonly metafile: Metafile;
}

/** Bundles `entry` (relative to the project root) into `dir/index.js`. */
export async function bundle(entry: string, dir: string): Promise<Bundle> {
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
    external: ['pg-native'],
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
