/**
 * The import structure the layout promises, read from esbuild's own resolution of every entry
 * point (its metafile): no import cycles among the project's modules, the stage contracts import
 * no stage, stages never touch the lease module, the views (`src/monitor/`) import nothing from
 * `src/pipeline/`, `src/` depends on neither the CLI, the infrastructure nor the development
 * tooling, and the CLI (which ships) on no development tooling but the embedded Postgres and the
 * LocalStack settings.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = new URL('../../', import.meta.url).pathname;
const STAGE_DIRS = readdirSync(`${ROOT}src/pipeline`, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => `src/pipeline/${entry.name}/`);

/**
 * The dev/ modules the CLI may import: the embedded Postgres `etl start` runs when no DATABASE_URL
 * is set, and the LocalStack settings of `etl remote --localstack`. Everything else the CLI ships
 * lives under `src/` or `cli/`.
 */
const CLI_DEV_SERVICES = ['dev/embedded-postgres.ts', 'dev/localstack/env.ts'];

let graph: Map<string, string[]>;

/** Project modules and what each imports (project modules only), as esbuild resolves them. */
async function importGraph(): Promise<Map<string, string[]>> {
  const entryPoints = [
    ...readdirSync(`${ROOT}functions`).map((name) => `functions/${name}/index.ts`),
    'cli/main.ts',
    'infra/app.ts',
    'src/pipeline/local-execution.ts',
    'dev/bench/main.ts',
  ];
  const { metafile } = await build({
    absWorkingDir: ROOT,
    entryPoints,
    bundle: true,
    write: false,
    metafile: true,
    outdir: 'out',
    platform: 'node',
    format: 'esm',
    packages: 'external',
    logLevel: 'silent',
    splitting: true,
  });
  const project = (path: string) => !path.startsWith('node_modules/') && !path.includes(':') && /\.(ts|mjs|js)$/.test(path);
  const out = new Map<string, string[]>();
  for (const [path, input] of Object.entries((metafile as Metafile).inputs)) {
    if (!project(path)) continue;
    out.set(path, input.imports.map((i) => i.path).filter(project));
  }
  return out;
}

/**
 * What the modules under `dir` import, type-only imports included (esbuild drops those from its
 * graph), as project paths: `src/monitor/status.ts -> src/lake/currency.ts`.
 */
function importsUnder(dir: string): string[] {
  const files = readdirSync(`${ROOT}${dir}`, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.ts'));
  return files.flatMap((name) => {
    const path = join(dir, name);
    const text = readFileSync(`${ROOT}${path}`, 'utf8');
    const specifiers = [...text.matchAll(/\bfrom\s+'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]);
    return specifiers.map((s) => `${path} -> ${relative(ROOT, join(ROOT, dirname(path), s)).replace(/\.js$/, '.ts')}`);
  });
}

/** Every cycle found by a depth-first walk, each as the list of modules around it. */
function cycles(edges: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of edges.get(node) ?? []) {
      if (state.get(next) === 'open') found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of edges.keys()) if (!state.has(node)) visit(node);
  return found;
}

describe('the import structure', () => {
  beforeAll(async () => {
    graph = await importGraph();
  });

  it('covers the project (every stage, the contracts, the lease)', () => {
    expect(graph.has('src/pipeline/contracts.ts')).toBe(true);
    expect(graph.has('src/lake/lease.ts')).toBe(true);
    for (const dir of STAGE_DIRS)
      expect(
        [...graph.keys()].some((path) => path.startsWith(dir)),
        dir,
      ).toBe(true);
  });

  it('has no import cycle', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('finds a cycle when there is one', () => {
    expect(
      cycles(
        new Map([
          ['a', ['b']],
          ['b', ['c']],
          ['c', ['a']],
        ]),
      ),
    ).toEqual([['a', 'b', 'c', 'a']]);
  });

  it('keeps the stage contracts free of the stages they describe', () => {
    const imported = graph.get('src/pipeline/contracts.ts') ?? [];
    expect(imported.filter((path) => STAGE_DIRS.some((dir) => path.startsWith(dir)))).toEqual([]);
  });

  it('lets no stage import the lease: the handler wrapper holds it', () => {
    const offenders = [...graph].filter(([path, imports]) => STAGE_DIRS.some((dir) => path.startsWith(dir)) && imports.includes('src/lake/lease.ts'));
    expect(offenders.map(([path]) => path)).toEqual([]);
  });

  it("keeps the views (src/monitor/) off src/pipeline/: they read the lake's records, types included", () => {
    const fromGraph = [...graph].flatMap(([path, imports]) =>
      path.startsWith('src/monitor/') ? imports.filter((i) => i.startsWith('src/pipeline/')).map((i) => `${path} -> ${i}`) : [],
    );
    const fromText = importsUnder('src/monitor').filter((edge) => edge.split(' -> ')[1].startsWith('src/pipeline/'));
    expect(importsUnder('src/monitor')).toContain('src/monitor/report/index.ts -> src/monitor/lake-state.ts');
    expect([...fromGraph, ...fromText]).toEqual([]);
  });

  it('keeps src/ independent of the CLI, the infrastructure and the development tools', () => {
    const offenders = [...graph].flatMap(([path, imports]) =>
      path.startsWith('src/') ? imports.filter((i) => /^(cli|infra|dev|functions)\//.test(i)).map((i) => `${path} -> ${i}`) : [],
    );
    expect(offenders).toEqual([]);
  });

  it('keeps the shipped CLI off dev/, but for the local services its start and remote commands drive', () => {
    const offenders = [...graph].flatMap(([path, imports]) =>
      path.startsWith('cli/') ? imports.filter((i) => i.startsWith('dev/') && !CLI_DEV_SERVICES.includes(i)).map((i) => `${path} -> ${i}`) : [],
    );
    expect(offenders).toEqual([]);
  });

  it('names only dev/ modules the CLI still imports among its local services', () => {
    const imported = new Set([...graph].flatMap(([path, imports]) => (path.startsWith('cli/') ? imports : [])));
    expect(CLI_DEV_SERVICES.filter((service) => !imported.has(service))).toEqual([]);
  });
});
