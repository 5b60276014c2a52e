/**
 * The measuring side of a benchmark child (`handler-child.ts`, `day-child.ts`): its memory peaks,
 * its RSS, and the one JSON line its parent reads (`child-process.ts`). Imports nothing, so a
 * child's bundle holds only what it measures.
 */

/**
 * Largest value of each part of `process.memoryUsage()` seen while a child ran (sampled, each at
 * its own moment), in KB. `external` includes `arrayBuffers` and WebAssembly memory.
 */
export interface MemoryPeaks {
  readonly heapTotal: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

/** How often the sampler looks; cheap enough (a /proc read) not to show in the times. */
const SAMPLE_MS = 25;

const kb = (bytes: number): number => Math.round(bytes / 1024);

/** Samples `process.memoryUsage()` until the returned function is called; it gives the peaks. */
export function sampleMemory(): () => MemoryPeaks {
  const peaks = { heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
  const sample = () => {
    const usage = process.memoryUsage();
    for (const key of Object.keys(peaks) as (keyof typeof peaks)[]) peaks[key] = Math.max(peaks[key], usage[key]);
  };
  const timer = setInterval(sample, SAMPLE_MS);
  return () => {
    clearInterval(timer);
    sample();
    return { heapTotal: kb(peaks.heapTotal), heapUsed: kb(peaks.heapUsed), external: kb(peaks.external), arrayBuffers: kb(peaks.arrayBuffers) };
  };
}

/** RSS of this process now, in KB. */
export function rssKb(): number {
  return kb(process.memoryUsage().rss);
}

/** Peak RSS of this process so far, in KB. */
export function peakRssKb(): number {
  return process.resourceUsage().maxRSS;
}

/** Prints a child's result as the one JSON line its parent reads (`runJsonChild`), or its error on stderr with exit code 1. */
export function reportFromChild(result: Promise<unknown>): void {
  result.then(
    (report) => process.stdout.write(`${JSON.stringify(report)}\n`),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
