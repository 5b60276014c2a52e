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
import { icebergKeyPattern, icebergTableOfPattern } from '../lake/iceberg/metadata-layout.js';
import { KEY_PATTERNS as K } from '../lake/layout.js';
import type { LeasePart } from '../lake/lease.js';
import { RENTALS } from '../core/tables.js';

/**
 * What a stage may do in the lake, as key patterns relative to the lake root (`KEY_PATTERNS`).
 * - `read`: GetObject (HeadObject and ranged GETs included), and ListBucket with such a key as the
 *   prefix: S3 refuses a read of a missing key with 403 to these roles, and the store tells a
 *   missing key (a missing manifest means "never published") from a refused one by that listing.
 * - `list`: ListBucket limited to these prefixes.
 * - `write`: PutObject (conditional writes and multipart uploads included).
 * - `delete`: DeleteObject (DeleteObjects checks it per key).
 */
export interface LakeAccess {
  readonly read?: readonly string[];
  readonly list?: readonly string[];
  readonly write?: readonly string[];
  readonly delete?: readonly string[];
}

/** The Iceberg tables' metadata (`_iceberg/<table>/metadata/*`): a stage that commits a table reads, lists, writes and deletes there. */
const ICEBERG = { rentals: icebergKeyPattern(RENTALS.name), snapshots: RENTALS.snapshots.map((s) => icebergKeyPattern(s.name)) } as const;

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
    description: "Turns the execution input into the list of days to run; the schedule's adds the stale and missing days of its lookback",
    lease: 'none',
    needs: { database: true, lake: true },
    settings: ['timeZone', 'republishLookbackDays'],
    // The schedule's lookback: a manifest read per day and the source's counts for the window (at 100M
    // rentals a day, a week of them takes minutes); the memory is for the pg client. Retried as a whole.
    lambda: { memoryMb: 256, timeoutSeconds: 300 },
    // Reads the manifests of the lookback's days (a missing one: never published).
    access: { read: [K.manifests], list: [K.manifests] },
  },
  snapshot: {
    name: 'snapshot',
    state: 'Snapshot',
    description: 'Copies users and bikes whole, once per execution, checks the copies and publishes them',
    lease: 'none',
    needs: { database: true, lake: true },
    settings: ['batchRows', 'rowGroupRows'],
    // Each table streamed into one Parquet file, a row group at a time: 5.3M rows (5M users) in 17 s
    // at 264 MB peak RSS locally (docs/performance.md); the memory buys CPU for encoding.
    lambda: { memoryMb: 1024, timeoutSeconds: 300, wasm: true },
    // Stages each copy, reads its footer, then under the table's lock promotes it over the published
    // one, writes its manifest and commits it to the table's Iceberg table.
    access: {
      read: [K.staging, ...K.snapshotManifests, ...K.snapshotLeases, ...ICEBERG.snapshots],
      list: [K.staging, ...K.snapshotLeases, ...ICEBERG.snapshots],
      write: [K.staging, ...K.snapshots, ...K.snapshotManifests, ...K.snapshotLeases, ...ICEBERG.snapshots],
      delete: [K.staging, ...K.snapshotLeases, ...ICEBERG.snapshots],
    },
  },
  planDay: {
    name: 'plan-day',
    state: 'PlanDay',
    description: "Takes a day's lease and cuts a day too big for one invocation into hour ranges",
    lease: 'acquire',
    needs: { database: true, lake: true },
    settings: ['timeZone', 'maxRowsPerRange'],
    // One pass over the day on the source's rent_start index (its rows by hour): 7 s for 20M rows
    // locally; the memory is for the pg client.
    lambda: { memoryMb: 256, timeoutSeconds: 300 },
    // Takes the lease, then sweeps what earlier runs of the day left: their staging, files in the
    // partition or quarantine that no manifest names (the Iceberg table first made to say what the
    // manifest says, and kept: superseded files whose time is up go).
    access: {
      read: [K.leases, K.manifests, ICEBERG.rentals],
      list: [K.leases, K.partitions, K.quarantine, K.staging, ICEBERG.rentals],
      write: [K.leases, ICEBERG.rentals],
      delete: [K.leases, K.dataFiles, K.quarantine, K.staging, ICEBERG.rentals],
    },
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
    // Streams a range's source rows into the staging area (and removes them if it fails); an append
    // first reads the day's manifest and its files' footers (the largest published key).
    access: { read: [K.leases, K.manifests, K.dataFiles], list: [K.leases, K.manifests], write: [K.staging, K.leases], delete: [K.staging, K.leases] },
  },
  transformWrite: {
    name: 'transform-write',
    state: 'TransformWrite',
    description: "Casts a staged day and writes its Parquet files into the run's staging",
    lease: 'renew',
    needs: { database: false, lake: true },
    settings: ['timeZone', 'rowsPerFile', 'rowGroupRows', 'openRentalMaxMinutes'],
    // Parquet encoding is CPU-bound: 1,769 MB is one full vCPU; peak RSS ~200 MB at 6M rows locally.
    lambda: { memoryMb: 2048, timeoutSeconds: 900, wasm: true },
    // Reads the staged day (and, to append, the ids of the published partition); writes data files
    // and the snapshots of users and bikes into the run's staging, and quarantine lines.
    access: {
      read: [K.staging, K.leases, K.manifests, K.dataFiles],
      list: [K.staging, K.leases, K.manifests],
      write: [K.staging, K.quarantine, K.leases],
      delete: [K.staging, K.quarantine, K.leases],
    },
  },
  validate: {
    name: 'validate',
    state: 'Validate',
    description: "Checks a day's staged files, writes the report and publishes them into the partition",
    lease: 'renew-and-release',
    needs: { database: false, lake: true },
    settings: ['thresholds', 'compactAboveFiles', 'rowsPerFile', 'rowGroupRows'],
    // Reads footers (one ranged GET per file) and small JSON; an append that leaves too many files
    // compacts the partition, streaming row groups (a 20M-row partition within 1 GB).
    lambda: { memoryMb: 1024, timeoutSeconds: 900, wasm: true },
    // Reads the staged files' footers, the manifests and (an append) the partition's last report,
    // writes the report; publishes: copies the staged files into the partition and the snapshot
    // folders, writes the manifests, commits the day to the Iceberg table, removes the files the new
    // manifest no longer names, a failed run's files, and the run's staging area. A compaction reads
    // the partition's files and stages their rewrite under its run.
    access: {
      read: [K.partitions, K.staging, K.manifests, ...K.snapshotManifests, K.leases, K.reports, ICEBERG.rentals],
      list: [K.partitions, K.quarantine, K.staging, K.manifests, K.leases, K.reports, ICEBERG.rentals],
      write: [K.dataFiles, ...K.snapshots, K.manifests, ...K.snapshotManifests, K.reports, K.leases, K.staging, ICEBERG.rentals],
      delete: [K.dataFiles, K.quarantine, K.staging, K.leases, ICEBERG.rentals],
    },
  },
  releaseDay: {
    name: 'release-day',
    state: 'ReleaseDay',
    description: "Sweeps a failed day's leftovers and gives its partition lease back",
    lease: 'release',
    needs: { database: false, lake: true },
    settings: [],
    lambda: { memoryMb: 128, timeoutSeconds: 30 },
    // Sweeps what the failed run left (its staging, files no manifest names; the Iceberg table
    // first made to say what the manifest says), then gives the lease back.
    access: {
      read: [K.leases, K.manifests, ICEBERG.rentals],
      list: [K.leases, K.partitions, K.quarantine, K.staging, ICEBERG.rentals],
      write: [ICEBERG.rentals],
      delete: [K.leases, K.dataFiles, K.quarantine, K.staging, ICEBERG.rentals],
    },
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

/** The Iceberg tables `spec` commits: those whose metadata its access lets it write. */
export function icebergTablesOf(spec: Pick<StageSpec, 'access'>): string[] {
  return (spec.access.write ?? []).flatMap((pattern) => icebergTableOfPattern(pattern) ?? []);
}

/**
 * The configuration keys of `spec`'s slice (`SliceOf`), and those of the Iceberg upkeep of a stage
 * that commits a table (`GLUE_DATABASE`; `ICEBERG_KEEP_SUPERSEDED_HOURS` for `rentals`), which its
 * handler reads (`icebergUpkeepOf`) rather than the stage.
 */
export function configKeysOf<Spec extends StageSpec>(spec: Spec): SliceOf<Spec>[] {
  const keys: ConfigKey[] = [...spec.settings];
  const iceberg = icebergTablesOf(spec);
  if (iceberg.length > 0) keys.push('glueDatabase');
  if (iceberg.includes(RENTALS.name)) keys.push('keepSupersededMs');
  if (spec.needs.lake) keys.push(...LAKE_KEYS);
  if (spec.needs.database) keys.push('databaseUrl');
  if (spec.lease === 'acquire' || spec.lease === 'renew' || spec.lease === 'renew-and-release') keys.push('lockTtlMs');
  return [...new Set(keys)] as SliceOf<Spec>[];
}
