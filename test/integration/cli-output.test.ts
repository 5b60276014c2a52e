/**
 * What `run`, `backfill` and `validate` print: the outcome as JSON on stdout with `--json` (progress
 * stays on stderr), where the lake is, `--quiet` and `POWERTOOLS_LOG_LEVEL`, `validate` over a range,
 * and a day never published, which is said so and written nothing for.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seed } from '../../src/source/synthetic/load.js';
import { parseDay } from '../../src/core/day.js';
import { reportKey } from '../../src/lake/layout.js';
import { etlCommand } from '../../cli/invocation.js';
import { runMain } from '../support/capture.js';
import { createTestDatabase } from '../support/databases.js';

const PER_DAY = 300;
const [D1, D2, D3] = ['2025-04-01', '2025-04-02', '2025-04-03'];

describe('etl output', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let root: string;
  let lake: string;

  const etl = async (argv: string[], overrides: Record<string, string> = {}) => {
    const { code, out, err } = await runMain(argv, { DATABASE_URL: database.url, LAKE_URI: lake, ...overrides });
    return { code, stdout: out.join('\n'), stderr: err.join('\n') };
  };
  /** The folder of a day's reports, in the lake. */
  const reportsOf = (date: string) => join(lake, dirname(reportKey(parseDay(date), 'x')));

  beforeAll(async () => {
    database = await createTestDatabase();
    root = await mkdtemp(join(tmpdir(), 'cli-output-'));
    lake = join(root, 'lake');
    const client = new pg.Client(database.url);
    await client.connect();
    await seed(client, { from: parseDay(D1), to: parseDay(D3), rentalsPerDay: PER_DAY, seed: 5 });
    await client.end();
  });
  afterAll(async () => {
    await database?.drop();
    await rm(root, { recursive: true, force: true });
  });

  it('run --json prints the outcome as JSON on stdout and its progress on stderr', async () => {
    // Act
    const result = await etl(['run', '--date', D1, '--json']);

    // Assess
    expect(result.code, result.stderr).toBe(0);
    const parsed = JSON.parse(result.stdout);
    expect(parsed).toMatchObject({
      command: 'run',
      lake,
      ok: true,
      status: 'SUCCEEDED',
      days: [{ date: D1, verdict: 'passed', sourceRows: PER_DAY, writtenRows: PER_DAY, files: 1 }],
    });
    expect(parsed.days[0].seconds).toBeGreaterThan(0);
    expect(result.stderr).toMatch(new RegExp(`^\\[1/1\\] ${D1} passed`, 'm'));
  });

  it('backfill --json prints every day of the range', async () => {
    // Act
    const result = await etl(['backfill', '--from', D1, '--to', D2, '--json']);

    // Assess
    expect(result.code, result.stderr).toBe(0);
    const parsed = JSON.parse(result.stdout);
    expect(parsed).toMatchObject({ command: 'backfill', lake, ok: true, status: 'SUCCEEDED' });
    expect(parsed.days.map((d: { date: string; verdict: string }) => [d.date, d.verdict])).toEqual([
      [D1, 'passed'],
      [D2, 'passed'],
    ]);
  });

  it('run prints where the lake is after its summary', async () => {
    // Act
    const result = await etl(['run', '--date', D2]);

    // Assess
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/total\s+300\s+300/);
    // Run in the project, without `etl` on the PATH: the form that runs as printed here.
    expect(result.stdout.split('\n').at(-1)).toBe(`The lake is in ${lake} (the files of a day: ${etlCommand()} read --date ${D2}).`);
    expect(['etl', 'npm run -s etl --']).toContain(etlCommand());
  });

  it('--quiet prints no progress and no stage logs; POWERTOOLS_LOG_LEVEL=INFO prints both', async () => {
    // Act
    const quiet = await etl(['run', '--date', D1, '--quiet'], { POWERTOOLS_LOG_LEVEL: 'INFO' });
    const verbose = await etl(['run', '--date', D1], { POWERTOOLS_LOG_LEVEL: 'INFO' });

    // Assess
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stderr).toBe('');
    expect(quiet.stdout).toMatch(/1\/1 ok/);
    expect(verbose.code, verbose.stderr).toBe(0);
    expect(verbose.stderr).toMatch(new RegExp(`extract ${D1} extracted rows=${PER_DAY}`));
    expect(verbose.stderr).toMatch(new RegExp(`^\\[1/1\\] ${D1} passed`, 'm'));
  });

  it('refuses a POWERTOOLS_LOG_LEVEL it does not know with exit code 2', async () => {
    // Act
    const result = await etl(['run', '--date', D1], { POWERTOOLS_LOG_LEVEL: 'LOUD' });

    // Assess
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^etl: POWERTOOLS_LOG_LEVEL: expected one of TRACE, DEBUG, INFO, WARN, ERROR, CRITICAL, SILENT, got "LOUD"$/);
  });

  it('validate of a day never published says so, exits 1 and writes no report', async () => {
    // Act
    const result = await etl(['validate', '--date', D3]);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(new RegExp(`^${D3}: not published \\(no _manifests/.*\\), nothing to validate$`));
    expect(existsSync(reportsOf(D3))).toBe(false);
  });

  it('validate --from --to re-checks each day of the range and sums them up', async () => {
    // Act
    const result = await etl(['validate', '--from', D1, '--to', D2]);

    // Assess
    expect(result.code, result.stdout).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines.filter((l) => / passed \(report: _reports\//.test(l)).map((l) => l.slice(0, 10))).toEqual([D1, D2]);
    expect(lines.at(-1)).toBe('2 days: 2 passed, 0 failed, 0 not published');
  });

  it('validate --json prints each day of a range, an unpublished one included, as JSON', async () => {
    // Act
    const result = await etl(['validate', '--from', D1, '--to', D3, '--json']);

    // Assess
    expect(result.code).toBe(1);
    const parsed = JSON.parse(result.stdout);
    expect(parsed).toMatchObject({ command: 'validate', lake, ok: false });
    expect(parsed.days).toHaveLength(3);
    expect(parsed.days[0]).toMatchObject({ date: D1, verdict: 'passed', kind: 'recheck', sourceCount: PER_DAY, rows: PER_DAY });
    expect(parsed.days[0].reportKey).toMatch(/^_reports\/rentals\/year=2025\/month=04\/day=01\//);
    const checks = parsed.days[0].checks as Array<{ check: string; passed: boolean }>;
    expect(checks.length).toBeGreaterThan(0);
    expect(checks.filter((c) => !c.passed)).toEqual([]);
    expect(checks).toEqual(JSON.parse(await readFile(join(lake, parsed.days[0].reportKey), 'utf8')).checks);
    expect(parsed.days[2]).toEqual({ date: D3, verdict: 'not published' });
    expect(result.stderr).toMatch(new RegExp(`^\\[3/3\\] ${D3} not published$`, 'm'));
    expect(existsSync(reportsOf(D3))).toBe(false);
  });

  it('every command with --json prints one document in the envelope { command, lake, ok }, seconds to the ms', async () => {
    // Prepare: the commands that take --json (`etl --help`), each as a user would call it.
    const calls: Array<[string, string[], boolean]> = [
      ['run', ['run', '--date', D1], true],
      ['backfill', ['backfill', '--from', D1, '--to', D2], true],
      ['validate', ['validate', '--date', D3], false],
      ['status', ['status'], true],
      ['verify', ['verify', '--date', D1], true],
      ['compact', ['compact', '--date', D1], true],
    ];

    for (const [command, argv, ok] of calls) {
      // Act
      const result = await etl([...argv, '--json']);

      // Assess
      expect(result.code, `${command}: ${result.stderr}`).toBe(ok ? 0 : 1);
      const parsed = JSON.parse(result.stdout) as Record<string, unknown>;
      expect(Object.keys(parsed).slice(0, 3), command).toEqual(['command', 'lake', 'ok']);
      expect(parsed, command).toMatchObject({ command, lake, ok });
      const seconds = [...result.stdout.matchAll(/"(?:\w*[sS]econds)": (-?[\d.e-]+)/g)].map((m) => m[1]);
      for (const value of seconds) expect(value, `${command} seconds`).toMatch(/^-?\d+(\.\d{1,3})?$/);
      if (command === 'run') expect(seconds.length).toBeGreaterThan(0);
    }
  });

  it('read of a day never published exits 1, with --sql as without', async () => {
    // Act
    const files = await etl(['read', '--date', D3]);
    const sql = await etl(['read', '--date', D3, '--sql']);

    // Assess
    expect(files.code).toBe(1);
    expect(sql.code).toBe(1);
    expect(sql.stdout).toBe('');
  });
});
