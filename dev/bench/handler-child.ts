/**
 * Child of the benchmark that runs one Lambda handler as its container would: `require()`s the
 * handler's bundle (module initialisation and reading the configuration from the environment, as a
 * cold start does), then calls `handler(event)` `calls` times, and prints a `HandlerRun` as one
 * JSON line (the handler's own log lines come before it on stdout). The benchmark bundles this file
 * too (`bundle.ts`) and runs it with plain node, so the process holds the handler's bundle and
 * next to nothing else:
 *
 *   node handler-child/index.js <functions bundle>/index.js '{"event":{...},"calls":1}'
 *
 * The stage measurements call once (`stages.ts`), the cold starts twice (`cold-start.ts`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { peakRssKb, reportFromChild, rssKb, sampleMemory, type MemoryPeaks } from './measured-child.js';

/** What the child is asked to do (its second argument, as JSON). */
export interface HandlerJob {
  readonly event: unknown;
  /** Calls of the handler with `event`, one after the other. */
  readonly calls: number;
  /**
   * A partition lease file `{ path, body }` to put in place before each call: a stage that gives the
   * lease back after its work (validate) needs the lease plan-day took again for a second call.
   */
  readonly lease?: { readonly path: string; readonly body: string };
}

/** What the child prints. */
export interface HandlerRun {
  /** `require()` of the bundle: module initialisation, wasm compilation, the configuration. */
  readonly importMs: number;
  /** Each call of the handler, in order. */
  readonly callMs: readonly number[];
  /** CPU time (user and system, every thread) of the process during each call. */
  readonly callCpuMs: readonly number[];
  /** RSS once the bundle is loaded, before the first call, in KB. */
  readonly baselineRssKb: number;
  /** Peak RSS of the whole process, in KB. */
  readonly peakRssKb: number;
  readonly memoryPeaksKb: MemoryPeaks;
  /** What the last call returned. */
  readonly output: unknown;
}

type Handler = (event: unknown) => Promise<unknown>;

function placeLease(lease: HandlerJob['lease']): void {
  if (!lease) return;
  mkdirSync(dirname(lease.path), { recursive: true });
  writeFileSync(lease.path, lease.body);
}

async function runHandler(bundle: string, job: HandlerJob): Promise<HandlerRun> {
  const stopSampling = sampleMemory();
  const importStarted = performance.now();
  // A run-time require of the bundle given, not one esbuild would follow when bundling this child.
  const { handler } = require(bundle) as { handler: Handler };
  const importMs = performance.now() - importStarted;
  const baselineRssKb = rssKb();
  const callMs: number[] = [];
  const callCpuMs: number[] = [];
  let output: unknown;
  for (let call = 0; call < job.calls; call++) {
    placeLease(job.lease);
    const started = performance.now();
    const cpu = process.cpuUsage();
    output = await handler(job.event);
    const used = process.cpuUsage(cpu);
    callMs.push(performance.now() - started);
    callCpuMs.push((used.user + used.system) / 1000);
  }
  return { importMs, callMs, callCpuMs, baselineRssKb, peakRssKb: peakRssKb(), memoryPeaksKb: stopSampling(), output };
}

const [bundle, job] = process.argv.slice(2);
if (!bundle || !job) {
  process.stderr.write(`usage: node handler-child.js <bundle/index.js> '{"event":{...},"calls":1}'\n`);
  process.exitCode = 2;
} else {
  // No top-level await: this file is bundled as CommonJS, like the handlers.
  reportFromChild(runHandler(bundle, JSON.parse(job) as HandlerJob));
}
