/**
 * The CLI's defaults (the lake, `.data/`) live in the project root whatever subfolder a command runs
 * in: `etl status` in `docs/` reads the lake `npm start` made, not a `docs/lake` nobody made.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultLakeUri } from '../../cli/options.js';
import { homeFolder, projectRoot } from '../../cli/project.js';
import { runEtl } from '../support/cli.js';

describe('the project root', () => {
  let tree: string;

  beforeAll(async () => {
    tree = await mkdtemp(join(tmpdir(), 'project-root-'));
    await writeFile(join(tree, 'package.json'), JSON.stringify({ name: 'pg-lake-etl' }));
    await mkdir(join(tree, 'docs', 'deeper'), { recursive: true });
    await mkdir(join(tree, 'other'));
    // A package of another name between the folder and the root is not the root.
    await writeFile(join(tree, 'other', 'package.json'), JSON.stringify({ name: 'something-else' }));
  });
  afterAll(async () => {
    await rm(tree, { recursive: true, force: true });
  });

  it('is the nearest folder above holding the package.json named pg-lake-etl', () => {
    expect(projectRoot(join(tree, 'docs', 'deeper'))).toBe(tree);
    expect(projectRoot(join(tree, 'other'))).toBe(tree);
    expect(projectRoot(tree)).toBe(tree);
    expect(defaultLakeUri(join(tree, 'docs', 'deeper'))).toBe(join(tree, 'lake'));
  });

  it('is the working directory outside a checkout', () => {
    expect(projectRoot(tmpdir())).toBeUndefined();
    expect(homeFolder(tmpdir())).toBe(tmpdir());
  });

  it('holds the lake etl status reads when run from docs/', () => {
    // Prepare
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'LAKE_URI' && name !== 'DATABASE_URL'));

    // Act
    const result = runEtl(['status', '--json'], { cwd: resolve('docs'), env });

    // Assess
    expect(result.status, result.stderr).toBe(0);
    expect((JSON.parse(result.stdout) as { lake: string }).lake).toBe(resolve('lake'));
  });
});
