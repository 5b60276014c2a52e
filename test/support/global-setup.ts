/**
 * Builds dist/ and starts what the integration suites need, once per `npm test`:
 * - Postgres: TEST_DATABASE_URL when set (CI starts the machine's Postgres 15), else an embedded
 *   Postgres from npm under `.data/test-postgres-<pid>` (one per run, so runs at once do not meet).
 * - S3: TEST_S3_ENDPOINT when set, else `python3 -m moto.server` when moto is installed, else the
 *   S3 suites are skipped and say so; REQUIRE_S3=1 turns that skip into a failure.
 */
import { execFileSync } from 'node:child_process';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type RunningPostgres } from '../../dev/embedded-postgres.js';
import { startMoto, type RunningMoto } from '../../dev/moto.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    s3Endpoint: string | undefined;
    s3SkipReason: string | undefined;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // dist/ from the current sources: the CLI's process tests run it, and every local execution
  // loads the state-machine definition the build emits (`dist/definition.json`).
  const built = performance.now();
  execFileSync(process.execPath, ['dev/build.mjs'], { stdio: ['ignore', 'ignore', 'inherit'] });
  console.log(`[test setup] built dist/ in ${((performance.now() - built) / 1000).toFixed(1)} s`);

  let postgres: RunningPostgres | undefined;
  let moto: RunningMoto | undefined;

  let databaseUrl = process.env.TEST_DATABASE_URL;
  if (!databaseUrl) {
    postgres = await startEmbeddedPostgres(`.data/test-postgres-${process.pid}`, { ephemeral: true });
    databaseUrl = postgres.url;
    console.log(`[test setup] Postgres: embedded (no TEST_DATABASE_URL) on port ${postgres.port}`);
  } else {
    console.log('[test setup] Postgres: TEST_DATABASE_URL');
  }

  let s3Endpoint = process.env.TEST_S3_ENDPOINT;
  let s3SkipReason: string | undefined;
  if (!s3Endpoint) {
    const started = await startMoto();
    if ('failure' in started) s3SkipReason = started.failure;
    else {
      s3Endpoint = started.endpoint;
      moto = started;
    }
  }
  if (s3SkipReason) {
    if (process.env.REQUIRE_S3 === '1') throw new Error(`REQUIRE_S3=1 but no S3 endpoint: ${s3SkipReason}`);
    console.log(`[test setup] S3 suites SKIPPED: ${s3SkipReason}. Set TEST_S3_ENDPOINT to run them.`);
  } else {
    console.log(`[test setup] S3: ${s3Endpoint}`);
  }

  project.provide('databaseUrl', databaseUrl);
  project.provide('s3Endpoint', s3Endpoint);
  project.provide('s3SkipReason', s3SkipReason);

  return async () => {
    await moto?.stop();
    await postgres?.stop();
  };
}
