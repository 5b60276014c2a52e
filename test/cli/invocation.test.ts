/**
 * One way to call `etl` that works in a pipe, and the commands the CLI prints in the form that runs:
 * `etl` once on the PATH (`npm link`), else `npm run -s etl --` inside the project, else the
 * executable's own path.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { etlCommand } from '../../cli/invocation.js';
import { ETL_BIN } from '../support/cli.js';

describe('how etl is called', () => {
  let bin: string;

  beforeAll(async () => {
    // What `npm link` makes: an `etl` on the PATH linking to the built executable.
    bin = await mkdtemp(join(tmpdir(), 'etl-bin-'));
    await symlink(ETL_BIN, join(bin, 'etl'));
  });
  afterAll(async () => {
    await rm(bin, { recursive: true, force: true });
  });

  it('is etl when the PATH has this etl, else npm run -s etl -- in the project, else its path', () => {
    // Prepare
    const path = process.env.PATH ?? '';
    const outside = tmpdir();

    // Act & Assess
    expect(etlCommand({ PATH: `${bin}${delimiter}${path}` }, ETL_BIN, outside)).toBe('etl');
    expect(etlCommand({ PATH: '/nonexistent' }, ETL_BIN, resolve('docs'))).toBe('npm run -s etl --');
    expect(etlCommand({ PATH: '/nonexistent' }, ETL_BIN, outside)).toBe(ETL_BIN);
  });

  it('npm run -s etl -- prints only the command output on stdout, so it pipes', () => {
    // Prepare
    const env: NodeJS.ProcessEnv = { ...process.env, LAKE_URI: join(bin, 'lake') };
    delete env.DATABASE_URL;

    // Act
    const result = spawnSync('npm', ['run', '-s', 'etl', '--', 'status', '--json'], { cwd: resolve('docs'), env, encoding: 'utf8', timeout: 60_000 });

    // Assess
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ command: 'status', ok: true, days: [] });
  });
});
