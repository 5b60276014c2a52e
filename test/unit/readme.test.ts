/**
 * The README's schema and configuration tables are derived from the code: these tests fail when
 * one changes without the other.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { CONFIG_REFERENCE } from '../../src/core/config.js';
import { rentalsSchemaMarkdown } from '../../src/core/schema.js';

async function section(name: string): Promise<string> {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
  const match = new RegExp(`<!-- ${name}:start -->\\n([\\s\\S]*?)\\n<!-- ${name}:end -->`).exec(readme);
  if (!match) throw new Error(`README has no ${name} section`);
  return match[1];
}

describe('README', () => {
  it('shows the rentals schema exactly as shared/schema.ts declares it', async () => {
    // Act
    const table = await section('schema');

    // Assess
    expect(table).toBe(rentalsSchemaMarkdown());
  });

  it('documents every environment variable the configuration reads', async () => {
    // Prepare
    const source = await readFile(new URL('../../src/core/config.ts', import.meta.url), 'utf8');
    const read = new Set([...source.matchAll(/env(?:\.|\[')([A-Z][A-Z0-9_]+)|read\w*\(env, '([A-Z][A-Z0-9_]+)'/g)].map((m) => m[1] ?? m[2]));

    // Act
    const table = await section('config');
    const documented = CONFIG_REFERENCE.map((c) => c.name);

    // Assess
    for (const name of read) expect(documented, `${name} is read but not documented`).toContain(name);
    for (const c of CONFIG_REFERENCE) expect(table).toContain(`| \`${c.name}\` | ${c.fallback} | ${c.meaning} |`);
  });
});
