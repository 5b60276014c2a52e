/**
 * Error classes split by what a retry can do.
 *
 * `TransientError`s may succeed when retried (the state machine's `Retry` names them);
 * `TerminalError`s never will (its `Catch` sends them to the failure path). Every class sets
 * `name` so Step Functions can match it as the error type.
 */

export abstract class EtlError extends Error {
  abstract readonly retryable: boolean;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A failure that a later attempt may not see: network, throttling, a busy partition. */
export class TransientError extends EtlError {
  readonly retryable = true;
}

/** A failure that a retry would repeat: bad input, bad configuration, a quality breach. */
export class TerminalError extends EtlError {
  readonly retryable = false;
}

/** A configuration value is missing or malformed. `field` names the variable or flag. */
export class ConfigError extends TerminalError {
  constructor(
    readonly field: string,
    readonly expected: string,
    readonly actual?: string,
    options?: { cause?: unknown },
  ) {
    super(`${field}: expected ${expected}${actual === undefined ? '' : `, got ${JSON.stringify(actual)}`}`, options);
  }
}

/** An event or command-line input is malformed. */
export class InputError extends ConfigError {}

/** The source database cannot be reached or dropped the connection. */
export class SourceUnavailableError extends TransientError {}

/** The object store failed in a way a retry may fix (5xx, throttling, network). */
export class StoreUnavailableError extends TransientError {}

/** The object store refused the request for good (access denied, missing bucket). */
export class StoreError extends TerminalError {}

/**
 * The object store refused a request on `key` for want of `permission` (an IAM or bucket policy
 * that does not grant it). Terminal: a retry is refused the same way until the policy changes.
 */
export class StoreAccessDeniedError extends StoreError {
  constructor(
    readonly key: string,
    readonly permission: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Staged data is missing or unreadable: the run must start again from extract. */
export class StagingError extends TerminalError {}

/** A data-quality or consistency check failed; names the check, the limit and the value seen. */
export class ValidationBreachError extends TerminalError {
  constructor(
    readonly breaches: ReadonlyArray<{ check: string; expected: string; actual: string }>,
    readonly reportKey?: string,
  ) {
    super(breaches.map((b) => `${b.check}: expected ${b.expected}, got ${b.actual}`).join('; ') + (reportKey ? ` (report: ${reportKey})` : ''));
  }
}

/** True when a retry of the failed operation could succeed. */
export function isRetryable(error: unknown): boolean {
  return error instanceof EtlError ? error.retryable : false;
}

/** A conditional write lost: the object exists, or changed since it was read. */
export class PreconditionFailedError extends TransientError {}

/** Another run is publishing the same partition right now. */
export class PartitionBusyError extends TransientError {}

/**
 * The run no longer holds its partition's lock: its day was given up (the lock released after a
 * failure) or the lock expired and another run took the day. Whatever the run would still do
 * would be thrown away, so it stops.
 */
export class LockLostError extends TerminalError {}

/** A local run stopped by its user (Ctrl-C): nothing more is published; not retried. */
export class InterruptedError extends TerminalError {}
