/**
 * The `etl` command as a user runs it, in a process of its own: the exit code reaches the shell.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

function etl(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['bin/etl.mjs', ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
}

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
});
