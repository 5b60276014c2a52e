/**
 * Snapshot: the tables a day's rows refer to (users, bikes), copied whole once per execution, not
 * once per day, and published by the partitions' protocol: read in one REPEATABLE READ snapshot,
 * streamed as Parquet into the run's staging (memory holds a row group, not the table), checked
 * (the footer's rows equal the rows read in that snapshot, its columns are the declaration's),
 * then promoted over the published copy with its
 * manifest under the table's lock (`LakeSession.publishSnapshot`). A copy read before the published
 * one never replaces it.
 */
import type pg from 'pg';
import type { RecordBatch } from 'apache-arrow';
import { StagingError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { schemaFingerprint, stagingSchema } from '../../core/schema.js';
import { RENTALS, type FactTable, type SnapshotTable } from '../../core/tables.js';
import { PARQUET_CONTENT_TYPE, parquetBytes, parquetStream } from '../../formats/parquet.js';
import { expectedParquetColumns, footerColumns, readFooter } from '../../formats/parquet-footer.js';
import { snapshotKey, stagedKey, stagingPrefix } from '../../lake/layout.js';
import type { LakeSession } from '../../lake/session.js';
import type { ObjectStore } from '../../lake/store.js';
import { classifyDbError } from '../../source/connect.js';
import { decodeCopyBinary } from '../../source/copy-binary.js';
import { copyOut } from '../../source/copy-out.js';
import { copySnapshotSql } from '../../source/queries.js';
import { checkSourceColumns } from '../extract/extract.js';

export interface SnapshotRequest {
  readonly client: pg.Client;
  readonly store: ObjectStore;
  /** The execution the copies are published in (`LakeSession.publishSnapshot`: under each table's lock). */
  readonly session: Pick<LakeSession, 'publishSnapshot'>;
  readonly runId: string;
  readonly batchRows: number;
  readonly rowGroupRows: number;
  readonly log?: Logger;
  /** The table whose snapshot tables are copied: the declared `rentals` unless told. */
  readonly table?: FactTable;
}

/** How one snapshot table went: its rows, and whether this copy was published (false: a newer one is). */
export interface SnapshotTableResult {
  readonly rows: number;
  readonly bytes: number;
  readonly published: boolean;
}

export interface SnapshotResult {
  readonly runId: string;
  readonly snapshotAt: string;
  readonly tables: Readonly<Record<string, SnapshotTableResult>>;
  readonly seconds: number;
}

/**
 * Every row of `table` in the transaction's snapshot, as Arrow batches of `batchRows` rows, read
 * from the COPY as the consumer asks for them: nothing is held but the batch in hand.
 */
async function* readTable(client: pg.Client, table: SnapshotTable, batchRows: number): AsyncGenerator<RecordBatch> {
  const copy = copyOut(client, copySnapshotSql(table));
  try {
    yield* decodeCopyBinary(copy, table, batchRows);
  } catch (error) {
    throw error instanceof StagingError ? error : classifyDbError(error, `COPY ${table.name}`);
  } finally {
    // Stopped early (an error, or the upload gave up): the rest of the COPY is not wanted.
    if (!copy.readableEnded) copy.destroy();
  }
}

/**
 * Streams `table` into the staging key `key` as one Parquet file, row group by row group: memory
 * holds a row group and a batch, not the table (5 million users in a 1 GB function). Returns the rows
 * counted on the way and the file's size.
 */
async function stageTable(request: SnapshotRequest, snapshot: SnapshotTable, key: string): Promise<{ rows: number; bytes: number }> {
  const schema = stagingSchema(snapshot);
  let rows = 0;
  async function* counted(): AsyncGenerator<RecordBatch> {
    for await (const batch of readTable(request.client, snapshot, request.batchRows)) {
      rows += batch.numRows;
      yield batch;
    }
  }
  const options = { rowGroupRows: request.rowGroupRows, metadata: { 'etl.run_id': request.runId, 'etl.schema_fingerprint': schemaFingerprint(schema) } };
  const batches = counted();
  const first = await batches.next();
  if (first.done) {
    // An empty table is still a file: its schema and no rows (the stream writer needs a first batch for the schema).
    const body = parquetBytes(schema, [], options);
    await request.store.putObject(key, body, { contentType: PARQUET_CONTENT_TYPE });
    return { rows: 0, bytes: body.byteLength };
  }
  async function* all(): AsyncGenerator<RecordBatch> {
    yield first.value;
    yield* batches;
  }
  const { bytes } = await request.store.upload(key, await parquetStream(all(), options), PARQUET_CONTENT_TYPE);
  return { rows, bytes };
}

/** Copies, checks and publishes every snapshot table of `table`; leaves no staging behind. */
export async function snapshotTables(request: SnapshotRequest): Promise<SnapshotResult> {
  const started = performance.now();
  const { client, store, runId } = request;
  const table = request.table ?? RENTALS;
  const staged: Array<{ snapshot: SnapshotTable; key: string; rows: number; bytes: number }> = [];
  let snapshotAt: string;
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await checkSourceColumns(client, table.snapshots);
    snapshotAt = (await client.query<{ at: Date }>('SELECT now() AS at')).rows[0].at.toISOString();
    for (const snapshot of table.snapshots) {
      const key = stagedKey(runId, snapshotKey(snapshot.name));
      // Named before the upload starts: a failure half-way still removes what it left.
      const entry = { snapshot, key, rows: 0, bytes: 0 };
      staged.push(entry);
      Object.assign(entry, await stageTable(request, snapshot, key));
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    await store.deleteObjects(staged.map((s) => s.key)).catch(() => undefined);
    throw error;
  }
  const tables: Record<string, SnapshotTableResult> = {};
  try {
    // Each table under its own lock, at once: one's failure does not hold back the other's publication.
    const outcomes = await Promise.allSettled(
      staged.map(async ({ snapshot, key, rows, bytes }) => {
        const footer = await readFooter(store, key, bytes);
        const columns = footerColumns(footer).join('\n');
        if (Number(footer.num_rows) !== rows || columns !== expectedParquetColumns(stagingSchema(snapshot)).join('\n')) {
          throw new StagingError(`${key}: ${footer.num_rows} rows (the source snapshot has ${rows}), or columns other than ${snapshot.name}'s declaration`);
        }
        const published = await request.session.publishSnapshot(store, { table: snapshot.name, runId, staged: key, rows, bytes, sourceSnapshotAt: snapshotAt });
        request.log?.info(published ? 'snapshot published' : 'a newer snapshot is published: this one dropped', { table: snapshot.name, rows });
        return { rows, bytes, published };
      }),
    );
    for (const [i, outcome] of outcomes.entries()) {
      if (outcome.status === 'rejected') throw outcome.reason;
      tables[staged[i].snapshot.name] = outcome.value;
    }
  } finally {
    await store.deleteObjects((await store.list(stagingPrefix(runId))).map((o) => o.key)).catch(() => undefined);
  }
  return { runId, snapshotAt, tables, seconds: (performance.now() - started) / 1000 };
}
