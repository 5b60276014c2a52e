#!/usr/bin/env node
// Entry point of `npm run bench`: runs the TypeScript benchmark through tsx's loader. With `--docs`,
// the results file this run writes is kept as docs/performance.json and docs/performance.md's
// generated figures are rewritten from it (`dev/readme-sections.ts`).
import { readdir } from 'node:fs/promises';
import { register } from 'tsx/esm/api';

register();
const args = process.argv.slice(2);
const docs = args.includes('--docs');
const results = new URL('../dev/bench/results/', import.meta.url);
const before = new Set(await readdir(results).catch(() => []));
const { main } = await import('../dev/bench/main.ts');
process.exitCode = await main(args.filter((arg) => arg !== '--docs'));
if (docs && process.exitCode === 0) {
  const written = (await readdir(results)).filter((name) => name.startsWith('bench-') && !before.has(name)).sort();
  if (written.length === 0) throw new Error('--docs: the bench wrote no results file under dev/bench/results/');
  const { keepBenchResults } = await import('../dev/readme-sections.ts');
  const kept = await keepBenchResults(new URL(written.at(-1), results));
  process.stderr.write(`[bench] kept as ${kept} and written into docs/performance.md\n`);
}
