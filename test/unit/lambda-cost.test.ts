/**
 * The bench's Lambda estimate: CPU seconds stretched to the vCPU share a memory size buys (one vCPU
 * at 1,769 MB), waiting kept; GB-seconds at the registry's memory size, scaled per 1,000,000 rows.
 */
import { describe, expect, it } from 'vitest';
import { dayCosts, lambdaDollars, lambdaSeconds, stageCost } from '../../dev/bench/lambda-cost.js';
import { STAGES } from '../../src/pipeline/stages.js';

describe('the Lambda estimate of a stage', () => {
  it('stretches CPU time below a full vCPU and keeps the waiting', () => {
    expect(lambdaSeconds(1.2, 1.0, 1024)).toBeCloseTo((1.0 * 1769) / 1024 + 0.2, 9);
    expect(lambdaSeconds(1.2, 1.0, 3538)).toBeCloseTo(1.2, 9);
    expect(lambdaSeconds(0.5, 0.1, 128)).toBeCloseTo((0.1 * 1769) / 128 + 0.4, 9);
  });

  it('costs a stage at its deployed memory size and scales it to a day of 1,000,000 rows', () => {
    // Act
    const cost = stageCost(STAGES.extract.name, { seconds: 2, cpuSeconds: 1.5 }, 500_000);

    // Assess
    const memory = STAGES.extract.lambda.memoryMb;
    const duration = 1.5 * Math.max(1, 1769 / memory) + 0.5;
    expect(cost).toMatchObject({ stage: 'extract', memoryMb: memory, lambdaSeconds: duration });
    expect(cost.gbSeconds).toBeCloseTo((duration * memory) / 1024, 9);
    expect(cost.gbSecondsPerMillionRows).toBeCloseTo(cost.gbSeconds * 2, 9);
  });

  it('leaves out what has no CPU time (the whole day) and refuses a name the registry lacks', () => {
    expect(
      dayCosts(
        [
          { stage: 'validate', seconds: 0.1, cpuSeconds: 0.05 },
          { stage: 'whole day', seconds: 3 },
        ],
        1_000_000,
      ).map((c) => c.stage),
    ).toEqual(['validate']);
    expect(() => stageCost('no-such-stage', { seconds: 1, cpuSeconds: 1 }, 1)).toThrow(/no stage named no-such-stage/);
  });

  it('prices GB-seconds and requests at the arm64 rates', () => {
    expect(lambdaDollars(1_000_000, 1_000_000)).toBeCloseTo(13.3334 + 0.2, 6);
  });
});
