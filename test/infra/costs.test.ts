/**
 * The costs stated in docs/operations.md: counted from the synthesized template, and the custom
 * metrics counted as the functions emit them.
 */
import { describe, expect, it } from 'vitest';
import { CUSTOM_METRICS, fixedMonthlyCosts, PRICES, variableMonthlyCost } from '../../infra/costs.js';
import { synthesizedResources, VPC_WITH_ENDPOINTS } from '../../infra/costs-section.js';
import { METRIC, STAGE_MEASURES } from '../../src/pipeline/metrics.js';
import { STAGE_LIST } from '../../src/pipeline/stages.js';

/**
 * A stage output every property of which is another such output, every collection one of them:
 * enough for `STAGE_MEASURES` to say which metrics a stage emits (their values are not read).
 */
function anyOutput(): never {
  const handler: ProxyHandler<() => void> = {
    get: (_target, key) => (key === Symbol.toPrimitive ? () => 1 : key === 'length' ? 1 : proxy),
    apply: () => proxy,
    ownKeys: () => ['only', 'prototype'],
    getOwnPropertyDescriptor: (_target, key) =>
      key === 'only' ? { enumerable: true, configurable: true, value: proxy } : Reflect.getOwnPropertyDescriptor(_target, key),
  };
  const proxy: unknown = new Proxy(() => {}, handler);
  return proxy as never;
}

const costOf = (lines: ReturnType<typeof fixedMonthlyCosts>, item: RegExp) => lines.find((l) => item.test(l.item));

describe('costs', { timeout: 240_000 }, () => {
  it('count every custom metric the functions emit: StageDuration for each stage, and each stage its measures', () => {
    // Act
    const emitted = STAGE_LIST.flatMap((spec) => [
      [spec.name, METRIC.stageDuration],
      ...[
        ...new Set(
          (STAGE_MEASURES as Record<string, (o: never) => readonly (readonly [string, ...unknown[]])[]>)[spec.name](anyOutput()).map(([name]) => name),
        ),
      ].map((name) => [spec.name, name]),
    ]);
    // Assess
    expect([...CUSTOM_METRICS].map(([s, m]) => `${s} ${m}`).sort()).toEqual(emitted.map(([s, m]) => `${s} ${m}`).sort());
  });

  it('count the alarms by the metrics they read (a metric-math alarm pays for each), composites, the dashboard and the secret', () => {
    // Arrange
    const resources = synthesizedResources({});
    const alarms = Object.values(resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm');
    const math = alarms.filter((r) => r.Properties?.Metrics !== undefined);
    // Act
    const costs = fixedMonthlyCosts(resources);
    // Assess: the throttles alarm reads every function's Throttles.
    expect(math).toHaveLength(1);
    expect(costOf(costs, /read by alarms/)?.count).toBe(alarms.length - 1 + STAGE_LIST.length);
    expect(costOf(costs, /composite/)?.count).toBe(1);
    expect(costOf(costs, /dashboards/)?.monthly).toBe(PRICES.dashboard);
    expect(costOf(costs, /secrets/)?.count).toBe(1);
    expect(costOf(costs, /interface endpoints/)?.count).toBe(0);
    expect(
      costOf(fixedMonthlyCosts(synthesizedResources({ databaseSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf' })), /secrets/)
        ?.count,
    ).toBe(0);
  });

  it('count each interface endpoint in each subnet for every hour of the month; the S3 gateway is free', () => {
    // Act
    const costs = fixedMonthlyCosts(synthesizedResources(VPC_WITH_ENDPOINTS));
    const withoutS3 = fixedMonthlyCosts(synthesizedResources({ ...VPC_WITH_ENDPOINTS, vpcEndpoints: ['secretsmanager'], routeTableIds: undefined }));
    // Assess: Secrets Manager, Step Functions and Glue, two subnets each.
    expect(costOf(costs, /interface endpoints/)?.count).toBe(3 * 2 * 730);
    expect(costOf(costs, /interface endpoints/)?.monthly).toBeCloseTo(3 * 2 * 730 * PRICES.interfaceEndpointHour);
    expect(costOf(withoutS3, /interface endpoints/)?.count).toBe(2 * 730);
  });

  it("scale the variable cost linearly with the rows from the bench's stage times, at each stage's memory", () => {
    // Arrange
    const day = { rows: 100_000, stages: [{ stage: 'extract', seconds: 2 }] };
    const extractGb = (STAGE_LIST.find((s) => s.name === 'extract')?.lambda.memoryMb ?? 0) / 1024;
    // Act / Assess: 30 days of 10 × 2 s.
    expect(variableMonthlyCost(day, 1_000_000).gbSeconds).toBeCloseTo(30 * 20 * extractGb);
    expect(variableMonthlyCost(day, 2_000_000).gbSeconds).toBeCloseTo(2 * variableMonthlyCost(day, 1_000_000).gbSeconds);
    expect(() => variableMonthlyCost({ rows: 1, stages: [{ stage: 'nope', seconds: 1 }] }, 1)).toThrow(/no stage of the registry/);
  });

  it("stretch a stage's CPU seconds to the vCPU share its memory buys, keeping its waiting", () => {
    // Arrange: 1.5 of extract's 2 s on a CPU; extract's memory buys less than one vCPU
    const memoryMb = STAGE_LIST.find((s) => s.name === 'extract')?.lambda.memoryMb ?? 0;
    const day = { rows: 1_000_000, stages: [{ stage: 'extract', seconds: 2, cpuSeconds: 1.5 }] };

    // Act / Assess
    expect(memoryMb).toBeLessThan(1769);
    expect(variableMonthlyCost(day, 1_000_000).gbSeconds).toBeCloseTo(30 * (1.5 * (1769 / memoryMb) + 0.5) * (memoryMb / 1024));
  });
});
