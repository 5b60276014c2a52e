/**
 * The payloads that travel between the stages (Lambda events and results), checked at each
 * stage's door: a malformed event fails with `InputError` naming the field.
 */
import { parseDay, type CalendarDay } from './day.js';
import { InputError } from './errors.js';
import type { ExtractResult } from './extract.js';
import { isRunId, stagingPrefix } from './lake/layout.js';
import type { TransformResult, WriteMode } from './transform.js';

export const WRITE_MODES: readonly WriteMode[] = ['overwrite', 'append'];

export function parseMode(value: unknown, field = 'mode'): WriteMode {
  if (value === undefined) return 'overwrite';
  if (typeof value !== 'string' || !WRITE_MODES.includes(value as WriteMode)) {
    throw new InputError(field, `one of ${WRITE_MODES.join(', ')}`, value === undefined ? undefined : String(value));
  }
  return value as WriteMode;
}

function asObject(event: unknown, what: string): Record<string, unknown> {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) throw new InputError('event', `a JSON object (${what})`, JSON.stringify(event));
  return event as Record<string, unknown>;
}

function onlyFields(event: Record<string, unknown>, allowed: readonly string[]): void {
  const extra = Object.keys(event).filter((k) => !allowed.includes(k));
  if (extra.length > 0) throw new InputError(extra[0], `no such field (allowed: ${allowed.join(', ')})`, String(event[extra[0]]));
}

export interface ExtractEvent {
  readonly day: CalendarDay;
  readonly mode: WriteMode;
  readonly runId: string | undefined;
  /** Who may take the partition lock over (the Step Functions execution); default: the run. */
  readonly owner: string | undefined;
}

/** `{ "date": "YYYY-MM-DD", "mode"?: "overwrite" | "append", "runId"?: string }` */
export function parseExtractEvent(event: unknown): ExtractEvent {
  const e = asObject(event, '{ "date": "YYYY-MM-DD", "mode": "overwrite" | "append" }');
  onlyFields(e, ['date', 'mode', 'runId', 'owner']);
  if (e.runId !== undefined && !isRunId(e.runId)) throw new InputError('runId', 'an id like 20250301T000000000Z-0a1b2c3d', String(e.runId));
  if (e.owner !== undefined && (typeof e.owner !== 'string' || e.owner === '' || e.owner.length > 512)) {
    throw new InputError('owner', 'a non-empty string of at most 512 characters (an execution ARN)', String(e.owner));
  }
  return { day: parseDay(e.date, 'date'), mode: parseMode(e.mode), runId: e.runId as string | undefined, owner: e.owner as string | undefined };
}

/** What extract returns: its result plus the write mode for the next stage. */
export type ExtractOutput = ExtractResult & { readonly mode: WriteMode };

function checkRunKeys(runId: unknown, keys: unknown[], prefixOf: (runId: string) => string, field: string): string {
  if (!isRunId(runId)) throw new InputError('runId', 'an id like 20250301T000000000Z-0a1b2c3d', String(runId));
  for (const key of keys) {
    if (typeof key !== 'string' || !key.startsWith(prefixOf(runId)) || key.includes('..')) {
      throw new InputError(field, `a key under ${prefixOf(runId)}`, String(key));
    }
  }
  return runId;
}

/** The transform-write event: extract's output, checked for the keys it will read. */
export function parseTransformEvent(event: unknown): { day: CalendarDay; extract: ExtractOutput } {
  const e = asObject(event, 'the extract stage output') as unknown as ExtractOutput;
  const day = parseDay(e.date, 'date');
  parseMode(e.mode);
  if (!Number.isInteger(e.sourceCount) || e.sourceCount < 0) throw new InputError('sourceCount', 'a non-negative integer', String(e.sourceCount));
  if (!Number.isInteger(e.sourceDuplicateIds) || e.sourceDuplicateIds < 0) throw new InputError('sourceDuplicateIds', 'a non-negative integer', String(e.sourceDuplicateIds));
  if (typeof e.snapshotAt !== 'string' || Number.isNaN(Date.parse(e.snapshotAt))) throw new InputError('snapshotAt', 'an ISO 8601 timestamp', String(e.snapshotAt));
  if (typeof e.owner !== 'string' || e.owner === '') throw new InputError('owner', 'the partition lock owner passed on by extract', String(e.owner));
  const staging = asObject(e.staging, 'staging keys');
  checkRunKeys(e.runId, ['rentals', 'users', 'bikes'].map((t) => (staging[t] as { key?: unknown } | undefined)?.key), stagingPrefix, 'staging');
  return { day, extract: e };
}

/** The validate event: transform-write's output, checked for the keys it will read. */
export function parseValidateEvent(event: unknown): { day: CalendarDay; transform: TransformResult } {
  const e = asObject(event, 'the transform-write stage output') as unknown as TransformResult;
  const day = parseDay(e.date, 'date');
  parseMode(e.mode);
  if (!Array.isArray(e.files)) throw new InputError('files', 'a list of written files', String(e.files));
  if (typeof e.metrics !== 'object' || e.metrics === null) throw new InputError('metrics', 'the day metrics object', String(e.metrics));
  if (typeof e.owner !== 'string' || e.owner === '') throw new InputError('owner', 'the partition lock owner passed on by transform-write', String(e.owner));
  checkRunKeys(e.runId, e.files.map((f) => f?.key), () => 'rentals/', 'files');
  return { day, transform: e };
}
