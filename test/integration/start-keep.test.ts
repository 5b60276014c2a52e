/**
 * `etl start --keep` as a newcomer runs it, in processes of their own and with no DATABASE_URL: the
 * embedded Postgres outlives the command, its DATABASE_URL is printed for the other commands, a
 * second `etl start` uses it, and `etl start --stop` stops it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_DAYS, DEMO_RENTALS_PER_DAY } from '../../cli/commands/start.js';
import { ETL_BIN, runEtl } from '../support/cli.js';

describe('etl start --keep', () => {
  let home: string;
  let env: Record<string, string>;
  const record = () => join(home, '.data/postgres.kept.json');

  /** Runs the built `etl` in the newcomer's directory. */
  const etl = (args: string[], extra: Record<string, string> = {}) => runEtl(args, { cwd: home, env: { ...env, ...extra }, timeoutMs: 240_000 });

  /** How many rentals the source at `url` holds, and the day of the latest. */
  const rentals = async (url: string) => {
    const client = new pg.Client(url);
    await client.connect();
    try {
      const { rows } = await client.query<{ n: string; last: string }>(
        `SELECT count(*) AS n, to_char(max(rent_start) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS last FROM rentals`,
      );
      return { count: Number(rows[0].n), lastDay: rows[0].last };
    } finally {
      await client.end();
    }
  };

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'start-keep-'));
    // Run as root, the server runs as the `postgres` user, which must reach its data directory.
    await chmod(home, 0o755);
    env = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'DATABASE_URL')) as Record<string, string>;
    env.LAKE_URI = join(home, 'lake');
    env.POWERTOOLS_LOG_LEVEL = 'WARN';
  });
  afterAll(async () => {
    // A failed test may leave the server running: stop it by the pid it recorded.
    if (existsSync(record())) {
      const { pid } = JSON.parse(readFileSync(record(), 'utf8')) as { pid: number };
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    await rm(home, { recursive: true, force: true });
  });

  it('leaves Postgres running with its DATABASE_URL printed, reuses it, and stops it with --stop', async () => {
    // Act
    const kept = etl(['start', '--keep']);
    const url = /^ {2}export DATABASE_URL=(postgres:\/\/\S+)$/m.exec(kept.stdout)?.[1];
    const source = url === undefined ? undefined : await rentals(url);
    const validate = etl(['validate', '--date', String(source?.lastDay)], { DATABASE_URL: String(url) });
    const again = etl(['start']);
    // Stopped with the command it printed, run as printed (outside the project: the executable's path).
    const printedStop = /^Stop it with: (.+)$/m.exec(kept.stdout)?.[1] ?? 'false';
    const stopped = spawnSync('sh', ['-c', printedStop], { cwd: home, env, encoding: 'utf8', timeout: 60_000 });
    const reachableAfterStop = await rentals(String(url)).then(
      () => true,
      () => false,
    );
    const stoppedTwice = etl(['start', '--stop']);

    // Assess
    expect(kept.status, kept.stderr).toBe(0);
    expect(url).toMatch(/^postgres:\/\/postgres:etl@127\.0\.0\.1:\d+\/postgres$/);
    expect(printedStop).toBe(`${ETL_BIN} start --stop`);
    expect(source?.count).toBe(DEMO_DAYS * DEMO_RENTALS_PER_DAY);
    expect(validate.status, validate.stdout + validate.stderr).toBe(0);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/^using the embedded Postgres kept running in \.data\/postgres \(pid \d+\)$/m);
    expect(again.stderr).toMatch(new RegExp(`${DEMO_DAYS} up to date, 0 to run`));
    expect(again.stdout).toContain(`export DATABASE_URL=${url}`);
    expect(stopped.status, stopped.stderr).toBe(0);
    expect(stopped.stdout).toMatch(/^stopped the embedded Postgres in \.data\/postgres \(pid \d+\)$/m);
    expect(reachableAfterStop).toBe(false);
    expect(existsSync(record())).toBe(false);
    expect(stoppedTwice.stdout).toMatch(/^no embedded Postgres is kept running in \.data\/postgres$/m);
  }, 600_000);
});
