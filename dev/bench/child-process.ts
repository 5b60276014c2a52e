/**
 * Runs one measurement in a fresh Node process, so its peak RSS and module initialisation are its
 * own. The child prints its result as JSON on the last line of stdout (anything before it, such as
 * a handler's log lines, is ignored).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Repository root: the children run from here so `--import tsx` and relative paths resolve. */
export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ChildOptions {
  readonly env?: Record<string, string | undefined>;
  /** Node flags before the script, e.g. `['--import', 'tsx']`. */
  readonly nodeArgs?: readonly string[];
}

/** Runs `node [nodeArgs] script ...args` and returns the JSON of its last stdout line. */
export async function runJsonChild<T>(script: string, args: readonly string[], options: ChildOptions = {}): Promise<T> {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), script, ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  const last = stdout.trimEnd().split('\n').at(-1) ?? '';
  if (code !== 0) {
    throw new Error(`${script} ${args.join(' ').slice(0, 200)} exited with ${code}:\n${stderr.trim().slice(-2000) || last}`);
  }
  try {
    return JSON.parse(last) as T;
  } catch {
    throw new Error(`${script} printed no JSON result; stdout ended with ${JSON.stringify(last.slice(-300))}`);
  }
}
