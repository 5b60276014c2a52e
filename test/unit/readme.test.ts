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
    const source = await readFile(new URL('../../src/core/config.ts', import.meta.url), 'utf8');
    const read = new Set([...source.matchAll(/env(?:\.|\[')([A-Z][A-Z0-9_]+)|read\w*\(env, '([A-Z][A-Z0-9_]+)'/g)].map((m) => m[1] ?? m[2]));

    // Act
    const documented = VARIABLES.map((v) => v.name);

    // Assess
    expect(read.size).toBeGreaterThan(10);
    for (const name of read) expect(documented, `${name} is read but not documented`).toContain(name);
  });
});
