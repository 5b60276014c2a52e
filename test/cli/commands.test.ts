/**
 * Each command reads only its own flags: a flag of another command, a stray argument or a missing
 * subcommand is refused with exit code 2, naming it, before anything runs.
 */
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { capture } from '../support/capture.js';

describe('the flags of each command', () => {
  it.each([
    [['run', '--date', '2025-03-01', '--concurrency', '2'], /^etl: Unknown option '--concurrency'/],
    [['run', '--from', '2025-03-01', '--to', '2025-03-02'], /^etl: Unknown option '--from'/],
    [['backfill', '--date', '2025-03-01'], /^etl: Unknown option '--date'/],
    [['seed', '--from', '2025-03-01', '--to', '2025-03-01', '--rentals-per-day', '1', '--mode', 'append'], /^etl: Unknown option '--mode'/],
    [['validate', '--date', '2025-03-01', '--sql'], /^etl: Unknown option '--sql'/],
    [['read', '--date', '2025-03-01', '--rentals-per-day', '5'], /^etl: Unknown option '--rentals-per-day'/],
    [['start', '--date', '2025-03-01'], /^etl: Unknown option '--date'/],
    [['status', '--out', 'status.html'], /^etl: Unknown option '--out'/],
    [['report', '--json'], /^etl: Unknown option '--json'/],
    [['remote', '--date', '2025-03-01', '--concurrency', '4'], /^etl: Unknown option '--concurrency'/],
    [['run', '2025-03-01'], /^etl: Unexpected argument '2025-03-01'/],
    [['db'], /^etl: db: expected the subcommand migrate$/],
    [['db', 'migrate', 'now'], /^etl: db: expected the subcommand migrate, got "migrate now"/],
    [['db', 'migrate', '--date', '2025-03-01'], /^etl: Unknown option '--date'/],
  ])('refuses %j with exit code 2, naming what is wrong', async (argv, message) => {
    // Prepare
    const { err, io } = capture();

    // Act
    const code = await main(argv, {}, io);

    // Assess
    expect(code).toBe(2);
    expect(err[0]).toMatch(message);
  });

  it('names every command when the command is unknown', async () => {
    // Prepare
    const { err, io } = capture();

    // Act
    const code = await main(['deploy'], {}, io);

    // Assess
    expect(code).toBe(2);
    expect(err).toEqual([
      'etl: command: expected one of db, seed, run, backfill, validate, verify, compact, read, status, report, unlock, clean, start, remote, got "deploy"',
    ]);
  });

  it.each([[['--help']], [['help']], [['run', '--help']], [['remote', '-h']]])('prints the usage for %j and exits 0', async (argv) => {
    // Prepare
    const { out, io } = capture();

    // Act
    const code = await main(argv, {}, io);

    // Assess
    expect(code).toBe(0);
    expect(out[0]).toMatch(/^usage: etl <command>/);
    expect(out[0]).toMatch(/^ {2}remote --date D/m);
  });

  it('prints the usage and exits 2 without a command', async () => {
    // Prepare
    const { out, io } = capture();

    // Act
    const code = await main([], {}, io);

    // Assess
    expect(code).toBe(2);
    expect(out[0]).toMatch(/^usage: etl <command>/);
  });
});
