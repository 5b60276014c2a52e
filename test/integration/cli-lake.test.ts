/**
 * An S3 lake the command cannot use, as a user meets it from the shell: missing AWS credentials or
 * an endpoint nobody answers on are configuration errors (exit code 2) said in a few seconds, naming
 * what is missing and how to fix it, instead of the pipeline's retries giving up after most of a
 * minute. With a reachable endpoint and credentials the same command runs and says where the lake is.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { freePort } from '../../dev/embedded-postgres.js';
import { seed } from '../../src/source/synthetic/load.js';
import { parseDay } from '../../src/core/day.js';
import { runEtl } from '../support/cli.js';
import { createTestDatabase } from '../support/databases.js';
import { createBucket, s3Endpoint, s3Env } from '../support/s3.js';

const DAY = '2025-05-01';

/** This process's environment without any AWS setting, and with no file or instance to find credentials in. */
function withoutAws(): Record<string, string> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_'))) as Record<string, string>;
  return { ...env, AWS_SHARED_CREDENTIALS_FILE: '/nonexistent', AWS_CONFIG_FILE: '/nonexistent', AWS_EC2_METADATA_DISABLED: 'true' };
}

/** Runs the built `etl` with exactly `env`; returns its exit code, output and how long it took. */
const etl = (args: string[], env: Record<string, string>) => runEtl(args, { env, timeoutMs: 30_000 });

describe('etl with an S3 lake', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let bucket: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    if (!s3Endpoint) return;
    bucket = await createBucket(s3Endpoint);
    const client = new pg.Client(database.url);
    await client.connect();
    await seed(client, { from: parseDay(DAY), to: parseDay(DAY), rentalsPerDay: 200, seed: 3 });
    await client.end();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it.each([
    ['run', '--date', DAY],
    ['backfill', '--from', DAY, '--to', DAY],
    ['validate', '--date', DAY],
    ['read', '--date', DAY],
  ])('refuses missing AWS credentials in %s with exit code 2 in seconds, saying what to set', (...args) => {
    // Prepare
    const env = { ...withoutAws(), DATABASE_URL: database.url, LAKE_URI: 's3://no-credentials-bucket/lake' };

    // Act
    const result = etl(args, env);

    // Assess
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toMatch(
      /^etl: AWS credentials: expected AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile \(AWS_PROFILE; .*\), or an instance or task role, got "none found for s3:\/\/no-credentials-bucket\/lake: /m,
    );
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.seconds).toBeLessThan(5);
  });

  it('refuses an S3 endpoint nobody answers on with exit code 2 in seconds, naming it', async () => {
    // Prepare
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const env = { ...withoutAws(), ...s3Env(endpoint), DATABASE_URL: database.url, LAKE_URI: 's3://closed-port-bucket/lake' };

    // Act
    const result = etl(['run', '--date', DAY], env);

    // Assess
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toMatch(
      new RegExp(`^etl: S3 endpoint: expected an S3 endpoint answering within 3 s \\(.*AWS_ENDPOINT_URL.*\\), got "${endpoint}: ECONNREFUSED`, 'm'),
    );
    expect(result.seconds).toBeLessThan(5);
  });

  describe.skipIf(!s3Endpoint)('on a reachable endpoint', () => {
    it('refuses a bucket that does not exist with exit code 2, naming LAKE_URI', () => {
      // Prepare
      const env = { ...withoutAws(), ...s3Env(s3Endpoint!), DATABASE_URL: database.url, LAKE_URI: `s3://${bucket}-missing/lake` };

      // Act
      const result = etl(['run', '--date', DAY], env);

      // Assess
      expect(result.status, result.stderr).toBe(2);
      expect(result.stderr).toMatch(new RegExp(`^etl: LAKE_URI: expected an existing bucket .*got "s3://${bucket}-missing/lake: NoSuchBucket`, 'm'));
      expect(result.seconds).toBeLessThan(5);
    });

    it('runs the day with credentials and prints where the lake is', () => {
      // Prepare
      const env = { ...withoutAws(), ...s3Env(s3Endpoint!), DATABASE_URL: database.url, LAKE_URI: `s3://${bucket}/lake`, POWERTOOLS_LOG_LEVEL: 'WARN' };

      // Act
      const result = etl(['run', '--date', DAY], env);

      // Assess
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/total\s+200\s+200/);
      expect(result.stdout).toMatch(
        new RegExp(`^The lake is in s3://${bucket}/lake \\(the files of a day: (?:etl|npm run -s etl --) read --date ${DAY}\\)\\.$`, 'm'),
      );
    });
  });
});
