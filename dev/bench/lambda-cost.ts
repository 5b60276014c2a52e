/**
 * What a day's stages would cost in Lambda, estimated from their measured runs: each stage's CPU
 * time is stretched by the share of a vCPU its deployed memory size buys (Lambda gives a function
 * CPU in proportion to its memory: one vCPU at 1,769 MB; a stage's JavaScript runs on one thread,
 * so more than one vCPU does not shorten it), its waiting (I/O, the database) kept as measured;
 * the duration times the memory size is its GB-seconds. An estimate: the bench's machine is not a
 * Lambda host (Graviton for these arm64 functions), and S3 is slower to reach than a local disk.
 */
import { lambdaSeconds, MB_PER_VCPU, PRICES } from '../../infra/costs.js';
import { STAGE_LIST } from '../../src/pipeline/stages.js';

export { lambdaSeconds, MB_PER_VCPU };

/** The Lambda prices the estimate uses: the stack's cost model's (`infra/costs.ts`, arm64). */
export const LAMBDA_PRICES = {
  perGbSecond: PRICES.lambdaGbSecond,
  perMillionRequests: PRICES.lambdaMillionRequests,
  region: PRICES.region,
  architecture: 'arm64',
} as const;

export interface StageCost {
  readonly stage: string;
  /** The memory size the stack deploys it with (the registry's). */
  readonly memoryMb: number;
  /** Measured: wall seconds of the handler call, and CPU seconds of its process during the call. */
  readonly seconds: number;
  readonly cpuSeconds: number;
  /** Estimated duration in Lambda at `memoryMb`. */
  readonly lambdaSeconds: number;
  readonly gbSeconds: number;
  /** GB-seconds for a day of 1,000,000 rows, scaled from the measured day (rows scale linearly). */
  readonly gbSecondsPerMillionRows: number;
}

/** The cost estimate of one stage's measured call (`stage`: its registry name) over a day of `rows` rows. */
export function stageCost(stage: string, measured: { readonly seconds: number; readonly cpuSeconds: number }, rows: number): StageCost {
  const spec = STAGE_LIST.find((s) => s.name === stage);
  if (!spec) throw new Error(`no stage named ${stage} in the registry`);
  const { memoryMb } = spec.lambda;
  const duration = lambdaSeconds(measured.seconds, measured.cpuSeconds, memoryMb);
  const gbSeconds = (duration * memoryMb) / 1024;
  return {
    stage,
    memoryMb,
    seconds: measured.seconds,
    cpuSeconds: measured.cpuSeconds,
    lambdaSeconds: duration,
    gbSeconds,
    gbSecondsPerMillionRows: rows > 0 ? (gbSeconds * 1_000_000) / rows : 0,
  };
}

/** Dollars for `gbSeconds` and `requests` at `LAMBDA_PRICES` (before the free tier). */
export function lambdaDollars(gbSeconds: number, requests: number): number {
  return gbSeconds * LAMBDA_PRICES.perGbSecond + (requests / 1_000_000) * LAMBDA_PRICES.perMillionRequests;
}

/** The estimates of a day's measured stages (those with a CPU time), over a day of `rows` rows. */
export function dayCosts(stages: readonly { readonly stage: string; readonly seconds: number; readonly cpuSeconds?: number }[], rows: number): StageCost[] {
  return stages.flatMap((m) => (m.cpuSeconds === undefined ? [] : [stageCost(m.stage, { seconds: m.seconds, cpuSeconds: m.cpuSeconds }, rows)]));
}
