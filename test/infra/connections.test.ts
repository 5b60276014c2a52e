/**
 * The source database connection cap holds across executions: the functions of the stages that
 * open connections (`needs.database`) have reserved concurrency summing to
 * `maxDatabaseConnections`, one execution at full width fits in it, and settings whose
 * arithmetic does not fit are refused at synth.
 */
import { describe, expect, it } from 'vitest';
import { stackPropsFromContext } from '../../infra/context.js';
import { checkConcurrencyQuota, LAMBDA_CONCURRENCY_QUOTA_CODE } from '../../infra/database-connections.js';
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

  it('reads reserveConcurrency and lambdaConcurrencyQuota from context', () => {
    const context: Record<string, string> = { reserveConcurrency: 'false', lambdaConcurrencyQuota: '1000' };
    expect(stackPropsFromContext((key) => context[key]).props).toMatchObject({ reserveConcurrency: false, lambdaConcurrencyQuota: 1000 });
  });
});

/**
 * Lambda's rule for reservations, modelled: a function's reserved concurrency comes out of the
 * account's "Concurrent executions" quota, of which 100 must stay unreserved; a reservation that
 * would break this fails the deploy half-way (UnreservedConcurrentExecutions below its minimum).
 */
const UNRESERVED_MINIMUM = 100;
const lambdaAccepts = (reserved: number, quota: number) => reserved + UNRESERVED_MINIMUM <= quota;

describe('account concurrency quota', { timeout: 240_000 }, () => {
  it('the check refuses exactly the reservations Lambda would refuse', () => {
    for (const total of [8, 24, 40, 64]) {
      for (let quota = 1; quota <= 250; quota++) {
        const reserved = { plan: 2, snapshot: 2, 'plan-day': 4, extract: total - 8 };
        const check = () => checkConcurrencyQuota(reserved, quota);
        if (lambdaAccepts(total, quota)) expect(check, `${total} reserved, quota ${quota}`).not.toThrow();
        else expect(check, `${total} reserved, quota ${quota}`).toThrow(/lambdaConcurrencyQuota/);
      }
    }
  });

  it('stops the synth of the default stack on an account below 140, naming the quota and the ways out', () => {
    // Act
    const error = (() => {
      try {
        buildStack({ lambdaConcurrencyQuota: 139 });
      } catch (e) {
        return (e as Error).message;
      }
      return undefined;
    })();
    // Assess
    expect(error).toMatch(/lambdaConcurrencyQuota 139 is too small .* must be at least 140/);
    expect(error).toContain(LAMBDA_CONCURRENCY_QUOTA_CODE);
    expect(error).toContain('reserveConcurrency=false');
    expect(() => buildStack({ lambdaConcurrencyQuota: 140 })).not.toThrow();
  });

  it('reserveConcurrency=false deploys without reserved concurrency, whatever the quota; maxDatabaseConnections is then refused', () => {
    // Act
    const reserved = reservedConcurrency({ reserveConcurrency: false, lambdaConcurrencyQuota: 10 });
    // Assess
    for (const spec of STAGE_LIST) expect(reserved[spec.name], spec.name).toBeUndefined();
    expect(() => buildStack({ reserveConcurrency: false, maxDatabaseConnections: 40 })).toThrow(/maxDatabaseConnections .* needs reserveConcurrency=true/);
  });
});
