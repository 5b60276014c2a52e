/**
 * The README's generated sections, made from the code that declares them: `npm run docs` writes
 * them into README.md, and `test/unit/readme.test.ts` fails when the README differs.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { configurationMarkdown } from '../src/core/config.js';
import { rentalsSchemaMarkdown } from '../src/core/schema.js';

/** Each `<!-- name:start -->` … `<!-- name:end -->` section of the README and its content. */
export const README_SECTIONS: Readonly<Record<string, () => string>> = {
  schema: rentalsSchemaMarkdown,
  config: configurationMarkdown,
};

const README = new URL('../README.md', import.meta.url);

function pattern(name: string): RegExp {
  return new RegExp(`(<!-- ${name}:start -->\\n)([\\s\\S]*?)(\\n<!-- ${name}:end -->)`);
}

/** The README's current content of section `name`. */
export async function readmeSection(name: string): Promise<string> {
  const match = pattern(name).exec(await readFile(README, 'utf8'));
  if (!match) throw new Error(`README has no ${name} section`);
  return match[2];
}

/** Rewrites every generated section of the README. */
export async function writeReadmeSections(): Promise<void> {
  let readme = await readFile(README, 'utf8');
  for (const [name, make] of Object.entries(README_SECTIONS)) readme = readme.replace(pattern(name), (_all, start, _old, end) => `${start}${make()}${end}`);
  await writeFile(README, readme);
}

if (import.meta.url === `file://${process.argv[1]}`) await writeReadmeSections();
