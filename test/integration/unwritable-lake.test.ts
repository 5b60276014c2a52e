/**
 * A directory lake the user cannot write: one line naming the folder, exit 2, before anything runs
 * (as an S3 lake that cannot be listed is refused), never a failed execution under a summary that
 * says ok. And a summary of no day says so instead of `0/0 ok`.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { summaryTable } from '../../cli/summary.js';
import { runMain } from '../support/capture.js';
import { createTestDatabase } from '../support/databases.js';

/**
 * An existing folder this process may not write: a folder made read-only (mode 555), or, as root
 * (whom modes do not stop), /sys, which the kernel lets no one write; undefined when neither holds.
 */
async function readOnlyFolder(root: string): Promise<string | undefined> {
  if (process.getuid?.() !== 0) {
    const folder = join(root, 'read-only');
    await mkdir(folder);
    await chmod(folder, 0o555);
    return folder;
  }
  return existsSync('/sys/kernel') ? '/sys' : undefined;
}

describe('an unwritable directory lake', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let root: string;
  let readOnly: string | undefined;

  beforeAll(async () => {
    database = await createTestDatabase();
    root = await mkdtemp(join(tmpdir(), 'unwritable-'));
    readOnly = await readOnlyFolder(root);
  });
  afterAll(async () => {
    await database?.drop();
    if (readOnly?.startsWith(root)) await chmod(readOnly, 0o755);
    await rm(root, { recursive: true, force: true });
  });

  it.each([
    ['run', ['run', '--date', '2025-03-01']],
    ['backfill', ['backfill', '--from', '2025-03-01', '--to', '2025-03-02']],
  ])('%s refuses a read-only folder: one line, exit 2, nothing run', async (_name, argv) => {
    if (readOnly === undefined) return expect.fail('no read-only folder on this machine (not root, and no /sys as root)');

    // Act
    const { code, out, err } = await runMain(argv, { DATABASE_URL: database.url, LAKE_URI: readOnly });

    // Assess
    expect(code).toBe(2);
    expect(out).toEqual([]);
    expect(err).toEqual([
      expect.stringMatching(
        new RegExp(
          `^etl: LAKE_URI: expected a folder this user can write \\(or create\\), or set LAKE_URI to one, got "${readOnly}: cannot write .*\\(not permitted\\)"$`,
        ),
      ),
    ]);
  });

  it('refuses a lake whose path runs through a file, writing nothing', async () => {
    // Prepare
    const file = join(root, 'a-file');
    await writeFile(file, 'x');

    // Act
    const { code, out, err } = await runMain(['run', '--date', '2025-03-01'], { DATABASE_URL: database.url, LAKE_URI: join(file, 'lake') });

    // Assess
    expect(code).toBe(2);
    expect(out).toEqual([]);
    expect(err).toEqual([
      expect.stringMatching(/^etl: LAKE_URI: expected a folder this user can write .*a-file\/lake: cannot write .* \(a file is in the way\)"$/),
    ]);
    expect(await readdir(root)).not.toContain('lake');
  });

  it('a summary of no day says no day ran, not 0/0 ok', () => {
    // Act
    const table = summaryTable([]);

    // Assess
    expect(table.split('\n').at(-1)).toMatch(/^total .* no day ran$/);
    expect(table).not.toMatch(/ok/);
  });
});
