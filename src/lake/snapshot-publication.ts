/**
 * The publication of a snapshot table's copy (users, bikes): one file at a fixed key, which
 * readers take whole, and its manifest. Two executions may publish the same table at once (the
 * schedule beside a backfill), so the publication holds the table's lock (`_locks/<table>.json`)
 * from reading the published manifest to committing the new one with a conditional write: the copy
 * read from the later source snapshot always wins, and the file and its manifest never disagree
 * once a publication returns. See docs/protocol.md, "Snapshot tables".
 */
import { randomInt } from 'node:crypto';
import { PartitionBusyError, PreconditionFailedError } from '../core/errors.js';
import type { IcebergUpkeep } from './iceberg/commit.js';
import { syncIcebergSnapshot } from './iceberg/lake-sync.js';
import type { InterruptToken } from './interrupt.js';
import { publishedKeyOf, snapshotManifestKey } from './layout.js';
import { acquireLock, type HolderLiveness, lockTarget, releaseLock } from './lease.js';
import type { ObjectStore } from './store.js';

/** What `_manifests/<table>.json` says of a snapshot table's published copy. */
export interface SnapshotManifest {
  readonly version: 1;
  readonly table: string;
  readonly key: string;
  readonly runId: string;
  readonly rows: number;
  readonly bytes: number;
  /** Source time of the read the copy was made from: an older read never replaces a newer one. */
  readonly sourceSnapshotAt: string;
  readonly publishedAt: string;
}

/** A checked copy in the run's staging, ready to publish. */
export interface StagedSnapshot {
  readonly table: string;
  readonly runId: string;
  readonly staged: string;
  readonly rows: number;
  readonly bytes: number;
  readonly sourceSnapshotAt: string;
}

/** What a snapshot publication needs of its execution (`LakeSession`). */
export interface SnapshotSession {
  readonly token: InterruptToken;
  readonly liveness: HolderLiveness;
  /** How the Iceberg tables are kept (Glue follows them). */
  readonly iceberg?: IcebergUpkeep;
}

/** How long the table's lock lasts: a publication is a copy and a small write, far shorter. */
const SNAPSHOT_LOCK_TTL_MS = 60_000;
/** How long a publication waits for another execution's publication of the same table before it gives up (transient). */
const SNAPSHOT_LOCK_PATIENCE_MS = 30_000;

async function readSnapshotManifestVersion(store: ObjectStore, table: string): Promise<{ manifest: SnapshotManifest; etag: string | undefined } | undefined> {
  const object = await store.getObject(snapshotManifestKey(table));
  return object ? { manifest: JSON.parse(Buffer.from(object.body).toString('utf8')) as SnapshotManifest, etag: object.etag } : undefined;
}

export async function readSnapshotManifest(store: ObjectStore, table: string): Promise<SnapshotManifest | undefined> {
  return (await readSnapshotManifestVersion(store, table))?.manifest;
}

/** Takes the table's lock, waiting (jittered) while another publication holds it, for at most the patience. */
async function takeTableLock(store: ObjectStore, snapshot: StagedSnapshot, session: SnapshotSession): Promise<void> {
  const target = lockTarget({ table: snapshot.table });
  const giveUpAt = Date.now() + SNAPSHOT_LOCK_PATIENCE_MS;
  for (;;) {
    session.token.throwIfInterrupted();
    try {
      await acquireLock(store, target, { owner: snapshot.runId, runId: snapshot.runId, ttlMs: SNAPSHOT_LOCK_TTL_MS, liveness: session.liveness });
      return;
    } catch (error) {
      if (!(error instanceof PartitionBusyError) || Date.now() > giveUpAt) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50 + randomInt(200)));
    }
  }
}

/**
 * Publishes a validated, staged copy of a snapshot table under the table's lock: reads the
 * published manifest, drops this copy if the published one was read later, else promotes the copy
 * over the published file (a reader sees the old copy or the new one, never a mix) and commits its
 * manifest with a conditional write. Returns whether it was published.
 */
export async function publishSnapshot(store: ObjectStore, snapshot: StagedSnapshot, session: SnapshotSession): Promise<boolean> {
  return session.token.track(async () => {
    await takeTableLock(store, snapshot, session);
    try {
      const published = await readSnapshotManifestVersion(store, snapshot.table);
      if (published && published.manifest.sourceSnapshotAt > snapshot.sourceSnapshotAt) {
        await syncIcebergSnapshot(store, snapshot.table, published.manifest, session.iceberg);
        return false;
      }
      session.token.throwIfInterrupted();
      const key = publishedKeyOf(snapshot.runId, snapshot.staged);
      await store.promote(snapshot.staged, key);
      const manifest: SnapshotManifest = {
        version: 1,
        table: snapshot.table,
        key,
        runId: snapshot.runId,
        rows: snapshot.rows,
        bytes: snapshot.bytes,
        sourceSnapshotAt: snapshot.sourceSnapshotAt,
        publishedAt: new Date().toISOString(),
      };
      try {
        await store.putObject(snapshotManifestKey(snapshot.table), `${JSON.stringify(manifest, null, 2)}\n`, {
          contentType: 'application/json',
          ...(published ? { ifMatch: published.etag } : { ifNoneMatch: true }),
        });
      } catch (error) {
        // Only a writer without the lock (its lease ran out mid-publication) gets here: the retry reads the source again.
        if (error instanceof PreconditionFailedError) {
          throw new PartitionBusyError(`snapshot table ${snapshot.table} was published by another run meanwhile; retry`, { cause: error });
        }
        throw error;
      }
      await syncIcebergSnapshot(store, snapshot.table, manifest, session.iceberg);
      return true;
    } finally {
      await releaseLock(store, lockTarget({ table: snapshot.table }), snapshot.runId).catch(() => undefined);
    }
  });
}
