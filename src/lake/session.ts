/**
 * What one execution holds on the lake: its interrupt token and the days' leases it holds now.
 * A Lambda invocation gets a session of its own; a local execution keeps one for all its stages,
 * so that an interruption (Ctrl-C) stops its publications and gives back exactly its days, while
 * another execution in the same process goes on. See docs/protocol.md, "Interruption".
 */
import { DayPublication, type PublicationSession } from './day-publication.js';
import type { IcebergUpkeep } from './iceberg/commit.js';
import { InterruptToken } from './interrupt.js';
import { localLiveness, type HolderLiveness, type LeaseHolder } from './lease.js';
import { publishSnapshot, type StagedSnapshot } from './snapshot-publication.js';
import type { ObjectStore } from './store.js';

export class LakeSession implements PublicationSession {
  readonly token = new InterruptToken();
  /**
   * The leases held now, by lock key. A lease handed on to another process (a Lambda's next stage
   * runs elsewhere) is forgotten once it would have expired here.
   */
  readonly #held = new Map<string, { readonly publication: DayPublication; readonly until: number }>();

  /**
   * @param liveness Tells a gone lease holder from a live one (default: a dead process on this machine).
   * @param iceberg How its publications keep the Iceberg tables (Glue, superseded files; `icebergUpkeepOf`).
   */
  constructor(
    readonly liveness: HolderLiveness = localLiveness,
    readonly iceberg: IcebergUpkeep = {},
  ) {}

  /** The protocol object of `holder`'s run of its day, in this session (`ttlMs`: each renewal's length; 0 holds none). */
  publication(store: ObjectStore, holder: LeaseHolder, ttlMs: number): DayPublication {
    return new DayPublication(store, holder, ttlMs, this);
  }

  /** Publishes a snapshot table's staged copy under its lock (`publishSnapshot`); false when a later copy is published. */
  publishSnapshot(store: ObjectStore, snapshot: StagedSnapshot): Promise<boolean> {
    return publishSnapshot(store, snapshot, this);
  }

  hold(publication: DayPublication, ttlMs: number): void {
    const now = Date.now();
    for (const [key, lease] of this.#held) if (lease.until < now) this.#held.delete(key);
    this.#held.set(publication.lockKey, { publication, until: now + ttlMs });
  }

  forget(publication: DayPublication): void {
    if (this.#held.get(publication.lockKey)?.publication.runId === publication.runId) this.#held.delete(publication.lockKey);
  }

  /**
   * Interrupts the execution: nothing more is staged or published (a publish committing finishes,
   * one not yet committed gives up), then every day it holds is swept of its run's leftovers and
   * given back. `settle` is awaited between the two (the stages in flight ending). Returns the days.
   */
  async interrupt(settle: () => Promise<unknown> = async () => undefined): Promise<string[]> {
    await this.token.interrupt();
    await settle();
    const leases = [...this.#held.values()];
    this.#held.clear();
    await Promise.all(leases.map(({ publication }) => publication.release().catch(() => false)));
    return leases.map(({ publication }) => publication.day.iso);
  }
}
