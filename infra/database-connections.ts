/**
 * The cap on source database connections, across executions. Each invocation of a stage that
 * needs the database (`needs.database` in the registry) opens one connection and closes it before
 * it returns, so a function's concurrent invocations are its connections, and Lambda reserved
 * concurrency caps them whatever the number of executions (the schedule and a backfill
 * overlapping, two backfills): an invocation over the cap is throttled, and the state machine
 * retries `Lambda.TooManyRequestsException` with backoff.
 *
 * One execution plans once (plan) and copies users and bikes once (snapshot), then has at most
 * `backfillConcurrency` days in flight; a day plans (one plan-day invocation), then extracts (at
 * most `rangeConcurrency` invocations at once). So, of `maxDatabaseConnections`:
 *
 *   plan      = 2                          (the schedule and a backfill may start together)
 *   snapshot  = 2                          (likewise)
 *   plan-day  = backfillConcurrency
 *   extract   = the rest, at least backfillConcurrency × rangeConcurrency
 *
 * i.e. maxDatabaseConnections ≥ 4 + backfillConcurrency × (rangeConcurrency + 1), else one
 * execution would throttle itself, and the stack refuses the setting. The shares of the stages
 * present sum to `maxDatabaseConnections`, which the database never sees exceeded.
 *
 * Left unset, `maxDatabaseConnections` leaves extract room for two executions at full width (the
 * schedule and a backfill overlapping): 4 + backfillConcurrency × (1 + 2 × rangeConcurrency), 40
 * with the defaults.
 */

export interface ConnectionSettings {
  /** @default - room for two executions at full width (`defaultMaxDatabaseConnections`) */
  readonly maxDatabaseConnections?: number;
  readonly backfillConcurrency: number;
  readonly rangeConcurrency: number;
}

/** Executions that may plan at once: the schedule's and a backfill's. */
export const CONCURRENT_PLANS = 2;

/**
 * Reserved concurrency of each stage in `databaseStages` (registry names of the stages whose
 * `needs.database` is true), summing to `maxDatabaseConnections`; throws when one execution would
 * not fit, or for a database stage this arithmetic does not know.
 */
export function connectionBudget(databaseStages: readonly string[], settings: ConnectionSettings): Record<string, number> {
  const { backfillConcurrency, rangeConcurrency } = settings;
  const maxDatabaseConnections = settings.maxDatabaseConnections ?? defaultMaxDatabaseConnections(databaseStages, settings);
  if (!Number.isInteger(maxDatabaseConnections) || maxDatabaseConnections < 1) {
    throw new Error(`maxDatabaseConnections: expected a positive integer, got ${maxDatabaseConnections}`);
  }
  const budget = fixedShares(databaseStages, backfillConcurrency);
  const extract = backfillConcurrency * rangeConcurrency;
  const needed = Object.values(budget).reduce((a, b) => a + b, 0) + (databaseStages.includes('extract') ? extract : 0);
  if (maxDatabaseConnections < needed) {
    const parts = [...Object.entries(budget).map(([stage, n]) => `${stage} ${n}`), ...(databaseStages.includes('extract') ? [`extract ${extract}`] : [])];
    throw new Error(
      `maxDatabaseConnections ${maxDatabaseConnections} is too small for backfillConcurrency ${backfillConcurrency} and rangeConcurrency ${rangeConcurrency}: ` +
        `one execution may hold ${needed} connections (${parts.join(', ')}); raise maxDatabaseConnections or lower the concurrency`,
    );
  }
  if (databaseStages.includes('extract')) budget.extract = maxDatabaseConnections - (needed - extract);
  return budget;
}

/** The shares that do not grow with the cap: every database stage's but extract's. */
function fixedShares(databaseStages: readonly string[], backfillConcurrency: number): Record<string, number> {
  const fixed: Record<string, number> = { plan: CONCURRENT_PLANS, snapshot: CONCURRENT_PLANS, 'plan-day': backfillConcurrency };
  const shares: Record<string, number> = {};
  for (const stage of databaseStages) {
    if (stage in fixed) shares[stage] = fixed[stage];
    else if (stage !== 'extract')
      throw new Error(`stage ${stage} needs the database, and infra/database-connections.ts gives it no share of maxDatabaseConnections`);
  }
  return shares;
}

/** The cap when none is set: the fixed shares, and extract room for two executions at full width. */
export function defaultMaxDatabaseConnections(databaseStages: readonly string[], settings: Omit<ConnectionSettings, 'maxDatabaseConnections'>): number {
  const fixed = Object.values(fixedShares(databaseStages, settings.backfillConcurrency)).reduce((a, b) => a + b, 0);
  return fixed + (databaseStages.includes('extract') ? 2 * settings.backfillConcurrency * settings.rangeConcurrency : 0);
}

/** Concurrency Lambda keeps unreserved in every account and region: reservations may take only the rest of the quota. */
export const LAMBDA_UNRESERVED_MINIMUM = 100;

/** Service Quotas' code of "Concurrent executions" (Lambda), the quota reserved concurrency comes out of. */
export const LAMBDA_CONCURRENCY_QUOTA_CODE = 'L-B99A9384';

/**
 * Refuses reservations the account's concurrency quota cannot hold: Lambda rejects a reservation
 * that would leave less than `LAMBDA_UNRESERVED_MINIMUM` unreserved, and the deploy fails half-way
 * (new accounts often have a quota of 10 to 100). `quota` is the account's, as Service Quotas gives it.
 */
export function checkConcurrencyQuota(reserved: Readonly<Record<string, number>>, quota: number): void {
  const total = Object.values(reserved).reduce((a, b) => a + b, 0);
  if (total + LAMBDA_UNRESERVED_MINIMUM <= quota) return;
  throw new Error(
    `lambdaConcurrencyQuota ${quota} is too small for maxDatabaseConnections ${total}: the functions reserve ${total} ` +
      `(${Object.entries(reserved)
        .map(([stage, n]) => `${stage} ${n}`)
        .join(', ')}) and Lambda keeps ${LAMBDA_UNRESERVED_MINIMUM} unreserved, so the account's "Concurrent executions" quota ` +
      `(${LAMBDA_CONCURRENCY_QUOTA_CODE}) must be at least ${total + LAMBDA_UNRESERVED_MINIMUM}. Ask for an increase ` +
      `(aws service-quotas request-service-quota-increase --service-code lambda --quota-code ${LAMBDA_CONCURRENCY_QUOTA_CODE}), ` +
      'lower maxDatabaseConnections, or deploy with -c reserveConcurrency=false (no cap across executions)',
  );
}
