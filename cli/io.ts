/**
 * Where a command prints: results on stdout, progress and errors on stderr; swapped in tests.
 */
import type { DayOutcome } from './summary.js';

/** Prints to stdout (results) and stderr (progress); swapped in tests. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
}

export const consoleIo: Io = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) };

/** What every command gets besides its flags. */
export interface CommandContext {
  readonly env: NodeJS.ProcessEnv;
  readonly io: Io;
}

/** Prints a day's outcome as it finishes: the progress line of a run (of `total` days, when known before it starts). */
export function progressPrinter(io: Io, total: number | undefined): (outcome: DayOutcome) => void {
  let done = 0;
  return (o) =>
    io.err(
      `[${++done}${total === undefined ? '' : `/${total}`}] ${o.date} ${o.verdict}${o.error ? `: ${o.error}` : ''} (${o.seconds === undefined ? '-' : o.seconds.toFixed(1)} s)`,
    );
}
