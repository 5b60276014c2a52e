/**
 * Extract: one day of rentals, or one hour range of a day too big for one invocation, read from
 * one consistent snapshot of the
 * source and streamed into staging objects in the lake, raw values preserved.
 */
import type pg from 'pg';
import type { RecordBatch } from 'apache-arrow';
import { classifyDbError } from '../../source/connect.js';
import { decodeCopyBinary } from '../../source/copy-binary.js';
import { copyOut } from '../../source/copy-out.js';
import { addDays, dayWindow, hourWindow, windowHours, type CalendarDay, type HourRange } from '../../core/day.js';
import { InputError, StagingError } from '../../core/errors.js';
import { rangePart, stagingKey } from '../../lake/layout.js';
import { arrowIpcStream, encodeStaged, STAGED_CONTENT_TYPE, stagingEncodingFor } from '../../formats/arrow-ipc.js';
import type { ObjectStore } from '../../lake/store.js';
import type { Logger } from '../../core/log.js';
import { stagingSchema } from '../../core/schema.js';
import { RENTALS, type FactTable, type SourceTable } from '../../core/tables.js';
import { copyRangeSql, copySql, countInSnapshotSql, countRowsQuery } from '../../source/queries.js';
import { checkSourceColumns, describeUndeclared } from '../../source/source-columns.js';
import type { ExtractOutput, StagedTable, WriteMode } from '../contracts.js';
import { appendBound, appendCountSql, appendWindowCondition, type AppendBound } from './append-bound.js';

/** How often a long extract logs its progress. */
const PROGRESS_INTERVAL_MS = 2_000;

export interface ExtractRequest {
  /** A connection of its own: after a failed extract it must be closed, not reused. */
  readonly client: pg.Client;
  readonly store: ObjectStore;
  readonly day: CalendarDay;
  readonly timeZone: string;
  readonly runId: string;
  /** The hours of the day to extract (from the day plan); the whole day when absent. */
  readonly hours?: HourRange;
  readonly batchRows: number;
  readonly log?: Logger;
  /** Told the running row count of the day's rentals after every batch. */
  readonly onProgress?: (rows: number) => void;
  /** The table to extract: the declared `rentals` unless told. */
  readonly table?: FactTable;
  /** `append`: only the rows the published partition may lack are read (`append-bound.ts`). */
  readonly mode?: WriteMode;
  /**
   * Asked before the range's rows are read: where to hand each batch besides the staging object (a
   * local run's transform-write, `transform-write/overlap.ts`), or undefined.
   */
  readonly teeTo?: (started: ExtractStarted) => BatchSink | undefined;
}

/**
 * What extract knows of its range before it reads the rows: its result but the staged object and
 * the counts (taken after the rows, in the same snapshot).
 */
export type ExtractStarted = Pick<ExtractResult, 'runId' | 'date' | 'hours' | 'snapshotAt' | 'undeclaredColumns' | 'appendBound'> & {
  readonly stagingKey: string;
};

/** Takes the batches extract stages, as it stages them; `write` waits while the taker is behind. */
export interface BatchSink {
  write(batch: RecordBatch): Promise<void>;
  /** Every batch was written. */
  end(): void;
  /** Extract failed: no more batches come, and those written stand for nothing. */
  fail(error: unknown): void;
}

/** What extract hands to the next stage (the stage adds the run's mode and owner): small enough for any Step Functions payload. */
export type ExtractResult = Omit<ExtractOutput, 'mode' | 'owner'>;

export { checkSourceColumns } from '../../source/source-columns.js';

/** Streams the rows `sql` (a `COPY ... TO STDOUT (FORMAT binary)` of `table`) sends into a staging object. */
async function stageTable(
  request: ExtractRequest,
  part: string | undefined,
  table: SourceTable,
  sql: string,
  onBatch?: (rows: number) => void,
  sink?: BatchSink,
  /** Told once the COPY's last row is read (the connection is free again), before the staged object is whole. */
  onRowsRead?: () => void,
): Promise<StagedTable> {
  const encoding = stagingEncodingFor(request.store.location);
  const key = stagingKey(request.runId, table.name, part, encoding);
  let rows = 0;
  const copy = copyOut(request.client, sql);
  async function* counted(): AsyncGenerator<RecordBatch> {
    for await (const batch of decodeCopyBinary(copy, table, request.batchRows)) {
      rows += batch.numRows;
      onBatch?.(rows);
      if (sink && batch.numRows > 0) await sink.write(batch);
      yield batch;
    }
    onRowsRead?.();
    sink?.end();
  }
  try {
    const { bytes } = await request.store.upload(key, encodeStaged(arrowIpcStream(stagingSchema(table), counted()), encoding), STAGED_CONTENT_TYPE[encoding]);
    return { key, rows, bytes };
  } catch (error) {
    copy.destroy();
    throw error instanceof StagingError ? error : classifyDbError(error, `COPY ${table.name}`);
  }
}

/**
 * Reads the range's rows of the table in one REPEATABLE READ READ ONLY transaction (one snapshot, so the count and the rows agree) and stages
 * them as Arrow IPC streams.
 */
export async function extractDay(request: ExtractRequest): Promise<ExtractResult> {
  const started = performance.now();
  const { client, day, timeZone } = request;
  const table = request.table ?? RENTALS;
  const wholeDay = dayWindow(day, timeZone);
  const dayHours = windowHours(wholeDay);
  const hours = request.hours ?? { from: 0, to: dayHours };
  if (hours.to > dayHours) {
    throw new InputError('hours', `whole hours within the ${dayHours} hours of ${day.iso} in ${timeZone}`, JSON.stringify(hours));
  }
  const part = rangePart(hours, dayHours);
  const window = hourWindow(wholeDay, hours);
  // An append reads only what it may add: keys above the published ones, rows changed since.
  const bound: AppendBound | undefined = request.mode === 'append' ? await appendBound(request.store, day, table) : undefined;
  const copyRowsSql = bound ? copySql(table, table.order, appendWindowCondition(table, window, bound)) : copyRangeSql(table, window);
  let copyInterrupted = false;
  let sink: BatchSink | undefined;

  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const undeclared = (await checkSourceColumns(client, [table])).map(describeUndeclared);
    if (undeclared.length > 0) request.log?.warn('source columns not in the declaration: not carried into the lake', { columns: undeclared });
    // The snapshot's time: now() is the transaction's start, the same in every statement of it.
    const snapshotAt = (await client.query<{ at: Date }>('SELECT now() AS at')).rows[0].at.toISOString();
    const appended = bound ? { appendBound: bound } : {};
    const range = { runId: request.runId, date: day.iso, hours, snapshotAt, ...(undeclared.length > 0 ? { undeclaredColumns: undeclared } : {}) };
    sink = request.teeTo?.({ ...range, ...appended, stagingKey: stagingKey(request.runId, table.name, part, stagingEncodingFor(request.store.location)) });
    let lastReport = started;
    // Counted after the rows are read, in the same snapshot (so the count and the rows agree): a
    // local run's transform encodes the last batches meanwhile, where Postgres counting first kept
    // it waiting (0.12 s of a 1,000,000-row day), and the counting starts as soon as the COPY's last
    // row is in, while the staged object is still being written (on S3, its last part and the
    // completion of its upload took 0.1 s). The change signal of the range: the count and digest of
    // all its rows (an append's too: the partition it publishes stands for the whole range).
    const countRange = async () => {
      const signal = await client.query<{ n: string; digest: string }>(countInSnapshotSql(table, window));
      // The rows the COPY sent: the range's, or what an append may add.
      const counted = bound ? await client.query<{ n: string }>(appendCountSql(table, window, bound)) : signal;
      // The day before, in the same snapshot: validate's day-over-day check compares with the source,
      // not with a manifest another run may be publishing meanwhile. Counted once a day, by its first range.
      const previousDay =
        hours.from === 0 ? Number((await client.query<{ n: string }>(countRowsQuery(table, dayWindow(addDays(day, -1), timeZone)))).rows[0].n) : undefined;
      return { signal, counted, previousDay };
    };
    let counting: ReturnType<typeof countRange> | undefined;
    copyInterrupted = true;
    const staged = await stageTable(
      request,
      part,
      table,
      copyRowsSql,
      (rows) => {
        request.onProgress?.(rows);
        const now = performance.now();
        if (now - lastReport >= PROGRESS_INTERVAL_MS) {
          lastReport = now;
          request.log?.info('extracting', { rows, rows_per_s: Math.round(rows / ((now - started) / 1000)) });
        }
      },
      sink,
      () => {
        counting = countRange();
        // Awaited below; a failed upload leaves it to fail with the connection, unawaited.
        counting.catch(() => undefined);
      },
    );
    copyInterrupted = false;
    const { signal, counted, previousDay: previousDayCount } = await (counting ?? countRange());
    const sourceCount = Number(counted.rows[0].n);
    const sourceDigest = signal.rows[0].digest;
    const digestRows = Number(signal.rows[0].n);
    const known = {
      ...range,
      sourceCount,
      sourceDigest,
      ...(bound ? { digestRows } : {}),
      ...(previousDayCount === undefined ? {} : { previousDayCount }),
    };
    await client.query('COMMIT');
    if (staged.rows !== sourceCount) {
      throw new StagingError(`extract staged ${staged.rows} ${table.name} but the snapshot counted ${sourceCount}`);
    }
    // The contract calls the partitioned table's staged rows `rentals`, whatever the table.
    const result: ExtractResult = { ...known, staging: { rentals: staged }, ...appended, seconds: (performance.now() - started) / 1000 };
    request.log?.info('extracted', {
      rows: sourceCount,
      hours: `${hours.from}-${hours.to}`,
      ...(bound ? { append_above_key: bound.aboveKey, append_changed_after: bound.changedAfter } : {}),
      staged_bytes: staged.bytes,
      seconds: round(result.seconds),
    });
    return result;
  } catch (error) {
    sink?.fail(error);
    // A COPY cut short leaves the connection mid-protocol: a ROLLBACK on it would wait forever.
    // The caller closes the connection (`withClient`), which ends the transaction as well.
    if (!copyInterrupted) await client.query('ROLLBACK').catch(() => undefined);
    // Tables staged before the failure would never be read: remove them (this range's only: the
    // other ranges of the day may be in flight).
    const keys = [table].map((t) => stagingKey(request.runId, t.name, part, stagingEncodingFor(request.store.location)));
    await request.store.deleteObjects(keys).catch(() => undefined);
    throw classifyDbError(error, `extract ${day.iso}`);
  }
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
