/**
 * The Lambda side of a stage: `lambdaHandler(stage, open)` reads the configuration once, at cold
 * start (a missing or malformed variable fails there, naming it), opens what the stage needs and
 * keeps one logger; each invocation adds the Lambda context (request id, cold start) to the logs
 * and runs the stage under the day's lease (`runStage`), then prints the invocation's metrics
 * (`metrics.ts`: CloudWatch EMF, at this edge only, so local runs print none).
 *
 * What a stage needs is opened by functions its entry file passes (`openStore`, `sourceConnector`
 * from `src/lake/open.ts` and `src/source/connect.ts`), so a bundle holds the S3 client or the
 * Postgres driver only when its stage uses them; the type asks for exactly what the registry
 * entry says the stage needs.
 */
import type * as v from 'valibot';
import { loadConfig, type Config } from '../core/config.js';
import { createLogger, type Logger } from '../core/log.js';
import type { HolderLiveness } from '../lake/lease.js';
import { icebergUpkeepOf } from '../lake/iceberg/upkeep.js';
import { LakeSession } from '../lake/session.js';
import type { ObjectStore } from '../lake/store.js';
import type { ConnectOptions, SourceConnector } from '../source/connect.js';
import { stageMetrics } from './metrics.js';
import { runStage, type Stage } from './stage.js';
import { configKeysOf, type SliceOf, type StageSpec } from './stages.js';

type LambdaContext = Parameters<Logger['addContext']>[0];
type Env = Record<string, string | undefined>;

/** How an entry file opens the lake and the source, for the stages that need them. */
export interface Openers {
  readonly lake: (config: Pick<Config, 'lake' | 'region' | 'endpoint'>) => Promise<ObjectStore>;
  readonly source: (config: Pick<Config, 'databaseUrl'>, env: Env, options: ConnectOptions) => SourceConnector;
  /** How the stage that takes a day's lease tells a gone holder (default: a dead process on this machine). */
  readonly liveness?: HolderLiveness;
}

/** The openers a stage's entry must pass: exactly those its registry entry needs. */
export type OpenersFor<N extends StageSpec['needs']> = (N['lake'] extends true ? Pick<Openers, 'lake' | 'liveness'> : unknown) &
  (N['database'] extends true ? Pick<Openers, 'source'> : unknown);

export function lambdaHandler<S extends v.GenericSchema, O, Spec extends StageSpec>(
  stage: Stage<S, O, Pick<Config, SliceOf<Spec>>, Spec>,
  open: OpenersFor<Spec['needs']>,
  env: Env = process.env,
) {
  const openers = open as Partial<Openers>;
  // Only the stage's slice: a variable it does not read is neither required nor checked.
  const config = loadConfig(env, {}, configKeysOf(stage.spec));
  const log = createLogger(stage.spec.name);
  const full = config as Partial<Config>;
  const store = stage.spec.needs.lake ? openers.lake?.(full as Config) : undefined;
  // Built now, so that a cold start with neither DATABASE_URL nor DATABASE_SECRET_ARN fails at once.
  // No statement outlives the function: the server cancels one that runs past its Lambda timeout.
  const withSource = stage.spec.needs.database
    ? openers.source?.(full as Config, env, { statementTimeoutMs: stage.spec.lambda.timeoutSeconds * 1000 })
    : undefined;
  const iceberg = icebergUpkeepOf(full);
  const measured = stageMetrics(stage.spec.name, env);
  return async (event: unknown, context?: LambdaContext): Promise<O> => {
    log.resetKeys();
    if (context) log.addContext(context);
    const terms = full.lockTtlMs === undefined ? { unleased: 'the stage holds no lease' } : { ttlMs: full.lockTtlMs };
    const session = new LakeSession(openers.liveness, iceberg);
    return measured(event, () => runStage(stage, event, { config, log, store, withSource, session }, terms));
  };
}
