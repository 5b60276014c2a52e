/**
 * `etl verify`: compares published days with the source as it is now, by content: every row's
 * values as the lake stores them, not counts. Per day, the published files are read one row group
 * at a time into (key, hash of the row's values) pairs (`row-hashes.ts`), sorted by key in bounded
 * memory (`external-sort.ts`: in memory up to 2,000,000 rows, in sorted runs on disk beyond), then
 * the source's rows of the day stream in key order from one REPEATABLE READ snapshot through the
 * pipeline's own cast (`castToLake`, so a value the lake stores as NULL compares as NULL) and are
 * merged against it: rows missing from the lake, extra in it, and changed. Nothing is written.
 * Memory: the sort's budget (a run of at most 2,000,000 pairs, about 70 MB while it is sorted),
 * plus one row group and one batch, whatever the day's size; a bigger day's runs take 16 bytes per
 * published row on the temporary disk (`os.tmpdir()`), removed when the day is compared.
 */
import type pg from 'pg';
import { dayWindow, type CalendarDay } from '../../core/day.js';
import { RENTALS, type FactTable } from '../../core/tables.js';
import { withoutRows } from '../../formats/arrow-rows.js';
import { readParquetRowGroups } from '../../formats/parquet-read.js';
import { newRunId } from '../../lake/layout.js';
import { readManifest, type PartitionManifest } from '../../lake/manifest.js';
import type { ObjectStore } from '../../lake/store.js';
import { classifyDbError } from '../../source/connect.js';
import { decodeCopyBinary } from '../../source/copy-binary.js';
import { copyOut } from '../../source/copy-out.js';
import { copySql, windowCondition } from '../../source/queries.js';
import { castToLake } from '../transform-write/cast.js';
import { LineageColumns } from '../transform-write/lineage.js';
import { RowHashSorter, type RowHashCursor, type SortBudget, type SortStats } from './external-sort.js';
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
  /** How many published rows' pairs a day's sort may hold (`external-sort.ts`); the default without. */
  readonly sortBudget?: SortBudget;
  /** Hears what each day's sort did (its runs, the most pairs it held at once). */
  readonly onSorted?: (stats: SortStats) => void;
}

/** The published rows' keys and hashes in (key, hash) order, through `sorter` (bounded memory). */
async function sortedLakeRows(request: VerifyRequest, table: FactTable, manifest: PartitionManifest, sorter: RowHashSorter): Promise<RowHashCursor> {
  const columns = table.columns.map((c) => c.name);
  for (const file of manifest.files) {
    for await (const rows of readParquetRowGroups(request.store, file.key, file.bytes, columns, CANONICAL_PARSERS)) {
      for (const row of rows) {
        const { key, hash } = parquetRowHash(table, row);
        sorter.add(key, hash);
      }
    }
  }
  return sorter.sorted();
}

/** Compares one published day with the source now (see the module comment). */
export async function verifyDay(request: VerifyRequest, day: CalendarDay, manifest: PartitionManifest): Promise<DayDifference> {
  const table = request.table ?? RENTALS;
  checkIntegerKey(table);
  const sorter = new RowHashSorter(request.sortBudget);
  try {
    return await compareDay(request, table, day, await sortedLakeRows(request, table, manifest, sorter), sorter.stats);
  } finally {
    sorter.close();
    request.onSorted?.(sorter.stats);
  }
}

/** Merges the source's rows of `day`, streamed in key order, against the published ones (`lake`). */
async function compareDay(request: VerifyRequest, table: FactTable, day: CalendarDay, lake: RowHashCursor, sorted: SortStats): Promise<DayDifference> {
  const lineage = new LineageColumns(newRunId(), 0n);
  const counts = { sourceRows: 0, missing: 0, extra: 0, changed: 0 };
  const { client } = request;
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    const copy = copyOut(client, copySql(table, [table.key], windowCondition(table, dayWindow(day, request.timeZone))));
    for await (const raw of decodeCopyBinary(copy, table, request.batchRows ?? 32_768)) {
      const { batch, excluded } = castToLake(table, raw, lineage);
      for (const part of withoutRows(
        batch,
        excluded.map((e) => e.row),
      )) {
        for (const { key, hash } of arrowRowHashes(table, part)) {
          counts.sourceRows++;
          // Published rows with a smaller key have no source row: extra.
          for (; !lake.done && lake.key < key; lake.next()) counts.extra++;
          if (!lake.done && lake.key === key) {
            if (lake.hash !== hash) counts.changed++;
            lake.next();
          } else counts.missing++;
        }
      }
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw classifyDbError(error, `verify ${day.iso}`);
  }
  for (; !lake.done; lake.next()) counts.extra++;
  const { sourceRows, missing, extra, changed } = counts;
  return { date: day.iso, sourceRows, lakeRows: sorted.rows, missing, extra, changed, equal: missing + extra + changed === 0 };
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
