/**
 * The README's schema and configuration tables are generated from the code (`npm run docs`):
 * these tests fail when one changes without the other.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { VARIABLES } from '../../src/core/config.js';
import { README_SECTIONS, readmeSection } from '../../dev/readme-sections.js';

describe('README', () => {
  it.each(Object.keys(README_SECTIONS))('shows the %s section as the code makes it (npm run docs)', async (name) => {
    // Act
    const section = await readmeSection(name);

    // Assess
    expect(section, `the README's ${name} section is stale: run npm run docs`).toBe(README_SECTIONS[name]());
  });

  it('documents every environment variable the configuration reads', async () => {
    // Prepare
    const source = await readFile(new URL('../../src/core/config.ts', import.meta.url), 'utf8');
    const read = new Set([...source.matchAll(/env(?:\.|\[')([A-Z][A-Z0-9_]+)|read\w*\(env, '([A-Z][A-Z0-9_]+)'/g)].map((m) => m[1] ?? m[2]));

    // Act
    const documented = VARIABLES.map((v) => v.name);

    // Assess
    expect(read.size).toBeGreaterThan(10);
    for (const name of read) expect(documented, `${name} is read but not documented`).toContain(name);
  });
});
