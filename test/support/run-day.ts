/**
 * Runs one day through the deployed state-machine definition, in this process, against a store of
 * the test's choosing (a fault-injecting one, say): the real stages under the real lease, with the
 * definition's retries (without their waits) and catches. Resolves with what validate published;
 * rejects with a `DayFailedError` carrying the error name and message the day failed with.
 */
import type { QualityThresholds } from '../../src/core/config.js';
import { loadConfig } from '../../src/core/config.js';
import type { CalendarDay } from '../../src/core/day.js';
import type { ObjectStore } from '../../src/lake/store.js';
import type { ValidateOutput, WriteMode } from '../../src/pipeline/contracts.js';
import { causeMessage, runLocalExecution } from '../../src/pipeline/local-execution.js';
import { STAGES } from '../../src/pipeline/stages.js';

export interface RunDayOptions {
  readonly mode?: WriteMode;
  /** The execution's name: two runs with the same owner are one execution and its retry. */
  readonly owner?: string;
  readonly lockTtlSeconds?: number;
  readonly thresholds?: Partial<Record<keyof QualityThresholds, number>>;
  readonly batchRows?: number;
  readonly rowsPerFile?: number;
  readonly maxRowsPerRange?: number;
  /** False: extract and transform-write one after the other, transform-write reading the staging object (as the Lambdas do). */
  readonly overlap?: boolean;
  /** Wraps a task state's handler (a barrier that forces two runs to overlap there). */
  readonly wrap?: Partial<Record<string, (own: (event: unknown) => Promise<unknown>) => (event: unknown) => Promise<unknown>>>;
}

/** The day failed for good: `name` is the error it failed with (`PartitionBusyError`, ...). */
export class DayFailedError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

const QUALITY_ENV: Record<keyof QualityThresholds, string> = {
  maxQuarantineRate: 'QUALITY_MAX_QUARANTINE_RATE',
  maxNullRate: 'QUALITY_MAX_NULL_RATE',
  maxNegativeDurationRate: 'QUALITY_MAX_NEGATIVE_DURATION_RATE',
  maxNegativeCostRate: 'QUALITY_MAX_NEGATIVE_COST_RATE',
  maxDuplicateIds: 'QUALITY_MAX_DUPLICATE_IDS',
  maxDayOverDayChange: 'QUALITY_MAX_DAY_OVER_DAY_CHANGE',
  minDayRows: 'QUALITY_MIN_DAY_ROWS',
};

export async function runDay(store: ObjectStore, databaseUrl: string, day: CalendarDay, options: RunDayOptions = {}): Promise<ValidateOutput> {
  const env: Record<string, string> = {
    DATABASE_URL: databaseUrl,
    LAKE_URI: store.location.kind === 's3' ? store.location.uri : store.location.root,
    PARTITION_LOCK_TTL_SECONDS: String(options.lockTtlSeconds ?? 60),
    BATCH_ROWS: String(options.batchRows ?? 1_000),
    ROWS_PER_FILE: String(options.rowsPerFile ?? 1_024),
    ROW_GROUP_ROWS: '1024',
    RANGE_MAX_ROWS: String(options.maxRowsPerRange ?? 20_000_000),
  };
  for (const [key, value] of Object.entries(options.thresholds ?? {}))
    if (value !== undefined) env[QUALITY_ENV[key as keyof QualityThresholds]] = String(value);
  let published: ValidateOutput | undefined;
  const result = await runLocalExecution(
    loadConfig(env),
    { date: day.iso, mode: options.mode ?? 'overwrite' },
    {
      concurrency: 1,
      store,
      retryIntervalMs: 0,
      executionName: options.owner,
      overlap: options.overlap,
      logLine: () => undefined,
      handlers: {
        ...options.wrap,
        [STAGES.validate.state]: (own) => async (event) => (published = (await own(event)) as ValidateOutput),
      },
    },
  );
  if (result.status === 'SUCCEEDED' && published) return published;
  const failed = result.failures?.[0];
  throw new DayFailedError(failed?.error ?? result.error ?? 'ExecutionFailed', causeMessage(failed?.cause ?? result.cause));
}
