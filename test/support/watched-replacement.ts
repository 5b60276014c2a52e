/**
 * Runs one day through the real definition while an outside reader watches the lake: a poller
 * reads throughout, and a reading is taken right before every write the run makes (each write
 * waits for it), so a state that lasts between two writes cannot slip between two polls. Tells the
 * readings apart by the publish window: from the first file promoted into the partition to the
 * end of the validate stage.
 */
import type { Config } from '../../src/core/config.js';
import type { ObjectStore } from '../../src/lake/store.js';
import type { ValidateOutput } from '../../src/pipeline/contracts.js';
import { runLocalExecution, type LocalExecutionResult } from '../../src/pipeline/local-execution.js';
import { STAGES } from '../../src/pipeline/stages.js';

export interface Reading<V> {
  /** When the read started and ended: it may have seen any state in between. */
  readonly at: number;
  readonly end: number;
  readonly view: V;
}

export interface WatchedReplacement<V> {
  readonly result: LocalExecutionResult;
  readonly published: ValidateOutput | undefined;
  readonly readings: readonly Reading<V>[];
  /** Undefined when nothing was promoted into a partition. */
  readonly windowStart: number | undefined;
  readonly windowEnd: number | undefined;
  /** The readings wholly before or after the publish window. */
  readonly outside: readonly Reading<V>[];
}

type Writes = 'upload' | 'putObject' | 'deleteObjects' | 'promote';

/** Told of each write of a watched store (its name and arguments): as it starts (after the reading before it) and once done. */
export interface WriteHooks {
  readonly starting?: (name: Writes, args: unknown[]) => void;
  readonly done?: (name: Writes, args: unknown[]) => void;
}

/** `store` with a reading (`observe`) taken right before each of its writes, each write waiting for it. */
export function readBeforeEveryWrite(store: ObjectStore, observe: () => Promise<void>, hooks: WriteHooks = {}): ObjectStore {
  const observed =
    (name: Writes) =>
    async (...args: unknown[]) => {
      await observe();
      hooks.starting?.(name, args);
      const result = await (store[name] as (...a: unknown[]) => Promise<unknown>).apply(store, args);
      hooks.done?.(name, args);
      return result;
    };
  return Object.assign(Object.create(store), {
    upload: observed('upload'),
    putObject: observed('putObject'),
    deleteObjects: observed('deleteObjects'),
    promote: observed('promote'),
  });
}

export async function watchReplacement<V>(
  store: ObjectStore,
  config: Config,
  date: string,
  read: () => Promise<V>,
  options: { readonly rangeConcurrency?: number } = {},
): Promise<WatchedReplacement<V>> {
  const readings: Reading<V>[] = [];
  const observe = async () => {
    const at = performance.now();
    const view = await read();
    readings.push({ at, end: performance.now(), view });
  };
  let windowStart: number | undefined;
  let windowEnd: number | undefined;
  let published: ValidateOutput | undefined;
  const watched = readBeforeEveryWrite(store, observe, {
    starting: (name, args) => {
      if (name === 'promote' && String(args[1]).startsWith('rentals/')) windowStart ??= performance.now();
    },
  });
  let running = true;
  const poller = (async () => {
    while (running) await observe();
  })();
  const result = await runLocalExecution(
    config,
    { date },
    {
      concurrency: 1,
      rangeConcurrency: options.rangeConcurrency,
      store: watched,
      logLine: () => undefined,
      handlers: {
        [STAGES.validate.state]: (own) => async (event) => {
          published = (await own(event)) as ValidateOutput;
          windowEnd = performance.now();
          return published;
        },
      },
    },
  );
  running = false;
  await poller;
  const outside = readings.filter((r) => windowStart === undefined || windowEnd === undefined || r.end < windowStart || r.at > windowEnd);
  return { result, published, readings, windowStart, windowEnd, outside };
}
