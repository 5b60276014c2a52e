/**
 * The source database connection cap holds across executions: the functions of the stages that
 * open connections (`needs.database`) have reserved concurrency summing to
 * `maxDatabaseConnections`, one execution at full width fits in it, and settings whose
 * arithmetic does not fit are refused at synth.
 */
import { describe, expect, it } from 'vitest';
import { stackPropsFromContext } from '../../infra/context.js';
import { STAGE_LIST } from '../../src/pipeline/stages.js';
import { buildStack, logicalId } from './support.js';

type Fn = { Properties: { ReservedConcurrentExecutions?: number } };

function reservedConcurrency(props: Parameters<typeof buildStack>[0] = {}): Record<string, number | undefined> {
  const { template } = buildStack(props);
  const resources = template.toJSON().Resources as Record<string, Fn>;
  return Object.fromEntries(
    STAGE_LIST.map((spec) => [
      spec.name,
      resources[logicalId(template, 'AWS::Lambda::Function', `${spec.state}Function`)].Properties.ReservedConcurrentExecutions,
    ]),
  );
}

const databaseStages = STAGE_LIST.filter((s) => s.needs.database).map((s) => s.name);
const sum = (values: (number | undefined)[]) => values.reduce<number>((total, n) => total + (n ?? 0), 0);

/** Each test synthesizes stacks of its own: minutes on a loaded two-core machine. */
describe('database connection cap', { timeout: 240_000 }, () => {
  it('reserves concurrency for the functions that open connections, and only those, summing to maxDatabaseConnections', () => {
    // Act
    const reserved = reservedConcurrency({ maxDatabaseConnections: 50 });
    // Assess
    for (const spec of STAGE_LIST) expect(reserved[spec.name] !== undefined, spec.name).toBe(spec.needs.database);
    expect(sum(databaseStages.map((name) => reserved[name]))).toBe(50);
  });

  it('by default leaves extract room for two executions at full width (the schedule and a backfill), 40 in all', () => {
    // Act
    const reserved = reservedConcurrency();
    // Assess: backfillConcurrency 4 × rangeConcurrency 4, twice.
    expect(reserved.extract).toBe(2 * 4 * 4);
    expect(sum(databaseStages.map((name) => reserved[name]))).toBe(40);
  });

  it('gives extract room for one execution at full width, and plan-day one invocation per day in flight', () => {
    // Act
    const reserved = reservedConcurrency({ maxDatabaseConnections: 60, backfillConcurrency: 6, rangeConcurrency: 5 });
    // Assess
    expect(reserved.extract).toBeGreaterThanOrEqual(6 * 5);
    expect(reserved['plan-day']).toBe(6);
    expect(sum(databaseStages.map((name) => reserved[name]))).toBe(60);
  });

  it('refuses a cap in which one execution would hold more connections than allowed, with the arithmetic', () => {
    // Act / Assess
    expect(() => buildStack({ maxDatabaseConnections: 20, backfillConcurrency: 4, rangeConcurrency: 4 })).toThrow(
      /maxDatabaseConnections 20 is too small for backfillConcurrency 4 and rangeConcurrency 4: one execution may hold 2\d connections \(.*extract 16\)/,
    );
    expect(() => buildStack({ maxDatabaseConnections: 40, backfillConcurrency: 8, rangeConcurrency: 8 })).toThrow(/maxDatabaseConnections 40 is too small/);
    expect(() => buildStack({ maxDatabaseConnections: 80, backfillConcurrency: 8, rangeConcurrency: 8 })).not.toThrow();
  });

  it('reads maxDatabaseConnections from context', () => {
    expect(stackPropsFromContext((key) => (key === 'maxDatabaseConnections' ? '64' : undefined)).props.maxDatabaseConnections).toBe(64);
    expect(() => stackPropsFromContext((key) => (key === 'maxDatabaseConnections' ? '0' : undefined))).toThrow(/maxDatabaseConnections/);
  });
});
