/**
 * What commands read besides their own flags' meaning: numbers checked with the flag's name in the
 * error, a day or a range of days, and the configuration from the environment.
 */
import { join } from 'node:path';
import { loadConfig, type Config } from '../src/core/config.js';
import { daysBetween, parseDay, type CalendarDay } from '../src/core/day.js';
import { ConfigError, InputError } from '../src/core/errors.js';
import { MAX_DAYS_PER_EXECUTION } from '../src/pipeline/plan/plan.js';
import { homeFolder } from './project.js';

/** The lake of the CLI when `LAKE_URI` is unset: `lake/` in the project root (`homeFolder`). */
export function defaultLakeUri(from: string = process.cwd()): string {
  return join(homeFolder(from), 'lake');
}

/** The configuration of a command: the environment's, with the CLI's lake as the default. */
export function commandConfig(env: NodeJS.ProcessEnv): Config {
  return loadConfig(env, { lakeUri: env.LAKE_URI === undefined ? defaultLakeUri() : undefined });
}

/** An integer flag from `min` to `max`; `fallback` when it is left out, else it is required. */
export function integerFlag(value: string | undefined, field: string, min: number, max: number, fallback?: number): number {
  if (value === undefined) {
    if (fallback === undefined) throw new InputError(field, `an integer from ${min} to ${max}`);
    return fallback;
  }
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new InputError(field, `an integer from ${min} to ${max}`, value);
  return n;
}

/** A number flag from `min` to `max`, or undefined when it is left out. */
export function numberFlag(value: string | undefined, field: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) throw new InputError(field, `a number from ${min} to ${max}`, value);
  return n;
}

/** The days of `--date D` or `--from D --to D` (at most an execution's worth). */
export function daysFlags(values: { from?: string; to?: string; date?: string }): CalendarDay[] {
  if (values.date === undefined && values.from === undefined && values.to === undefined) {
    throw new InputError('date', 'either --date YYYY-MM-DD or --from YYYY-MM-DD --to YYYY-MM-DD');
  }
  if (values.date !== undefined) {
    if (values.from !== undefined || values.to !== undefined) throw new InputError('date', 'either --date or --from/--to, not both', values.date);
    return [parseDay(values.date, 'date')];
  }
  return daysBetween(parseDay(values.from, 'from'), parseDay(values.to, 'to'), MAX_DAYS_PER_EXECUTION);
}

/** The levels Powertools Logger knows, from the most to the least verbose. */
const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT'] as const;
export type StageLogLevel = (typeof LOG_LEVELS)[number];

/**
 * The level of the stages' log lines: `WARN` with `--quiet`, else `POWERTOOLS_LOG_LEVEL` (checked
 * here, as Powertools would ignore a misspelt level), else undefined (Powertools' default, `INFO`).
 */
export function stageLogLevel(env: NodeJS.ProcessEnv, quiet: boolean | undefined): StageLogLevel | undefined {
  if (quiet) return 'WARN';
  const raw = env.POWERTOOLS_LOG_LEVEL;
  if (raw === undefined || raw.trim() === '') return undefined;
  const level = raw.trim().toUpperCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new ConfigError('POWERTOOLS_LOG_LEVEL', `one of ${LOG_LEVELS.join(', ')}`, raw);
  return level as StageLogLevel;
}

/** The flags of how `run` and `backfill` report: `--json` (the outcome on stdout as JSON) and `--quiet`. */
export const REPORT_FLAGS = { json: { type: 'boolean' }, quiet: { type: 'boolean' } } as const;

/** How `command` (`run`, `backfill`) reports, from `REPORT_FLAGS` and `POWERTOOLS_LOG_LEVEL`. */
export function reportOptions(command: string, values: { json?: boolean; quiet?: boolean }, env: NodeJS.ProcessEnv) {
  return { command, json: values.json === true, quiet: values.quiet === true, logLevel: stageLogLevel(env, values.quiet) };
}
