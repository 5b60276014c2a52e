/**
 * `etl` run in this process with its output collected line by line instead of printed, for tests
 * of what a command prints and the exit code it returns.
 */
import { main, type Io } from '../../cli/main.js';

/** The lines printed to stdout (`out`) and stderr (`err`) through `io`. */
export interface CapturedIo {
  readonly out: string[];
  readonly err: string[];
  readonly io: Io;
}

/** An `Io` that keeps what a command prints. */
export function capture(): CapturedIo {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (line) => out.push(line), err: (line) => err.push(line) } };
}

/** Runs `etl argv` with `env` in this process; returns its exit code and the lines it printed. */
export async function runMain(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string[]; err: string[] }> {
  const { out, err, io } = capture();
  const code = await main(argv, env, io);
  return { code, out, err };
}
