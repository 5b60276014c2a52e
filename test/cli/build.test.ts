/**
 * The CLI as `npm run build` ships it in `dist/cli/`: the executable the package's `bin` names, one
 * chunk per command loaded only when that command runs, nothing from devDependencies, and the
 * files its modules read from beside themselves.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { runEtl } from '../support/cli.js';
import { createTestDatabase } from '../support/databases.js';

interface PackageJson {
  bin: Record<string, string>;
  files: string[];
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
}

const packageJson = JSON.parse(readFileSync('package.json', 'utf8')) as PackageJson;
const metafile = JSON.parse(readFileSync('dist/meta.json', 'utf8')) as Metafile;
const COMMANDS = ['db', 'seed', 'run', 'backfill', 'validate', 'read', 'status', 'report', 'start', 'remote'];

/** The output file esbuild made of `source`. */
function outputOf(source: string): string {
  const found = Object.entries(metafile.outputs).find(([, output]) => output.entryPoint === source);
  if (!found) throw new Error(`no output of ${source} in dist/meta.json`);
  return found[0];
}

/** `@scope/name` or `name` of an import path such as `@aws-sdk/client-s3` or `pg-copy-streams/x`. */
function packageName(path: string): string {
  return path
    .split('/')
    .slice(0, path.startsWith('@') ? 2 : 1)
    .join('/');
}

/** A hook that prints every module URL the process resolves, as the last line of stderr. */
const RECORD_MODULES =
  'data:text/javascript,' +
  encodeURIComponent(
    "import { registerHooks } from 'node:module'; import { writeSync } from 'node:fs'; const seen = new Set();" +
      'registerHooks({ resolve(specifier, context, next) { const resolved = next(specifier, context); seen.add(resolved.url); return resolved; } });' +
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the hook's source, run by the child, not here.
      "process.on('exit', () => writeSync(2, `\\n${JSON.stringify([...seen])}\\n`));",
  );

/** Runs the built `etl` with `args`; returns its exit code and the modules it loaded, relative to the project. */
function modulesLoadedBy(args: string[], env: NodeJS.ProcessEnv = process.env): { status: number | null; modules: string[] } {
  const result = runEtl(args, { nodeArgs: ['--import', RECORD_MODULES], timeoutMs: 30_000, env });
  if (result.status !== 0 && result.status !== 2) throw new Error(`etl ${args.join(' ')} exited ${result.status}: ${result.stderr.slice(-2000)}`);
  const urls = JSON.parse(result.stderr.trimEnd().split('\n').at(-1)!) as string[];
  const root = pathToFileURL(`${process.cwd()}/`).href;
  return { status: result.status, modules: urls.filter((url) => !url.startsWith('node:')).map((url) => url.replace(root, '')) };
}

/** What running days needs, and a refused input must not wait for. */
const PIPELINE_PACKAGES = /^(@aws-sdk\/.+|aws-cdk-lib|constructs|aws-local-stepfunctions|parquet-wasm|apache-arrow|hyparquet|pg)$/;

const packagesIn = (modules: string[]) => [
  ...new Set(modules.filter((m) => m.startsWith('node_modules/')).map((m) => packageName(m.slice('node_modules/'.length)))),
];
const commandChunksIn = (modules: string[]) => COMMANDS.filter((command) => modules.includes(outputOf(`cli/commands/${command}.ts`)));

describe('the package', () => {
  it('names the built executable as its bin, ships dist/ and builds it when installed', () => {
    // Prepare
    const executable = readFileSync(packageJson.bin.etl, 'utf8');

    // Assess
    expect(packageJson.bin.etl).toBe(outputOf('cli/etl.ts'));
    expect(executable.split('\n')[0]).toMatch(/^#!\/usr\/bin\/env -S( [A-Z_]+=\S+)* node( --[a-z-]+=\S+)*$/);
    expect(statSync(packageJson.bin.etl).mode & 0o111).toBe(0o111);
    expect(packageJson.files).toEqual(['dist/']);
    expect(packageJson.scripts.prepare).toBe('npm run build');
  });
});

describe('dist/cli', () => {
  it.each(COMMANDS)('has %s as a chunk of its own, only ever imported when the command runs', (command) => {
    // Prepare
    const chunk = outputOf(`cli/commands/${command}.ts`);
    const importsOfIt = Object.values(metafile.outputs).flatMap((output) => output.imports.filter((i) => i.path === chunk));

    // Assess
    expect(importsOfIt.length).toBeGreaterThan(0);
    expect(importsOfIt.filter((i) => i.kind !== 'dynamic-import')).toEqual([]);
  });

  it('imports only Node built-ins and dependencies, never a devDependency', () => {
    // Prepare
    const builtins = new Set(builtinModules);
    const imported = Object.values(metafile.outputs).flatMap((output) => output.imports.filter((i) => i.external).map((i) => i.path));

    // Act
    const notDependencies = [...new Set(imported.filter((path) => !path.startsWith('node:') && !builtins.has(path)).map(packageName))].filter(
      (name) => !(name in packageJson.dependencies),
    );

    // Assess
    expect(notDependencies).toEqual([]);
  });

  it('has beside it every file its modules read from their own location', () => {
    // Prepare
    const siblings = Object.keys(metafile.outputs)
      .filter((file) => file.endsWith('.js'))
      .flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/new URL\("(\.{1,2}\/[^"]*)", import\.meta\.url\)/g)].map((m) => join('dist/cli', m[1])));

    // Assess
    expect(siblings).toEqual(expect.arrayContaining([join('dist/cli', 'migrations/'), join('dist/cli', 'embedded-postgres-server.mjs')]));
    expect(siblings.filter((path) => !existsSync(path))).toEqual([]);
  });
});

describe('what a command loads', () => {
  it('--help loads the entry and main only: no command, no package', () => {
    // Act
    const { status, modules } = modulesLoadedBy(['--help']);

    // Assess
    expect(status).toBe(0);
    expect(modules.filter((m) => !m.startsWith('dist/cli/'))).toEqual([]);
    expect(commandChunksIn(modules)).toEqual([]);
  });

  it('a refused input loads its command only, and none of the pipeline, the AWS SDK or the CDK', () => {
    // Act
    const { status, modules } = modulesLoadedBy(['run', '--date', '2025-02-30']);

    // Assess
    expect(status).toBe(2);
    expect(commandChunksIn(modules)).toEqual(['run']);
    expect(packagesIn(modules).filter((name) => PIPELINE_PACKAGES.test(name))).toEqual([]);
  });

  it('a local run loads neither the Lambda client nor a definition validator: its state machine calls the stages in-process', async () => {
    // Prepare
    const database = await createTestDatabase();
    const lake = await mkdtemp(join(tmpdir(), 'build-lake-'));
    try {
      const env = { ...process.env, DATABASE_URL: database.url, LAKE_URI: lake, POWERTOOLS_LOG_LEVEL: 'ERROR' };
      expect(runEtl(['db', 'migrate'], { env }).status).toBe(0);
      expect(runEtl(['seed', '--from', '2025-05-01', '--to', '2025-05-01', '--rentals-per-day', '50'], { env }).status).toBe(0);

      // Act
      const { status, modules } = modulesLoadedBy(['run', '--date', '2025-05-01', '--quiet'], env);

      // Assess: the run happened (its stages' packages are loaded), without those
      expect(status).toBe(0);
      expect(existsSync(join(lake, '_manifests/rentals/year=2025/month=05/day=01.json'))).toBe(true);
      expect(packagesIn(modules).filter((name) => /^(@aws-sdk\/client-lambda|@aws-sdk\/credential-providers|asl-validator|ajv)$/.test(name))).toEqual([]);
    } finally {
      await database.drop();
      await rm(lake, { recursive: true, force: true });
    }
  });
});
