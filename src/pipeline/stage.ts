/**
 * What a stage of the pipeline is, and how one runs: `defineStage` pairs a registry entry
 * (`stages.ts`) with its input contract and its run function; `runStage` parses the event, opens
 * what the stage needs and holds the day's partition lease around the work as the entry says.
 * Stage functions take their input and their dependencies; none of them touches the lease.
 */
import type * as v from 'valibot';
import type { Config } from '../core/config.js';
import type { CalendarDay } from '../core/day.js';
import type { Logger } from '../core/log.js';
import { newRunId } from '../lake/layout.js';
import type { DayPublication } from '../lake/day-publication.js';
import type { LeaseHolder } from '../lake/lease.js';
import { LakeSession } from '../lake/session.js';
import type { ObjectStore } from '../lake/store.js';
import type pg from 'pg';
import { parseContract } from './contracts.js';
import type { SliceOf, StageSpec } from './stages.js';

/** What a stage may be given to work with; which of them it gets follows its registry entry. */
export interface StageContext<C = Config> {
  /** Its slice of the configuration (`SliceOf` its registry entry). */
  readonly config: C;
  readonly log: Logger;
  /** The lake, for stages that need it. */
  readonly store: ObjectStore;
  /** Runs `work` on a connection of its own to the source, closed afterwards (stages that need the database). */
  readonly withSource: <T>(work: (client: pg.Client) => Promise<T>) => Promise<T>;
  /** The run this invocation belongs to: new for the stage that takes the lease, else the event's. */
  readonly runId: string;
  /** The run's publication of its day (lease, publish, sweep, release): for the stages that publish or give the day back. */
  readonly publication: DayPublication;
  /** The execution's hold on the lake (its interrupt token): for a stage that publishes a snapshot table. */
  readonly session: LakeSession;
}

/** The input fields the lease is keyed by. */
interface LeasedInput {
  readonly date: CalendarDay;
  readonly runId?: string;
  readonly owner?: string;
}

export interface Stage<S extends v.GenericSchema = v.GenericSchema, O = unknown, C = Config, Spec extends StageSpec = StageSpec> {
  readonly spec: Spec;
  /** The event contract, checked before anything else happens. */
  readonly input: S;
  readonly run: (input: v.InferOutput<S>, context: StageContext<C>) => Promise<O>;
}

/** A stage of any contract, as the registry's consumers hold it. */
// biome-ignore lint/suspicious/noExplicitAny: a list of stages has one contract per entry.
export type AnyStage = Stage<any, any, any, StageSpec>;

/** Pairs a registry entry with its contract and run function. */
export function defineStage<const Spec extends StageSpec, S extends v.GenericSchema, O>(
  spec: Spec,
  input: S,
  run: (input: v.InferOutput<S>, context: StageContext<Pick<Config, SliceOf<Spec>>>) => Promise<O>,
): Stage<S, O, Pick<Config, SliceOf<Spec>>, Spec> {
  return { spec, input, run };
}

/**
 * How a caller holds the day's partition lease while a stage runs: the pipeline always does, for
 * `ttlMs`; a tool that runs a stage without it (a benchmark of one stage) says so and why.
 */
export type LeaseTerms = { readonly ttlMs: number } | { readonly unleased: string };

/** What a caller opens once and hands to every run of a stage. */
export interface StageResources<C = Config> {
  readonly config: C;
  readonly log: Logger;
  readonly store?: ObjectStore | Promise<ObjectStore>;
  readonly withSource?: <T>(work: (client: pg.Client) => Promise<T>) => Promise<T>;
  /**
   * The execution the stage runs in: its interrupt token, the leases it holds, how it tells a gone
   * lease holder. Default: a session of this call's own (a Lambda invocation).
   */
  readonly session?: LakeSession;
}

function missing(what: string, stage: string): never {
  throw new Error(`stage ${stage} needs ${what}, and its caller gave none`);
}

/** Parses `event`, then runs the stage under the lease its registry entry calls for. */
export async function runStage<S extends v.GenericSchema, O, C>(
  stage: Stage<S, O, C>,
  event: unknown,
  resources: StageResources<C>,
  terms: LeaseTerms,
): Promise<O> {
  const { spec } = stage;
  const input = parseContract(stage.input, event);
  const store = spec.needs.lake ? await (resources.store ?? missing('the lake', spec.name)) : undefined;
  const leased = spec.lease !== 'none';
  const fields = input as unknown as LeasedInput;
  const runId = spec.lease === 'acquire' ? newRunId() : (fields.runId ?? '');
  const holder: LeaseHolder | undefined = leased ? { day: fields.date, runId, owner: fields.owner ?? runId } : undefined;
  if (holder) resources.log.appendKeys({ date: holder.day.iso, run_id: runId });
  const context: StageContext<C> = {
    config: resources.config,
    log: resources.log,
    store: store ?? (undefined as never),
    withSource: resources.withSource ?? (() => missing('the source database', spec.name)),
    runId,
    publication: undefined as never,
    session: resources.session ?? new LakeSession(),
  };
  if (!holder) return stage.run(input, context);
  const lake = store ?? missing('the lake', spec.name);
  const publication = context.session.publication(lake, holder, 'unleased' in terms ? 0 : terms.ttlMs);
  if ('unleased' in terms) return stage.run(input, { ...context, publication });
  return publication.runStage(spec.lease, () => stage.run(input, { ...context, publication }));
}
