/**
 * The partition lock as the stages of a day cut into hour ranges use it, against a lake in a
 * local directory (no database): parallel stages of one run may take and renew the lock at the
 * same time; a run whose day was given up or taken over stops before doing any work; a stage keeps
 * the lock through a transient failure and gives it back on a terminal one. Also the clean-up after
 * publishing, which must know the keys of hour ranges (`-hNN`) by their run.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/core/config.js';
import { parseDay } from '../../src/core/day.js';
import { LockLostError, PartitionBusyError, StagingError, StoreUnavailableError } from '../../src/core/errors.js';
import { FsStore } from '../../src/lake/fs-store.js';
import { dataFileKey, quarantineKey } from '../../src/lake/layout.js';
import { acquireLock, lockKey, releaseLock, renewLock, type LeaseHolder, type LeasePart, type PartitionLock } from '../../src/lake/lease.js';
import type { DayPublication } from '../../src/lake/day-publication.js';
import { LakeSession } from '../../src/lake/session.js';
import { removeUnlisted, type PartitionManifest } from '../../src/lake/manifest.js';
import { rejectionOf } from '../support/outcomes.js';

const DAY = parseDay('2025-06-01');
const OLD_RUN = '20250601T010000000Z-0a0a0a0a';
const RUN = '20250601T020000000Z-0b0b0b0b';
const NEW_RUN = '20250601T030000000Z-0c0c0c0c';
const OWNER = 'arn:aws:states:eu-west-1:123456789012:execution:etl:run-b';
const TTL_MS = 10 * 60_000;
const request = { owner: OWNER, runId: RUN, ttlMs: TTL_MS };
const holderOf = (r: { owner: string; runId: string }) => ({ day: DAY, runId: r.runId, owner: r.owner });

describe('the partition lock of a day cut into hour ranges', () => {
  let lake: string;
  let store: FsStore;

  /** The lock of the day as stored now, or undefined when nobody holds it. */
  async function storedLock(): Promise<PartitionLock | undefined> {
    const object = await store.getObject(lockKey(DAY));
    return object ? (JSON.parse(Buffer.from(object.body).toString('utf8')) as PartitionLock) : undefined;
  }

  /** Runs `work` as a stage with `part` in the lease, in an execution of its own. */
  function runStage<T>(part: LeasePart, holder: LeaseHolder, work: (publication: DayPublication) => Promise<T>): Promise<T> {
    return new LakeSession().publication(store, holder, TTL_MS).runStage(part, work);
  }

  beforeAll(async () => {
    lake = await mkdtemp(join(tmpdir(), 'lock-renewal-'));
    store = new FsStore(loadConfig({ LAKE_URI: lake }).lake);
  });

  afterAll(async () => {
    await rm(lake, { recursive: true, force: true });
  });

  beforeEach(async () => {
    await store.deleteObjects([lockKey(DAY)]);
  });

  describe('parallel stages of one run', () => {
    it('all take the lock when they acquire it at once', async () => {
      // Act
      const locks = await Promise.all(Array.from({ length: 5 }, () => acquireLock(store, DAY, request)));

      // Assess
      for (const lock of locks) expect(lock).toMatchObject({ owner: OWNER, runId: RUN });
      expect(await storedLock()).toMatchObject({ owner: OWNER, runId: RUN });
    });

    it('all renew the lock when they renew it at once', async () => {
      // Arrange
      const acquired = await acquireLock(store, DAY, { ...request, ttlMs: 1_000 });

      // Act
      const renewed = await Promise.all(Array.from({ length: 5 }, () => renewLock(store, DAY, request)));

      // Assess: every renewal extends the lock, which still names the run
      for (const lock of renewed) {
        expect(lock).toMatchObject({ owner: OWNER, runId: RUN, acquiredAt: acquired.acquiredAt });
        expect(lock.expiresAt > acquired.expiresAt).toBe(true);
      }
      const stored = await storedLock();
      expect(stored).toMatchObject({ owner: OWNER, runId: RUN });
      expect(stored!.expiresAt > acquired.expiresAt).toBe(true);
    });

    it('all run their work under the lock at once, and it stays taken for the next stage', async () => {
      // Arrange
      await acquireLock(store, DAY, request);

      // Act
      const results = await Promise.all(Array.from({ length: 5 }, (_, i) => runStage('renew', holderOf(request), async () => i)));

      // Assess
      expect(results).toEqual([0, 1, 2, 3, 4]);
      expect(await storedLock()).toMatchObject({ runId: RUN });
    });
  });

  describe('a run that no longer holds the day', () => {
    it('cannot renew a lock it released', async () => {
      // Arrange
      await acquireLock(store, DAY, request);
      const released = await releaseLock(store, DAY, RUN);

      // Act
      const error = await rejectionOf(renewLock(store, DAY, request));

      // Assess
      expect(released).toBe(true);
      expect(error).toBeInstanceOf(LockLostError);
      expect((error as Error).message).toContain(`run ${RUN} no longer holds partition ${DAY.iso}`);
      expect(await storedLock()).toBeUndefined();
    });

    it('does not run the work of a stage after its day was given up', async () => {
      // Arrange
      await acquireLock(store, DAY, request);
      await releaseLock(store, DAY, RUN);
      let ran = false;

      // Act
      const error = await rejectionOf(
        runStage('renew', holderOf(request), async () => {
          ran = true;
        }),
      );

      // Assess
      expect(error).toBeInstanceOf(LockLostError);
      expect(ran).toBe(false);
      expect(await storedLock()).toBeUndefined();
    });

    it('lets the stage that publishes answer for a publish it made, but never publish (confirm throws), once its day is gone', async () => {
      // Arrange: another run holds the day now
      await acquireLock(store, DAY, { owner: 'another-execution', runId: NEW_RUN, ttlMs: TTL_MS });

      // Act
      const renewal = await rejectionOf(renewLock(store, DAY, request));
      const answered = await runStage('renew-and-release', holderOf(request), async (lease: DayPublication) => ({
        confirmed: await lease.confirm().then(
          () => undefined,
          (error: unknown) => error,
        ),
        released: await lease.release(),
      }));

      // Assess: the other run keeps its lock
      for (const error of [renewal, answered.confirmed]) {
        expect(error).toBeInstanceOf(LockLostError);
        expect((error as Error).message).toContain(`run ${NEW_RUN} holds it until`);
      }
      expect(answered.released).toBe(false);
      expect(await storedLock()).toMatchObject({ owner: 'another-execution', runId: NEW_RUN });
    });

    it('cannot renew after its lock expired and another run took the day over', async () => {
      // Arrange: the run's lock expired an hour ago, then another execution took it
      await acquireLock(store, DAY, { ...request, now: new Date(Date.now() - 2 * 3_600_000), ttlMs: 3_600_000 });
      await acquireLock(store, DAY, { owner: 'another-execution', runId: NEW_RUN, ttlMs: TTL_MS });

      // Act
      const error = await rejectionOf(renewLock(store, DAY, request));

      // Assess
      expect(error).toBeInstanceOf(LockLostError);
      expect((error as Error).message).toContain(`run ${NEW_RUN} holds it until`);
      expect(await storedLock()).toMatchObject({ runId: NEW_RUN });
    });

    it('cannot take a day another run holds, and does not run the work', async () => {
      // Arrange
      await acquireLock(store, DAY, { owner: 'another-execution', runId: NEW_RUN, ttlMs: TTL_MS });
      let ran = false;

      // Act
      const error = await rejectionOf(
        runStage('acquire', holderOf(request), async () => {
          ran = true;
        }),
      );

      // Assess
      expect(error).toBeInstanceOf(PartitionBusyError);
      expect((error as Error).message).toMatch(new RegExp(`run ${NEW_RUN} \\(process ${process.pid} on .+\\) holds it until`));
      expect(ran).toBe(false);
      expect(await storedLock()).toMatchObject({ runId: NEW_RUN });
    });
  });

  describe('a stage that fails', () => {
    it('keeps the lock for the retry when the failure is transient', async () => {
      // Arrange
      await acquireLock(store, DAY, request);
      const transient = new StoreUnavailableError('injected: 503 SlowDown');

      // Act
      const error = await rejectionOf(
        runStage('renew-and-release', holderOf(request), async () => {
          throw transient;
        }),
      );

      // Assess
      expect(error).toBe(transient);
      expect(await storedLock()).toMatchObject({ owner: OWNER, runId: RUN });
    });

    it('gives the lock back when the stage that took it fails, even transiently (its retry is a new run)', async () => {
      // Act
      const error = await rejectionOf(
        runStage('acquire', holderOf(request), async () => {
          throw new StoreUnavailableError('injected: connection reset');
        }),
      );

      // Assess
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect(await storedLock()).toBeUndefined();
    });

    it.each([
      ['a terminal error', () => new StagingError('injected: staged file unreadable')],
      ['an error of no known class', () => new TypeError('injected: bug')],
    ])('gives the lock back on %s', async (_name, makeError) => {
      // Arrange
      await acquireLock(store, DAY, request);
      const terminal = makeError();

      // Act
      const error = await rejectionOf(
        runStage('renew', holderOf(request), async () => {
          throw terminal;
        }),
      );

      // Assess
      expect(error).toBe(terminal);
      expect(await storedLock()).toBeUndefined();
    });

    it('leaves the lock of another run alone when it gives its own back', async () => {
      // Arrange: the run's stage starts under its lock, which another run takes over mid-stage
      await acquireLock(store, DAY, request);

      // Act
      const error = await rejectionOf(
        runStage('renew', holderOf(request), async () => {
          await store.deleteObjects([lockKey(DAY)]);
          await acquireLock(store, DAY, { owner: 'another-execution', runId: NEW_RUN, ttlMs: TTL_MS });
          throw new StagingError('injected: terminal');
        }),
      );

      // Assess
      expect(error).toBeInstanceOf(StagingError);
      expect(await storedLock()).toMatchObject({ runId: NEW_RUN });
    });
  });

  describe('removeUnlisted after publishing a day cut into hour ranges', () => {
    const key = {
      listed: dataFileKey(DAY, RUN, 0, 'h00'),
      listedRange: dataFileKey(DAY, RUN, 0, 'h06'),
      listedQuarantine: quarantineKey(DAY, RUN, 'h06'),
      oldWholeDay: dataFileKey(DAY, OLD_RUN, 0),
      oldRange: dataFileKey(DAY, OLD_RUN, 0, 'h06'),
      oldQuarantine: quarantineKey(DAY, OLD_RUN, 'h06'),
      oldWholeDayQuarantine: quarantineKey(DAY, OLD_RUN),
      unlistedOfRun: dataFileKey(DAY, RUN, 1, 'h12'),
      newRange: dataFileKey(DAY, NEW_RUN, 0, 'h06'),
      newQuarantine: quarantineKey(DAY, NEW_RUN, 'h06'),
    };

    it('removes files of older runs and unlisted files of the run, keeping listed ones and those of a newer run', async () => {
      // Arrange
      for (const k of Object.values(key)) await store.putObject(k, 'x');
      const manifest: PartitionManifest = {
        version: 1,
        table: 'rentals',
        date: DAY.iso,
        runId: RUN,
        schemaFingerprint: 'fp-1',
        rows: 2,
        files: [
          { key: key.listed, rows: 1, bytes: 1, runId: RUN },
          { key: key.listedRange, rows: 1, bytes: 1, runId: RUN },
        ],
        quarantine: [key.listedQuarantine],
        runs: [
          { runId: RUN, mode: 'overwrite', sourceCount: 2, sourceSnapshotAt: '2025-06-02T02:00:00.000Z', rows: 2, publishedAt: '2025-06-02T02:01:00.000Z' },
        ],
      };

      // Act
      const removed = await removeUnlisted(store, DAY, manifest);

      // Assess
      expect(removed.sort()).toEqual([key.oldWholeDay, key.oldRange, key.oldQuarantine, key.oldWholeDayQuarantine, key.unlistedOfRun].sort());
      for (const k of removed) expect(await store.head(k)).toBeUndefined();
      for (const k of [key.listed, key.listedRange, key.listedQuarantine, key.newRange, key.newQuarantine]) {
        expect(await store.head(k), k).toBeDefined();
      }
    });
  });
});
