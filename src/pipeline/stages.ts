/**
 * The registry of the pipeline's stages: each declared once, with its name (its folder under
 * `src/pipeline/` and `functions/`), its task state in the state machine, its part in the day's
 * partition lease, what it needs, its Lambda sizing and what it may do in the lake. The Lambda
 * handlers, the CDK functions with their grants and outputs, the state machine's task names, the
 * local executor and the benchmark all read it.
 *
 * Adding a stage: a folder `src/pipeline/<name>/` whose `index.ts` pairs this entry with its
 * contract and run function (`defineStage`), a one-line `functions/<name>/index.ts`, and an entry here.
 */
import type { ConfigKey } from '../core/config.js';
import { KEY_PATTERNS as K } from '../lake/layout.js';
import type { LeasePart } from '../lake/lease.js';

/**
 * What a stage may do in the lake, as key patterns relative to the lake root (`KEY_PATTERNS`).
 * - `read`: GetObject (HeadObject and ranged GETs included).
 * - `list`: ListBucket limited to these prefixes. It also makes S3 answer 404 instead of 403 for a
 *   missing key under them, which the code relies on (a missing manifest means "never published").
 * - `write`: PutObject (conditional writes and multipart uploads included).
 * - `delete`: DeleteObject (DeleteObjects checks it per key).
 */
export interface LakeAccess {
  readonly read?: readonly string[];
  readonly list?: readonly string[];
  readonly write?: readonly string[];
  readonly delete?: readonly string[];
}

export interface StageSpec {
  /** Folder under `src/pipeline/` and `functions/`; the `stage` key of its logs. */
  readonly name: string;
  /** Its Task state in the state machine (local runs map handlers to states by this name). */
  readonly state: string;
  /** What it does, for the Lambda function and the README. */
  readonly description: string;
  /** Its part in the day's partition lease (`src/lake/lease.ts`). */
  readonly lease: LeasePart;
  /** The source database (a connection, the secret, the VPC) and the lake. */
  readonly needs: { readonly database: boolean; readonly lake: boolean };
  /**
   * The configuration it reads besides what its needs and lease bring (`configKeysOf`): its Lambda
   * reads and checks only these variables, and the stack sets only these.
   */
  readonly settings: readonly ConfigKey[];
  readonly lambda: {
    readonly memoryMb: number;
    readonly timeoutSeconds: number;
    /** Ships parquet-wasm's `.wasm` beside its bundle. */
    readonly wasm?: boolean;
  };
  readonly access: LakeAccess;
}

export const STAGES = {
  plan: {
    name: 'plan',
    state: 'Plan',
    description: 'Turns the execution input into the list of days to run',
    lease: 'none',
    needs: { database: false, lake: false },
    settings: ['timeZone'],
    lambda: { memoryMb: 128, timeoutSeconds: 10 },
    access: {},
  },
  planDay: {
    name: 'plan-day',
    state: 'PlanDay',
    description: "Takes a day's lease and cuts a day too big for one invocation into hour ranges",
    lease: 'acquire',
    needs: { database: true, lake: true },
    settings: ['timeZone', 'maxRowsPerRange'],
    // Two counts on the source's rent_start index; the memory is for the pg client.
    lambda: { memoryMb: 256, timeoutSeconds: 300 },
    access: { read: [K.leases], list: [K.leases], write: [K.leases], delete: [K.leases] },
  },
  extract: {
    name: 'extract',
    state: 'Extract',
    description: "Copies a day's (or an hour range's) rows from Postgres into the lake's staging area",
    lease: 'renew',
    needs: { database: true, lake: true },
    settings: ['timeZone', 'batchRows'],
    // Streams the day in batches (~150 MB RSS for 1M rows locally); the rest of the memory buys CPU for decoding.
    lambda: { memoryMb: 1024, timeoutSeconds: 600 },
    // Streams a range's source rows into the staging area (and removes them if it fails); nothing else.
    access: { read: [K.leases], list: [K.leases], write: [K.staging, K.leases], delete: [K.staging, K.leases] },
  },
  transformWrite: {
    name: 'transform-write',
    state: 'TransformWrite',
    description: 'Casts a staged day and writes its Parquet files',
    lease: 'renew',
    needs: { database: false, lake: true },
    settings: ['timeZone', 'rowsPerFile', 'rowGroupRows'],
    // Parquet encoding is CPU-bound: 1,769 MB is one full vCPU; peak RSS ~200 MB at 6M rows locally.
    lambda: { memoryMb: 2048, timeoutSeconds: 900, wasm: true },
    // Reads the staged day; writes data files, quarantine lines and the snapshots of users and bikes.
    access: {
      read: [K.staging, K.leases],
      list: [K.staging, K.leases],
      write: [K.dataFiles, K.quarantine, ...K.snapshots, K.leases],
      delete: [K.leases],
    },
  },
  validate: {
    name: 'validate',
    state: 'Validate',
    description: "Checks a day's files, writes the report and publishes the partition",
    lease: 'renew-and-release',
    needs: { database: false, lake: true },
    settings: ['thresholds'],
    // Reads only footers (one ranged GET per file) and small JSON.
    lambda: { memoryMb: 512, timeoutSeconds: 300 },
    // Reads footers and manifests, writes the report and the manifest (never a data file), removes
    // files the new manifest no longer names, a failed run's files, and the run's staging area.
    access: {
      read: [K.partitions, K.leases],
      list: [K.partitions, K.quarantine, K.staging, K.leases],
      write: [K.manifests, K.reports, K.leases],
      delete: [K.dataFiles, K.quarantine, K.staging, K.leases],
    },
  },
  releaseDay: {
    name: 'release-day',
    state: 'ReleaseDay',
    description: "Gives a failed day's partition lease back",
    lease: 'release',
    needs: { database: false, lake: true },
    settings: [],
    lambda: { memoryMb: 128, timeoutSeconds: 30 },
    access: { read: [K.leases], list: [K.leases], delete: [K.leases] },
  },
} as const satisfies Record<string, StageSpec>;

export type StageKey = keyof typeof STAGES;

/** The registry entries in pipeline order. */
export const STAGE_LIST: readonly (StageSpec & { readonly key: StageKey })[] = (Object.keys(STAGES) as StageKey[]).map((key) => ({ key, ...STAGES[key] }));

/** The Lambda entry file of a stage, relative to the project root. */
export function handlerEntry(spec: Pick<StageSpec, 'name'>): string {
  return `functions/${spec.name}/index.ts`;
}

const LAKE_KEYS = ['lake', 'region', 'endpoint'] as const;
type LeaseHolding = 'acquire' | 'renew' | 'renew-and-release';

/** The configuration a stage reads: its own settings, the lake's, the source's and the lease's length. */
export type SliceOf<Spec extends StageSpec> =
  | Spec['settings'][number]
  | (Spec['needs']['lake'] extends true ? (typeof LAKE_KEYS)[number] : never)
  | (Spec['needs']['database'] extends true ? 'databaseUrl' : never)
  | (Spec['lease'] extends LeaseHolding ? 'lockTtlMs' : never);

/** The configuration keys of `spec`'s slice (`SliceOf`). */
export function configKeysOf<Spec extends StageSpec>(spec: Spec): SliceOf<Spec>[] {
  const keys: ConfigKey[] = [...spec.settings];
  if (spec.needs.lake) keys.push(...LAKE_KEYS);
  if (spec.needs.database) keys.push('databaseUrl');
  if (spec.lease === 'acquire' || spec.lease === 'renew' || spec.lease === 'renew-and-release') keys.push('lockTtlMs');
  return [...new Set(keys)] as SliceOf<Spec>[];
}
