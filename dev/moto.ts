/**
 * A moto S3 server (`python3 -m moto.server`) on a free port, for the tests and the benchmark on
 * machines without an S3 endpoint of their own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './embedded-postgres.js';

export interface RunningMoto {
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** True once `url` answers any HTTP request, false after `timeoutMs`. */
export async function answers(url: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      await fetch(url);
      return true;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  return false;
}

/** Starts moto; resolves with the running server, or with why it did not come up (moto missing, say). */
export async function startMoto(): Promise<RunningMoto | { readonly failure: string }> {
  const port = await freePort();
  const child: ChildProcess = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => {
    stderr = (stderr + s).slice(-2000);
  });
  const exited = new Promise<string>((resolve) => {
    child.on('error', (error) => resolve(`python3 could not start: ${error.message}`));
    child.on('exit', (code) => resolve(`python3 -m moto.server exited with code ${code}: ${stderr.trim().split('\n').at(-1) ?? ''}`));
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const failure = await Promise.race([answers(endpoint, 20_000).then((up) => (up ? undefined : 'moto did not answer within 20 s')), exited]);
  if (failure !== undefined) {
    child.kill();
    return { failure };
  }
  return {
    endpoint,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill();
      await gone;
    },
  };
}
