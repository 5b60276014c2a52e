/**
 * Structured logs: one JSON event per line with run id, date, stage and counts (Powertools
 * Logger) in Lambda; the same events as readable lines for people at the CLI.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { LogItem } from '@aws-lambda-powertools/logger';
import type { LogLevel } from '@aws-lambda-powertools/logger/types';

export type { Logger };

const SERVICE = 'pg-lake-etl';

/** A JSON-lines logger for a stage (`extract`, `transform-write`, `validate`). */
export function createLogger(stage: string): Logger {
  return new Logger({ serviceName: SERVICE, persistentKeys: { stage } });
}

const HIDDEN = new Set(['level', 'message', 'timestamp', 'service', 'sampling_rate', 'stage', 'date', 'run_id']);

/** The same events as `createLogger`, printed for people: `12:00:01 extract 2025-03-01 message k=v`. */
export class ReadableLogger extends Logger {
  /** `logLevel` wins over `POWERTOOLS_LOG_LEVEL` (the CLI's `--quiet`). */
  constructor(
    stage: string,
    private readonly write: (line: string) => void = (line) => process.stderr.write(line),
    logLevel?: LogLevel,
  ) {
    super({ serviceName: SERVICE, persistentKeys: { stage }, logLevel });
  }

  protected override printLog(_level: number, item: LogItem): void {
    const a = item.getAttributes() as Record<string, unknown>;
    const time = String(a.timestamp ?? '').slice(11, 19);
    const level = a.level === 'INFO' ? '' : ` ${String(a.level)}`;
    const fields = Object.entries(a)
      .filter(([k, v]) => !HIDDEN.has(k) && v !== undefined)
      .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
      .join(' ');
    this.write(`${time}${level} ${String(a.stage ?? '')} ${String(a.date ?? '')} ${String(a.message)}${fields ? ` ${fields}` : ''}\n`);
  }
}
