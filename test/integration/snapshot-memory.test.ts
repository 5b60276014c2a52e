/**
 * Snapshot streams each table into the lake: the Parquet writer takes each batch as the COPY
 * yields it and sends the file on row group by row group, so what the stage holds at once is a
 * batch or two and the writer's row group, whatever the table's size (5 million users must fit a
 * 1 GB function). Counted in batches decoded from the source and not yet taken by the writer,
 * not in bytes or seconds.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseLakeUri } from '../../src/core/config.js';
import { parseDay } from '../../src/core/day.js';
import { FsStore } from '../../src/lake/fs-store.js';
import { newRunId } from '../../src/lake/layout.js';
import { LakeSession } from '../../src/lake/session.js';
import { snapshotTables } from '../../src/pipeline/snapshot/snapshot.js';
import { seed } from '../../src/source/synthetic/load.js';
import { createTestDatabase } from '../support/databases.js';

/** Batches decoded from the source and taken by the Parquet writer so far, and the most held between the two. */
const batches = vi.hoisted(() => ({ decoded: 0, written: 0, mostHeld: 0 }));
const held = () => {
  batches.mostHeld = Math.max(batches.mostHeld, batches.decoded - batches.written);
};

vi.mock('../../src/source/copy-binary.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/source/copy-binary.js')>();
  return {
    ...original,
    decodeCopyBinary: async function* (...args: Parameters<typeof original.decodeCopyBinary>) {
      for await (const batch of original.decodeCopyBinary(...args)) {
        batches.decoded++;
        held();
        yield batch;
      }
    },
  };
});

vi.mock('../../src/formats/parquet.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/formats/parquet.js')>();
  return {
    ...original,
    parquetStream: (input: AsyncIterable<import('apache-arrow').RecordBatch>, options: Parameters<typeof original.parquetStream>[1]) =>
      original.parquetStream(
        (async function* () {
          for await (const batch of input) {
            batches.written++;
            yield batch;
          }
        })(),
        options,
      ),
    parquetBytes: (...args: Parameters<typeof original.parquetBytes>) => {
      batches.written += args[1].length;
      return original.parquetBytes(...args);
    },
  };
});

const BATCH_ROWS = 50;
const ROW_GROUP_ROWS = 500;

describe('snapshot memory', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let client: pg.Client;
  let lake: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    client = new pg.Client(database.url);
    await client.connect();
    lake = await mkdtemp(join(tmpdir(), 'snapshot-memory-'));
  });
  afterAll(async () => {
    await client?.end();
    await database?.drop();
    await rm(lake, { recursive: true, force: true });
  });

  /** Snapshots `users` users (and 10 bikes); returns the rows published and the most batches held at once. */
  async function snapshotOf(users: number): Promise<{ rows: number; mostHeld: number }> {
    await seed(client, { from: parseDay('2025-05-01'), to: parseDay('2025-05-01'), rentalsPerDay: 0, users, bikes: 10 });
    Object.assign(batches, { decoded: 0, written: 0, mostHeld: 0 });
    const store = new FsStore(parseLakeUri(join(lake, String(users))));
    const result = await snapshotTables({ client, store, session: new LakeSession(), runId: newRunId(), batchRows: BATCH_ROWS, rowGroupRows: ROW_GROUP_ROWS });
    return { rows: result.tables.users.rows, mostHeld: batches.mostHeld };
  }

  it('holds a batch or two of a table at a time, the same for a table ten times bigger', async () => {
    // Act
    const small = await snapshotOf(2_000);
    const large = await snapshotOf(20_000);

    // Assess: every row published, and what was held never grew with the table
    expect(small.rows).toBe(2_000);
    expect(large.rows).toBe(20_000);
    expect(large.mostHeld).toBe(small.mostHeld);
    expect(large.mostHeld).toBeLessThanOrEqual(2);
  });
});
