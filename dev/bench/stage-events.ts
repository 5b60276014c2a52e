/**
 * What the benchmark needs of each stage of the registry (`src/pipeline/stages.ts`) to run its
 * Lambda handler alone: the event the state machine would give it, made of what the stages before it
 * returned, and the work its output reports. The mapped type makes a new registry entry without
 * them a type error.
 */
import type { SnapshotResult } from '../../src/pipeline/snapshot/snapshot.js';
import type { DayPlan, ExtractOutput, TransformOutput, ValidateOutput } from '../../src/pipeline/contracts.js';
import { STAGE_LIST, type StageKey, type StageSpec } from '../../src/pipeline/stages.js';

/** What each stage that ran before returned, by registry key. */
export type EarlierOutputs = Partial<Record<StageKey, unknown>>;

/** What a stage handled, from its output. */
export interface StageWork {
  /** Rows: planned, extracted from the source, written, validated. */
  readonly rows: number;
  /** Bytes produced (staged Arrow IPC, Parquet data files) or covered (the published partition). */
  readonly bytes: number;
  readonly files: number;
}

interface BenchStage {
  /**
   * The event the state machine gives the stage for `date`. `owner` is who holds the day's lease
   * (the execution); left out, plan-day's run owns it.
   */
  event(date: string, earlier: EarlierOutputs, owner?: string): unknown;
  work(output: unknown): StageWork;
}

const NO_WORK: StageWork = { rows: 0, bytes: 0, files: 0 };

function earlier<K extends StageKey>(outputs: EarlierOutputs, key: K, stage: string): unknown {
  const output = outputs[key];
  if (output === undefined) throw new Error(`${stage} needs the output of ${key}, which has not run`);
  return output;
}

const planOf = (outputs: EarlierOutputs, stage: string) => earlier(outputs, 'planDay', stage) as DayPlan;

const BENCH_STAGES: { readonly [K in StageKey]: BenchStage } = {
  plan: {
    event: (date) => ({ date }),
    work: () => NO_WORK,
  },
  snapshot: {
    event: (date) => ({ date }),
    work: (output) => {
      const tables = Object.values((output as SnapshotResult).tables);
      return { rows: tables.reduce((n, t) => n + t.rows, 0), bytes: tables.reduce((n, t) => n + t.bytes, 0), files: tables.length };
    },
  },
  planDay: {
    event: (date, _earlier, owner) => (owner === undefined ? { date } : { date, owner }),
    work: (output) => ({ ...NO_WORK, rows: (output as DayPlan).plannedRows }),
  },
  // The plan's first range: the whole day, unless the day holds more than RANGE_MAX_ROWS.
  extract: {
    event: (date, outputs) => {
      const { mode, owner, runId, ranges } = planOf(outputs, 'extract');
      return { date, mode, owner, runId, hours: { from: ranges[0].from, to: ranges[0].to } };
    },
    work: (output) => {
      const staged = Object.values((output as ExtractOutput).staging).filter((table) => table !== undefined);
      return { rows: (output as ExtractOutput).sourceCount, bytes: staged.reduce((sum, table) => sum + table.bytes, 0), files: staged.length };
    },
  },
  transformWrite: {
    event: (_date, outputs) => earlier(outputs, 'extract', 'transform-write'),
    work: (output) => {
      const { metrics, files } = output as TransformOutput;
      return { rows: metrics.rows, bytes: files.reduce((sum, file) => sum + file.bytes, 0), files: files.length };
    },
  },
  validate: {
    event: (_date, outputs) => ({ ...planOf(outputs, 'validate'), written: [earlier(outputs, 'transformWrite', 'validate')] }),
    work: (output) => {
      const { rows, bytes, files } = output as ValidateOutput;
      return { rows, bytes, files };
    },
  },
  releaseDay: {
    event: (date, outputs) => ({ date, runId: planOf(outputs, 'release-day').runId }),
    work: () => NO_WORK,
  },
};

/** The event of stage `key` for `date`, made of the outputs of the stages before it. */
export function stageEvent(key: StageKey, date: string, outputs: EarlierOutputs, owner?: string): unknown {
  return BENCH_STAGES[key].event(date, outputs, owner);
}

/** What stage `key` reports to have handled in `output`. */
export function stageWork(key: StageKey, output: unknown): StageWork {
  return BENCH_STAGES[key].work(output);
}

/**
 * The stages a day that passes runs through, in pipeline order: those working under the day's
 * lease. Plan runs once per execution, release-day only for a day that failed.
 */
export const DAY_STAGES: readonly (StageSpec & { readonly key: StageKey })[] = STAGE_LIST.filter(
  (spec) => spec.lease === 'acquire' || spec.lease === 'renew' || spec.lease === 'renew-and-release',
);

export { handlerEntry } from '../../src/pipeline/stages.js';
