/**
 * The `etl` command as a user runs it, in a process of its own: the built executable the package's
 * `bin` names (`npm run build` makes it), and the exit code reaching the shell.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runEtl } from '../support/cli.js';

const etl = (args: string[], env: Record<string, string> = {}) => runEtl(args, { env: { ...process.env, ...env } });

describe('the etl command', () => {
  it('exits 2 with a one-line error for a bad flag', () => {
    // Act
    const result = etl(['seed', '--bogus']);

    // Assess
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^etl: Unknown option '--bogus'/m);
  });

  it('exits 2 for an impossible date, naming the field', () => {
    // Act
    const result = etl(['run', '--date', '2025-02-30'], { LAKE_URI: '/tmp/never-written' });

    // Assess
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^etl: date: expected a calendar date as YYYY-MM-DD that exists/m);
  });

  it('prints the usage and exits 0 for --help', () => {
    // Act
    const result = etl(['--help']);

    // Assess
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^usage: etl <command>/);
  });

  it('exits 1 when a day asked for is not published', () => {
    // Prepare
    const lake = mkdtempSync(join(tmpdir(), 'cli-process-'));

    // Act
    const result = etl(['read', '--date', '2025-03-01'], { LAKE_URI: lake });
    rmSync(lake, { recursive: true, force: true });

    // Assess
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^2025-03-01: not published/m);
  });
});
