/**
 * Forces calls to overlap without sleeping: the first `parties` calls of a wrapped function wait at
 * a barrier until that many are in flight at once (then let the scheduler start any further call it
 * would start), so a peak below `parties` shows as a clear timeout and a peak above it is seen.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';

export interface OverlapProbe {
  /** Wraps a handler: counts it in flight and holds the first wave at the barrier. */
  wrap<A, R>(fn: (input: A) => Promise<R>): (input: A) => Promise<R>;
  /** Most calls in flight at once so far. */
  readonly peak: number;
}

export function overlapBarrier(parties: number, options: { timeoutMs?: number } = {}): OverlapProbe {
  const timeoutMs = options.timeoutMs ?? 15_000;
  let inFlight = 0;
  let peak = 0;
  let open = false;
  const opened = Promise.withResolvers<void>();
  return {
    get peak() {
      return peak;
    },
    wrap: (fn) => async (input) => {
      peak = Math.max(peak, ++inFlight);
      try {
        if (!open) {
          if (inFlight >= parties) {
            // Give the scheduler a few turns to start a call it should not start.
            for (let turn = 0; turn < 10; turn++) await nextTurn();
            open = true;
            opened.resolve();
          } else {
            let timer: NodeJS.Timeout | undefined;
            const timedOut = new Promise<never>((_, reject) => {
              timer = setTimeout(() => reject(new Error(`overlap barrier: only ${inFlight} of ${parties} calls in flight after ${timeoutMs} ms`)), timeoutMs);
            });
            try {
              await Promise.race([opened.promise, timedOut]);
            } finally {
              clearTimeout(timer);
            }
          }
        }
        return await fn(input);
      } finally {
        inFlight--;
      }
    },
  };
}
