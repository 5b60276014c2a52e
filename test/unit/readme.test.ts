/**
 * The README and `docs/` against what they describe: the generated sections (schema, configuration,
 * stages, bench figures) as `npm run docs` makes them, the stages named in prose and in the diagram
 * as the registry declares them, and the links between the documents.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { benchMarkdown } from '../../dev/bench/markdown.js';
import { BENCH_RESULTS, fillSection, README_SECTIONS, readBenchResults, readmeSection, sectionOf } from '../../dev/readme-sections.js';
import { VARIABLES } from '../../src/core/config.js';
import { FLOW_STATES } from '../../src/pipeline/definition.js';
import { STAGE_LIST } from '../../src/pipeline/stages.js';

const ROOT = new URL('../../', import.meta.url);
const read = (path: string): Promise<string> => readFile(new URL(path, ROOT), 'utf8');

/** The README and every Markdown document under docs/, by path. */
async function documents(): Promise<Map<string, string>> {
  const docs = (await readdir(new URL('docs/', ROOT))).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`);
  return new Map(await Promise.all(['README.md', ...docs].map(async (path) => [path, await read(path)] as const)));
}

const NUMBER_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve'];

/** Every count of functions said in prose ("Seven Lambda functions", "seven ARM64 Node.js 24 functions", "six functions"), as numbers. */
function functionCounts(text: string): number[] {
  const counted = new RegExp(`\\b(\\d+|${NUMBER_WORDS.join('|')}) (?:Lambda |ARM64 Node\\.js \\d+ )?functions\\b`, 'gi');
  return [...text.matchAll(counted)].map((m) => (/^\d+$/.test(m[1]) ? Number(m[1]) : NUMBER_WORDS.indexOf(m[1].toLowerCase())));
}

/** The node ids of the README's mermaid diagram. */
function diagramNodes(readme: string): Set<string> {
  const diagram = /```mermaid\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  const ids = new Set<string>();
  for (const line of diagram.split('\n').slice(1)) {
    const subgraph = /^\s*subgraph (\w+)/.exec(line);
    if (subgraph) {
      ids.add(subgraph[1]);
      continue;
    }
    // A node is a word at the start of a line or after an arrow, before its optional label.
    for (const m of line.matchAll(/(?:^\s*|(?:-->|\.->|--\s[^-]*-->)\s*)(\w+)/g)) if (m[1] !== 'end') ids.add(m[1]);
  }
  return ids;
}

describe('README and docs', () => {
  it.each(Object.keys(README_SECTIONS))('show the %s section as the code makes it (npm run docs)', async (name) => {
    // Act
    const section = await readmeSection(name);

    // Assess
    expect(section, `the ${name} section is stale: run npm run docs`).toBe(README_SECTIONS[name]());
  });

  it("shows each numeric variable's bounds and each choice in the configuration table", async () => {
    // Act
    const rows = (await readmeSection('config')).split('\n').map((line) => line.split(' | ').map((cell) => cell.replace(/^\| |`| \|$/g, '')));
    const bounds = Object.fromEntries(rows.slice(2).map((cells) => [cells[0], cells[2]]));

    // Assess
    expect(rows[0]).toEqual(['variable', 'default', 'bounds', 'meaning']);
    expect(bounds).toMatchObject({
      BATCH_ROWS: 'an integer from 1 to 1,048,576',
      ROW_GROUP_ROWS: 'an integer from 1,024 to 16,777,216',
      ROWS_PER_FILE: 'an integer from ROW_GROUP_ROWS to 1,000,000,000',
      RANGE_MAX_ROWS: 'an integer from 1 to 1,000,000,000',
      PARTITION_LOCK_TTL_SECONDS: 'an integer from 10 to 3,600',
      REPUBLISH_LOOKBACK_DAYS: 'an integer from 0 to 366',
      QUALITY_MAX_NULL_RATE: 'a number from 0 to 1',
      QUALITY_MAX_DUPLICATE_IDS: 'an integer from 0 up',
      QUALITY_MAX_DAY_OVER_DAY_CHANGE: 'a number from 0 to 1,000',
      DATABASE_PORT: 'an integer from 1 to 65,535',
      DATABASE_SSLMODE: 'disable, require, verify-full',
      LAKE_URI: '-',
    });
  });

  it('documents every environment variable the configuration reads', async () => {
    // Prepare
    const source = await read('src/core/config.ts');
    const readNames = new Set([...source.matchAll(/env(?:\.|\[')([A-Z][A-Z0-9_]+)|read\w*\(env, '([A-Z][A-Z0-9_]+)'/g)].map((m) => m[1] ?? m[2]));

    // Act
    const documented = VARIABLES.map((v) => v.name);

    // Assess
    expect(readNames.size).toBeGreaterThan(10);
    for (const name of readNames) expect(documented, `${name} is read but not documented`).toContain(name);
  });

  it("lists the registry's stages, in order, in the README's stage table", async () => {
    // Prepare
    const table = sectionOf(await read('README.md'), 'stages');

    // Act
    const listed = [...table.matchAll(/^\| \*\*(\w+)\*\* \|/gm)].map((m) => m[1]);

    // Assess
    expect(listed).toEqual(STAGE_LIST.map((spec) => spec.state));
  });

  it('says as many functions as the registry has stages, wherever it counts them', async () => {
    // Prepare
    const docs = await documents();

    // Act
    const counts = [...docs].flatMap(([path, text]) => functionCounts(text).map((count) => ({ path, count })));

    // Assess
    expect(counts.filter((c) => c.path === 'README.md').length, 'the README counts its functions').toBeGreaterThan(0);
    for (const { path, count } of counts) expect(count, `${path} counts ${count} functions`).toBe(STAGE_LIST.length);
  });

  it("draws every task state of the registry in the README's diagram, and no state the definition lacks", async () => {
    // Prepare
    const known = new Set<string>([...STAGE_LIST.map((spec) => spec.state), ...Object.values(FLOW_STATES), 'input']);

    // Act
    const nodes = diagramNodes(await read('README.md'));

    // Assess
    for (const spec of STAGE_LIST) expect([...nodes], `the diagram omits ${spec.state}`).toContain(spec.state);
    for (const node of nodes) expect(known.has(node), `the diagram draws ${node}, which is no state of the definition`).toBe(true);
  });

  it('links only to files that exist', async () => {
    // Prepare
    const docs = await documents();

    // Act
    const broken = [...docs].flatMap(([path, text]) =>
      [...text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)]
        .map((m) => m[1])
        .filter((target) => !/^[a-z]+:/.test(target))
        .filter((target) => !existsSync(new URL(target, new URL(path, ROOT))))
        .map((target) => `${path} -> ${target}`),
    );

    // Assess
    expect(broken).toEqual([]);
  });
});

describe("docs/performance.md's figures", () => {
  it('are filled from the results file the bench wrote, and nothing else of the page changes', async () => {
    // Prepare: a results file whose figures differ from the kept one's
    const kept = readBenchResults(BENCH_RESULTS);
    const [day] = kept.days;
    const results = {
      ...kept,
      loadAverage: { atStart: 3.21, atEnd: 4.56 },
      days: [{ ...day, rows: 1_000_000, etlRun: { ...day.etlRun, seconds: 4.321, peakRssKb: 300 * 1024 }, etlRunRatioToFloor: 2.7 }],
    };
    const dir = await mkdtemp(join(tmpdir(), 'bench-results-'));
    const file = join(dir, 'bench-results.json');
    await writeFile(file, JSON.stringify(results));
    const page = await read('docs/performance.md');

    try {
      // Act
      const filled = fillSection(page, 'bench', benchMarkdown(readBenchResults(file)));

      // Assess
      const figures = sectionOf(filled, 'bench');
      expect(figures).toContain('load average 3.21 at the start, 4.56 at the end');
      expect(figures).toMatch(/\| \*\*4\.32\*\* \| 23,143 \| \*\*300 MiB\*\* \|.*\*\*2\.70 x the floor\*\*/);
      expect(figures).toContain('**1,000,000 rentals, one day**');
      expect(figures).toContain('at most 2 x the floor (**not met**) and 256 MiB of peak RSS (**not met**)');
      expect(figures).not.toBe(sectionOf(page, 'bench'));
      expect(filled.replace(figures, '')).toBe(page.replace(sectionOf(page, 'bench'), ''));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a page without the generated region', () => {
    // Act / Assess
    expect(() => fillSection('# Performance\n\nno figures here\n', 'bench', 'x')).toThrow(/no bench section/);
  });
});
