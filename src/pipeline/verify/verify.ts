/**
 * `etl verify`: compares published days with the source as it is now, by content: every row's
 * values as the lake stores them, not counts. Per day, the published files are read one row group
 * at a time into a key-sorted array of (key, hash of the row's values) (`row-hashes.ts`), then the
 * source's rows of the day stream in key order from one REPEATABLE READ snapshot through the
 * pipeline's own cast (`castToLake`, so a value the lake stores as NULL compares as NULL) and are
 * merged against it: rows missing from the lake, extra in it, and changed. Nothing is written.
 * Memory: 16 bytes per published row of the day being compared, plus one row group and one batch.
 */
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { dayWindow, type CalendarDay } from '../../core/day.js';
import { RENTALS, type FactTable } from '../../core/tables.js';
import { withoutRows } from '../../formats/arrow-rows.js';
import { readParquetRowGroups } from '../../formats/parquet-read.js';
import { newRunId } from '../../lake/layout.js';
import { readManifest, type PartitionManifest } from '../../lake/manifest.js';
import type { ObjectStore } from '../../lake/store.js';
import { classifyDbError } from '../../source/connect.js';
import { decodeCopyBinary } from '../../source/copy-binary.js';
import { copySql, windowCondition } from '../../source/queries.js';
import { castToLake } from '../transform-write/cast.js';
import { LineageColumns } from '../transform-write/lineage.js';
import { arrowRowHashes, CANONICAL_PARSERS, checkIntegerKey, parquetRowHash } from './row-hashes.js';

/** How a published day compares with the source now. */
export interface DayDifference {
  readonly date: string;
  /** Source rows of the day the lake would hold (rows left out for a required NULL are not counted). */
  readonly sourceRows: number;
  readonly lakeRows: number;
  /** Source rows whose key the partition lacks. */
  readonly missing: number;
  /** Partition rows whose key the source's day lacks. */
  readonly extra: number;
  /** Rows under the same key with different values. */
  readonly changed: number;
  readonly equal: boolean;
}

export interface VerifyRequest {
  readonly store: ObjectStore;
  readonly client: pg.Client;
  readonly timeZone: string;
  readonly batchRows?: number;
  readonly table?: FactTable;
}

/** The published rows' keys and hashes, sorted by key (then hash). */
async function lakeRows(request: VerifyRequest, table: FactTable, manifest: PartitionManifest): Promise<{ keys: BigInt64Array; hashes: BigInt64Array }> {
  let keys: BigInt64Array = new BigInt64Array(Math.max(manifest.rows, 1));
  let hashes: BigInt64Array = new BigInt64Array(keys.length);
  let n = 0;
  const columns = table.columns.map((c) => c.name);
  for (const file of manifest.files) {
    for await (const rows of readParquetRowGroups(request.store, file.key, file.bytes, columns, CANONICAL_PARSERS)) {
      for (const row of rows) {
        if (n === keys.length) [keys, hashes] = [grow(keys), grow(hashes)];
        const { key, hash } = parquetRowHash(table, row);
        keys[n] = key;
        hashes[n++] = hash;
      }
    }
  }
  const order = Uint32Array.from({ length: n }, (_, i) => i).sort((a, b) => (keys[a] < keys[b] ? -1 : keys[a] > keys[b] ? 1 : hashes[a] < hashes[b] ? -1 : 1));
  return { keys: BigInt64Array.from(order, (i) => keys[i]), hashes: BigInt64Array.from(order, (i) => hashes[i]) };
}

function grow(array: BigInt64Array): BigInt64Array {
  const larger = new BigInt64Array(array.length * 2);
  larger.set(array);
  return larger;
}

/** Compares one published day with the source now (see the module comment). */
export async function verifyDay(request: VerifyRequest, day: CalendarDay, manifest: PartitionManifest): Promise<DayDifference> {
  const table = request.table ?? RENTALS;
  checkIntegerKey(table);
  const lake = await lakeRows(request, table, manifest);
  const lineage = new LineageColumns(newRunId(), 0n);
  const counts = { sourceRows: 0, missing: 0, extra: 0, changed: 0 };
  let at = 0; // the next published row not yet matched
  const { client } = request;
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    const copy = client.query(copyTo(copySql(table, [table.key], windowCondition(table, dayWindow(day, request.timeZone)))));
    for await (const raw of decodeCopyBinary(copy, table, request.batchRows ?? 32_768)) {
      const { batch, excluded } = castToLake(table, raw, lineage);
      for (const part of withoutRows(
        batch,
        excluded.map((e) => e.row),
      )) {
        for (const { key, hash } of arrowRowHashes(table, part)) {
          counts.sourceRows++;
          // Published rows with a smaller key have no source row: extra.
          while (at < lake.keys.length && lake.keys[at] < key) {
            counts.extra++;
            at++;
          }
          if (at < lake.keys.length && lake.keys[at] === key) {
            if (lake.hashes[at] !== hash) counts.changed++;
            at++;
          } else counts.missing++;
        }
      }
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw classifyDbError(error, `verify ${day.iso}`);
  }
  counts.extra += lake.keys.length - at;
  const { sourceRows, missing, extra, changed } = counts;
  return { date: day.iso, sourceRows, lakeRows: lake.keys.length, missing, extra, changed, equal: missing + extra + changed === 0 };
}

/** What verify found for each day asked: its difference, or that it is not published (nothing compared). */
export type VerifyResult = DayDifference | { readonly date: string; readonly published: false };

/** Compares every published day of `days` with the source now, one after another; `onDay` hears each. */
export async function verifyDays(request: VerifyRequest, days: readonly CalendarDay[], onDay?: (result: VerifyResult) => void): Promise<VerifyResult[]> {
  const results: VerifyResult[] = [];
  for (const day of days) {
    const published = await readManifest(request.store, day);
    const result = published ? await verifyDay(request, day, published.manifest) : { date: day.iso, published: false as const };
    onDay?.(result);
    results.push(result);
  }
  return results;
}
