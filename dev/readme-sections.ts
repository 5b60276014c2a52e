/**
 * The generated sections of the README and of `docs/`, made from what declares them (the code, or
 * the bench's results file): `npm run docs` writes them, and `test/unit/readme.test.ts` fails when a
 * document differs. A section is `<!-- name:start -->` … `<!-- name:end -->` in its document.
 */
import { readFileSync } from 'node:fs';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { configurationMarkdown } from '../src/core/config.js';
import { rentalsSchemaMarkdown } from '../src/core/schema.js';
import { benchMarkdown, type BenchResultsFile } from './bench/markdown.js';
import { STAGE_LIST } from '../src/pipeline/stages.js';
import { costsMarkdown } from '../infra/costs-section.js';

/** Each generated section and its content. */
export const README_SECTIONS: Readonly<Record<string, () => string>> = {
  schema: rentalsSchemaMarkdown,
  config: configurationMarkdown,
  stages: stagesMarkdown,
  bench: () => benchMarkdown(readBenchResults(BENCH_RESULTS)),
  costs: () => {
    const results = readBenchResults(BENCH_RESULTS);
    const largest = results.days.reduce((a, b) => (b.rows > a.rows ? b : a));
    return costsMarkdown({ rows: largest.rows, stages: largest.stages.stages }, results.startedAt.slice(0, 10));
  },
};

/** The document each section lives in, relative to the project root. */
export const SECTION_DOCUMENTS: Readonly<Record<string, string>> = {
  schema: 'docs/reading.md',
  config: 'docs/operations.md',
  stages: 'README.md',
  bench: 'docs/performance.md',
  costs: 'docs/operations.md',
};

const ROOT = new URL('../', import.meta.url);

/**
 * The README's table of the stages, from the registry (`src/pipeline/stages.ts`) in pipeline order:
 * a stage added there appears here with `npm run docs`.
 */
export function stagesMarkdown(): string {
  const rows = STAGE_LIST.map((spec) => {
    const source = spec.needs.database ? 'yes' : 'no';
    return `| **${spec.state}** | \`${spec.name}\` | ${spec.description} | \`${spec.lease}\` | ${source} | ${spec.lambda.memoryMb} MB, ${spec.lambda.timeoutSeconds} s |`;
  });
  return ["| task state | function | what it does | its part in the day's lease | reads Postgres | Lambda |", '|---|---|---|---|---|---|', ...rows].join('\n');
}

/** The bench run `docs/performance.md` shows: kept by `npm run bench -- --docs`. */
export const BENCH_RESULTS = 'docs/performance.json';

/** A results file the bench wrote (`dev/bench/results/bench-*.json`, or `BENCH_RESULTS`), relative to the project root. */
export function readBenchResults(path: string): BenchResultsFile {
  return JSON.parse(readFileSync(new URL(path, ROOT), 'utf8')) as BenchResultsFile;
}

function pattern(name: string): RegExp {
  return new RegExp(`(<!-- ${name}:start -->\\n)([\\s\\S]*?)(\\n<!-- ${name}:end -->)`);
}

/** `text` with section `name` holding `content`; throws when `text` has no such section. */
export function fillSection(text: string, name: string, content: string): string {
  if (!pattern(name).test(text)) throw new Error(`no ${name} section (<!-- ${name}:start --> … <!-- ${name}:end -->)`);
  return text.replace(pattern(name), (_all, start, _old, end) => `${start}${content}${end}`);
}

/** The content of section `name` in `text`; throws when `text` has no such section. */
export function sectionOf(text: string, name: string): string {
  const match = pattern(name).exec(text);
  if (!match) throw new Error(`no ${name} section (<!-- ${name}:start --> … <!-- ${name}:end -->)`);
  return match[2];
}

/** The current content of section `name` in its document. */
export async function readmeSection(name: string): Promise<string> {
  const document = SECTION_DOCUMENTS[name];
  if (document === undefined) throw new Error(`${name} is no generated section`);
  return sectionOf(await readFile(new URL(document, ROOT), 'utf8'), name);
}

/** Rewrites every generated section of every document. */
export async function writeReadmeSections(): Promise<void> {
  for (const document of new Set(Object.values(SECTION_DOCUMENTS))) {
    const url = new URL(document, ROOT);
    let text = await readFile(url, 'utf8');
    for (const [name, make] of Object.entries(README_SECTIONS)) if (SECTION_DOCUMENTS[name] === document) text = fillSection(text, name, make());
    await writeFile(url, text);
  }
}

/**
 * Keeps the results file of a bench run (`npm run bench -- --docs`) as the one `docs/performance.md`
 * shows, and rewrites the generated sections from it. Returns where it was kept.
 */
export async function keepBenchResults(file: URL): Promise<string> {
  await copyFile(file, new URL(BENCH_RESULTS, ROOT));
  await writeReadmeSections();
  return BENCH_RESULTS;
}

if (import.meta.url === `file://${process.argv[1]}`) await writeReadmeSections();
