/**
 * Transform-and-write: reads a day's (or one hour range's) staged rows batch by batch, casts them
 * to the lake schema of their table's declaration (`cast.ts`, quarantining what cannot be cast:
 * `quarantine.ts`), measures their quality (`metrics.ts`) and writes them as Parquet files
 * (`data-files.ts`) under run-unique names into the run's staging (`_staging/<runId>/rentals/year=…/…`,
 * outside the folders readers glob). An append first leaves out the rows already published
 * (`append-filter.ts`). Publishing the files is the validate stage's job, after the checks pass
 * (`src/lake/publish.ts`).
 */
import type { RecordBatch } from 'apache-arrow';
import { dayWindow, windowHours, type CalendarDay } from '../../core/day.js';
import type { Logger } from '../../core/log.js';
import { columnsWithoutDictionary, lakeSchema, schemaFingerprint } from '../../core/schema.js';
import { RENTALS, type FactTable } from '../../core/tables.js';
import { withoutRows } from '../../formats/arrow-rows.js';
import { stagedRecordBatches } from '../../formats/arrow-ipc.js';
import type { ParquetEncoder } from '../../formats/parquet.js';
import { dataFileKey, quarantineKey, rangePart, stagedKey } from '../../lake/layout.js';
import type { ObjectStore } from '../../lake/store.js';
import type { StagedTable, TransformOutput, WriteMode, WrittenFile } from '../contracts.js';
import type { ExtractResult } from '../extract/extract.js';
import { newRows } from './append-filter.js';
import { castToLake, type CastRejection } from './cast.js';
import { writeFiles } from './data-files.js';
import { LineageColumns } from './lineage.js';
import { MetricsCollector } from './metrics.js';
import { PublishedRows } from './published-rows.js';
import { QuarantineWriter, quarantineLines } from './quarantine.js';

/**
 * What transform-write passes on from extract's output untouched, the range's counts: the stage
 * adds them to what the transform wrote (`withCounts`, transform-write/index.ts). A local run's
 * transform starts before extract has counted its range (`overlap.ts`).
 */
export type ExtractCounts = 'sourceCount' | 'sourceDigest' | 'digestRows' | 'previousDayCount';

/** What the transform of a range wrote: transform-write's output but extract's counts. */
export type TransformWritten = Omit<TransformOutput, ExtractCounts>;

export interface TransformRequest {
  readonly store: ObjectStore;
  readonly day: CalendarDay;
  readonly extract: Pick<ExtractResult, 'runId' | 'hours' | 'undeclaredColumns' | 'snapshotAt' | 'staging'>;
  /** Zone of the partition days: a range that is not the whole day names its part in its keys. */
  readonly timeZone: string;
  readonly rowsPerFile: number;
  readonly rowGroupRows: number;
  readonly log?: Logger;
  /** The table the staged rows are of, with its snapshot tables: the declared `rentals` unless told. */
  readonly table?: FactTable;
  /** `append`: only rows whose key the published partition does not hold yet are written. */
  readonly mode?: WriteMode;
  /**
   * On a day still in progress at the snapshot, a rental with no end that started less than this
   * long (ms) before the snapshot is open, not an anomaly (`OPEN_RENTAL_MAX_MINUTES`); undefined: none is.
   */
  readonly openRentalMaxMs?: number;
  /**
   * The staged batches as extract produces them, when both run in one process (`overlap.ts`);
   * default: read back from the staging object.
   */
  readonly batches?: AsyncIterable<RecordBatch>;
  /** How the Parquet bytes are made: on this thread unless told (a local run encodes on a worker thread, `overlap.ts`). */
  readonly encode?: ParquetEncoder;
}

/**
 * The earliest start (microseconds) of a rental counted as open: on a day whose window ends after
 * the snapshot, `maxMs` before the snapshot; undefined for a day already over.
 */
export function openRentalsSince(day: CalendarDay, timeZone: string, snapshotAt: string, maxMs: number | undefined): bigint | undefined {
  const snapshotMs = Date.parse(snapshotAt);
  if (maxMs === undefined || dayWindow(day, timeZone).end.getTime() <= snapshotMs) return undefined;
  return BigInt(snapshotMs - maxMs) * 1000n;
}

/** Staged batches of `table`, read as a stream from the lake. */
async function* stagedBatches(store: ObjectStore, staged: StagedTable): AsyncGenerator<RecordBatch> {
  yield* stagedRecordBatches(await store.readStream(staged.key), staged.key);
}

/** The row numbers of `excluded`, in its (ascending) order. */
function excludedRows(excluded: readonly CastRejection[]): number[] {
  return excluded.map((e) => e.row);
}

/** Casts, measures and writes one staged day; see the module comment. */
export async function transformDay(request: TransformRequest): Promise<TransformWritten> {
  const started = performance.now();
  const { store, day, extract } = request;
  const table = request.table ?? RENTALS;
  const schema = lakeSchema(table);
  const runId = extract.runId;
  const part = rangePart(extract.hours, windowHours(dayWindow(day, request.timeZone)));
  const lineage = new LineageColumns(runId, BigInt(Date.parse(extract.snapshotAt)) * 1000n);
  const fingerprint = schemaFingerprint(schema);
  const metadata = { 'etl.run_id': runId, 'etl.schema_fingerprint': fingerprint, 'etl.date': day.iso };
  const metrics = new MetricsCollector(table, openRentalsSince(day, request.timeZone, extract.snapshotAt, request.openRentalMaxMs));
  const quarantine = new QuarantineWriter(store, quarantineKey(day, runId, part));

  // An append writes only the rows the published partition does not hold.
  const published = request.mode === 'append' ? await PublishedRows.of(store, day, table) : undefined;

  /** The staged batch less the rows already published (counted, with those changed since). */
  async function unpublished(raw: RecordBatch): Promise<RecordBatch[]> {
    if (!published) return [raw];
    const { batches, alreadyPublished, changedSincePublish } = await newRows(raw, table, published);
    metrics.addAlreadyPublished(alreadyPublished, changedSincePublish);
    return batches;
  }

  async function* lakeBatches(): AsyncGenerator<RecordBatch> {
    for await (const staged of request.batches ?? stagedBatches(store, extract.staging.rentals))
      for (const raw of await unpublished(staged)) yield* castBatch(raw);
    // Keys the published partition holds more than once (read only where files' key ranges overlap).
    if (published) metrics.publishedDuplicateIds = await published.duplicateKeys();
  }

  /** Casts one batch, quarantining what cannot be cast; yields the rows for the lake. */
  async function* castBatch(raw: RecordBatch): AsyncGenerator<RecordBatch> {
    const { batch, rejected, excluded } = castToLake(table, raw, lineage);
    if (rejected.length + excluded.length > 0) await quarantine.write(quarantineLines(table, raw, [...rejected, ...excluded], runId, day.iso));
    metrics.addRejections(rejected, excluded);
    for (const part of withoutRows(batch, excludedRows(excluded))) {
      metrics.addRows(part);
      yield part;
    }
  }

  const files: WrittenFile[] = [];
  let quarantinedKey: string | undefined;
  try {
    await writeFiles(
      store,
      lakeBatches(),
      (i) => stagedKey(runId, dataFileKey(day, runId, i, part)),
      {
        rowsPerFile: request.rowsPerFile,
        rowGroupRows: request.rowGroupRows,
        metadata,
        emptySchema: schema,
        plainColumns: columnsWithoutDictionary(table),
        encode: request.encode,
      },
      files,
    );
    quarantinedKey = await quarantine.close();
  } catch (error) {
    // The run will not publish these: leave no staged leftovers.
    quarantine.abort();
    await store.deleteObjects([...files.map((f) => f.key), quarantine.key]).catch(() => undefined);
    throw error;
  }

  const result: TransformWritten = {
    runId,
    hours: extract.hours,
    ...(extract.undeclaredColumns ? { undeclaredColumns: extract.undeclaredColumns } : {}),
    snapshotAt: extract.snapshotAt,
    files,
    quarantineKey: quarantinedKey,
    metrics: metrics.finish(),
    schemaFingerprint: fingerprint,
    seconds: (performance.now() - started) / 1000,
  };
  request.log?.info('written', {
    rows: result.metrics.rows,
    files: files.length,
    bytes: files.reduce((s, f) => s + f.bytes, 0),
    quarantined: result.metrics.quarantined,
    seconds: Math.round(result.seconds * 1000) / 1000,
  });
  return result;
}
