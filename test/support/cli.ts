/**
 * The `etl` command as a user runs it: the built executable the package's `bin` names (the global
 * set-up builds it), run in a process of its own so that exit codes, signals and what reaches the
 * terminal are the real ones.
 */
import { type ChildProcess, type SpawnOptions, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** The absolute path of the built `etl`, as package.json's `bin` names it. */
export const ETL_BIN = resolve((JSON.parse(readFileSync('package.json', 'utf8')) as { bin: { etl: string } }).bin.etl);

export interface EtlProcessOptions {
  /** The whole environment of the process (this process's, by default). */
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Killed after this long (60 s by default). */
  readonly timeoutMs?: number;
  /** Options for `node` itself, before the script (`--import`, say). */
  readonly nodeArgs?: readonly string[];
}

export interface EtlResult {
  /** The exit code, or null when a signal ended the process. */
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** How long the process ran. */
  readonly seconds: number;
}

/** Runs `etl args` to its end and returns its exit code, its output and how long it took. */
export function runEtl(args: readonly string[], options: EtlProcessOptions = {}): EtlResult {
  const started = performance.now();
  const result = spawnSync(process.execPath, [...(options.nodeArgs ?? []), ETL_BIN, ...args], {
    cwd: options.cwd,
    encoding: 'utf8',
    env: options.env ?? process.env,
    timeout: options.timeoutMs ?? 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, seconds: (performance.now() - started) / 1000 };
}

/** Starts `etl args` and returns the running process, for tests that signal it while it works. */
export function spawnEtl(args: readonly string[], options: { env?: NodeJS.ProcessEnv; stdio?: SpawnOptions['stdio'] } = {}): ChildProcess {
  return spawn(process.execPath, [ETL_BIN, ...args], { env: options.env ?? process.env, stdio: options.stdio ?? 'ignore' });
}
