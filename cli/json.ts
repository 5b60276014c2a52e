/**
 * What every command prints with `--json`: one JSON document on stdout in one envelope,
 * `{ "command", "lake", "ok", ...payload }`, so a script reads any command the same way
 * (`etl status --json | jq .days`). Commands build their payload and call `printJsonResult`.
 */
import type { Io } from './io.js';

/** The fields every `--json` document starts with. */
export interface JsonEnvelope {
  /** The command that printed it: `run`, `status`, ... */
  readonly command: string;
  /** The lake it read or wrote (`LAKE_URI`, or the default lake as a path). */
  readonly lake: string;
  /** Whether the command did what it was asked: its exit code is 0. */
  readonly ok: boolean;
}

/**
 * Rounds durations as they print: any number under a key ending in `seconds` to the millisecond
 * (`0.316`, not `0.31621570099999996`). Rates and counts print as computed: a reader may divide them again.
 */
function roundNumbers(key: string, value: unknown): unknown {
  if (typeof value !== 'number' || !Number.isFinite(value) || !/seconds$/i.test(key)) return value;
  return Math.round(value * 1000) / 1000;
}

/** The `--json` document of a command: the envelope, then the payload's fields. */
export function jsonResult(envelope: JsonEnvelope, payload: Readonly<Record<string, unknown>>): string {
  return JSON.stringify({ command: envelope.command, lake: envelope.lake, ok: envelope.ok, ...payload }, roundNumbers, 2);
}

/** Prints a command's `--json` document on stdout: the one way a command prints JSON. */
export function printJsonResult(io: Io, envelope: JsonEnvelope, payload: Readonly<Record<string, unknown>>): void {
  io.out(jsonResult(envelope, payload));
}
