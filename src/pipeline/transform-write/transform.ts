/**
 * Transform-and-write: reads a day's (or one hour range's) staged rows batch by batch, casts them
 * to the lake schema of their table's declaration (quarantining what cannot be cast), measures
 * their quality and writes them as Parquet files under run-unique names into the run's staging
 * (`_staging/<runId>/rentals/year=…/…`, outside the folders readers glob). Publishing them is the validate
 * stage's job, after the checks pass (`src/lake/publish.ts`).
 */
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { DataType, makeData, RecordBatch, Struct, Utf8, type Data, type Decimal, type Schema, type TimestampMicrosecond, type Vector } from 'apache-arrow';
import { dayWindow, windowHours, type CalendarDay } from '../../core/day.js';
import { StagingError } from '../../core/errors.js';
import { dataFileKey, quarantineKey, rangePart, stagedKey } from '../../lake/layout.js';
import { epochMs, publishedRows } from './published-rows.js';
import type { ObjectStore } from '../../lake/store.js';
import { stagedRecordBatches } from '../../formats/arrow-ipc.js';
import type { Logger } from '../../core/log.js';
import { PARQUET_CONTENT_TYPE, parquetBytes, parquetStream, type ParquetWriteOptions } from '../../formats/parquet.js';
import { columnsWithoutDictionary, lakeSchema, schemaFingerprint } from '../../core/schema.js';
import { RENTALS, type DecimalCast, type DecimalFault, type FactTable } from '../../core/tables.js';
import type { RangeMetrics, StagedTable, TransformOutput, WriteMode, WrittenFile } from '../contracts.js';
import type { ExtractResult } from '../extract/extract.js';

/** A NULL in a column the lake requires (the key, the partition column, ...): the row is left out. */
export const REQUIRED_VALUE_NULL = 'required_value_null';

/**
 * Why a raw value could not be cast (`<column>_<fault>`, `rent_cost_not_numeric` say), or why a
 * row was left out; stored with the raw row in quarantine.
 */
export type RejectReason = `${string}_${DecimalFault}` | typeof REQUIRED_VALUE_NULL;

export interface TransformRequest {
  readonly store: ObjectStore;
  readonly day: CalendarDay;
  readonly extract: Pick<ExtractResult, 'runId' | 'hours' | 'sourceCount' | 'snapshotAt' | 'staging'>;
  /** Zone of the partition days: a range that is not the whole day names its part in its keys. */
  readonly timeZone: string;
  readonly rowsPerFile: number;
  readonly rowGroupRows: number;
  readonly log?: Logger;
  /** The table the staged rows are of, with its snapshot tables: the declared `rentals` unless told. */
  readonly table?: FactTable;
  /** `append`: only rows whose key the published partition does not hold yet are written. */
  readonly mode?: WriteMode;
}

const TWO_POW_32 = 2 ** 32;
/** 10^n for every scale a decimal cast may declare. */
const POWERS_OF_TEN = Array.from({ length: 16 }, (_, n) => 10 ** n);

/**
 * Parses the UTF-8 bytes of a decimal into an integer count of `10^-scale` (cents, for scale 2),
 * or names why it cannot: an optional sign, at most `integerDigits` significant integer digits, an
 * optional point and at most `scale` decimals (trailing zeros aside), blanks around it ignored.
 * `12,50`, `N/A`, `error` and `''` are rejected rather than guessed at.
 */
export function parseDecimal(bytes: Uint8Array, start: number, end: number, scale: number, integerDigits: number): number | DecimalFault {
  while (start < end && (bytes[start] === 0x20 || bytes[start] === 0x09)) start++;
  while (end > start && (bytes[end - 1] === 0x20 || bytes[end - 1] === 0x09)) end--;
  if (start === end) return 'blank';
  let i = start;
  const negative = bytes[i] === 0x2d;
  if (negative || bytes[i] === 0x2b) i++;
  const digitsStart = i;
  let units = 0;
  let intDigits = 0;
  while (i < end && bytes[i] >= 0x30 && bytes[i] <= 0x39) {
    units = units * 10 + (bytes[i] - 0x30);
    intDigits++;
    i++;
  }
  let fraction = 0;
  let fracDigits = 0;
  if (i < end && bytes[i] === 0x2e) {
    i++;
    while (i < end && bytes[i] >= 0x30 && bytes[i] <= 0x39) {
      if (fracDigits < scale) fraction = fraction * 10 + (bytes[i] - 0x30);
      else if (bytes[i] !== 0x30) return 'too_precise';
      fracDigits++;
      i++;
    }
  }
  if (i !== end || intDigits + fracDigits === 0) return 'not_numeric';
  if (significantDigits(bytes, digitsStart, intDigits) > integerDigits) return 'out_of_range';
  if (fracDigits < scale) fraction *= POWERS_OF_TEN[scale - fracDigits];
  const value = units * POWERS_OF_TEN[scale] + fraction;
  return negative ? -value : value;
}

/** Integer digits without leading zeros (`0012.5` has 2). */
function significantDigits(bytes: Uint8Array, start: number, intDigits: number): number {
  let i = start;
  let digits = intDigits;
  while (digits > 0 && bytes[i] === 0x30) {
    digits--;
    i++;
  }
  return digits;
}

/** Writes `cents` as a little-endian two's-complement 128-bit integer at word `w`. */
function writeDecimal128(words: Uint32Array, w: number, cents: number): void {
  const magnitude = Math.abs(cents);
  const lo = magnitude % TWO_POW_32;
  const hi = Math.floor(magnitude / TWO_POW_32);
  if (cents >= 0) {
    words[w] = lo;
    words[w + 1] = hi;
    return;
  }
  words[w] = (TWO_POW_32 - lo) % TWO_POW_32;
  words[w + 1] = (~hi + (lo === 0 ? 1 : 0)) >>> 0;
  words[w + 2] = 0xffffffff;
  words[w + 3] = 0xffffffff;
}

/** Reads a column's validity bit by bit straight from its bitmap (no per-row method call). */
function validity(data: Data): (row: number) => boolean {
  const bitmap = data.nullBitmap;
  if (data.nullCount === 0 || !bitmap || bitmap.length === 0) return () => true;
  const offset = data.offset;
  return (row) => ((bitmap[(offset + row) >> 3] >> ((offset + row) & 7)) & 1) === 1;
}

/** The lineage columns of one run: built once for the largest batch, sliced for each batch. */
class LineageColumns {
  private runIds: Data<Utf8> | undefined;
  private extractedAt: Data | undefined;

  constructor(
    private readonly runId: string,
    private readonly extractedAtMicros: bigint,
  ) {}

  runIdColumn(length: number): Data<Utf8> {
    if (!this.runIds || this.runIds.length < length) {
      const bytes = Buffer.from(this.runId, 'utf8');
      const data = new Uint8Array(bytes.length * length);
      for (let i = 0; i < length; i++) data.set(bytes, i * bytes.length);
      const valueOffsets = new Int32Array(length + 1);
      for (let i = 0; i <= length; i++) valueOffsets[i] = i * bytes.length;
      this.runIds = makeData({ type: new Utf8(), length, nullCount: 0, data, valueOffsets });
    }
    return this.runIds.length === length ? this.runIds : this.runIds.slice(0, length);
  }

  extractedAtColumn(type: DataType, length: number): Data {
    if (!this.extractedAt || this.extractedAt.length < length) {
      this.extractedAt = makeData({ type: type as TimestampMicrosecond, length, nullCount: 0, data: new BigInt64Array(length).fill(this.extractedAtMicros) });
    }
    return this.extractedAt.length === length ? this.extractedAt : this.extractedAt.slice(0, length);
  }
}

/** Lineage columns of the runs in this process (a few at most: one per day in flight). */
const lineageByRun = new Map<string, LineageColumns>();

function lineageOf(runId: string, extractedAtMicros: bigint): LineageColumns {
  const key = `${runId}@${extractedAtMicros}`;
  let columns = lineageByRun.get(key);
  if (!columns) {
    if (lineageByRun.size >= 8) lineageByRun.delete(lineageByRun.keys().next().value!);
    columns = new LineageColumns(runId, extractedAtMicros);
    lineageByRun.set(key, columns);
  }
  return columns;
}

export interface CastRejection {
  readonly row: number;
  readonly reason: RejectReason;
  /** The column at fault. */
  readonly column: string;
}

/** The single data chunk of staged column `name`; a batch without it is no staged batch of `table`. */
function stagedColumn(table: FactTable, raw: RecordBatch, name: string): Data {
  const child = raw.getChild(name);
  if (child?.data.length !== 1) throw new StagingError(`staged ${table.name} batch lacks column ${name}`);
  return child.data[0];
}

/** Rows of `raw` with a NULL in a column the lake declares NOT NULL; the lake cannot hold them. */
function rowsMissingRequiredValues(table: FactTable, raw: RecordBatch): CastRejection[] {
  const out: CastRejection[] = [];
  let seen: Uint8Array | undefined;
  for (const column of table.columns) {
    if (column.nullable) continue;
    const data = stagedColumn(table, raw, column.name);
    if (data.nullCount === 0) continue;
    const valid = validity(data);
    seen ??= new Uint8Array(raw.numRows);
    for (let row = 0; row < raw.numRows; row++) {
      if (valid(row) || seen[row] === 1) continue;
      seen[row] = 1;
      out.push({ row, reason: REQUIRED_VALUE_NULL, column: column.name });
    }
  }
  return out.sort((a, b) => a.row - b.row);
}

/**
 * Casts a staged text column to its decimal: a value that does not read as one becomes NULL, and
 * its row (unless `isExcluded` leaves it out anyway) is added to `rejected` with the reason
 * `<column>_<fault>`.
 */
function castDecimalColumn(column: string, cast: DecimalCast, data: Data<Utf8>, type: DataType, isExcluded: Uint8Array, rejected: CastRejection[]): Data {
  const length = data.length;
  const scale = cast.scale;
  const integerDigits = cast.precision - scale;
  const reasons: Record<DecimalFault, RejectReason> = {
    blank: `${column}_blank`,
    not_numeric: `${column}_not_numeric`,
    out_of_range: `${column}_out_of_range`,
    too_precise: `${column}_too_precise`,
  };
  const offsets = data.valueOffsets;
  const values = data.values;
  const words = new Uint32Array(length * 4);
  const bitmap = new Uint8Array((length + 7) >> 3);
  let nullCount = 0;
  const valid = validity(data);
  for (let row = 0; row < length; row++) {
    if (!valid(row)) {
      nullCount++;
      continue;
    }
    const parsed = parseDecimal(values, offsets[row], offsets[row + 1], scale, integerDigits);
    if (typeof parsed === 'string') {
      if (isExcluded.length === 0 || isExcluded[row] === 0) rejected.push({ row, reason: reasons[parsed], column });
      nullCount++;
      continue;
    }
    bitmap[row >> 3] |= 1 << (row & 7);
    writeDecimal128(words, row * 4, parsed);
  }
  return makeData({ type: type as Decimal, length, nullCount, nullBitmap: nullCount > 0 ? bitmap : undefined, data: words });
}

/**
 * Casts one staged batch of `table` to its lake schema. Columns without a cast are reused as they
 * are; a value that cannot be cast becomes NULL and its row is reported for quarantine (`rejected`);
 * a row with a NULL in a required column is reported to be left out (`excluded`).
 */
export function castToLake(
  table: FactTable,
  raw: RecordBatch,
  lineage: { runId: string; extractedAtMicros: bigint },
): { batch: RecordBatch; rejected: CastRejection[]; excluded: CastRejection[] } {
  const schema = lakeSchema(table);
  const length = raw.numRows;
  const excluded = rowsMissingRequiredValues(table, raw);
  const isExcluded = new Uint8Array(excluded.length > 0 ? length : 0);
  for (const e of excluded) isExcluded[e.row] = 1;
  const rejected: CastRejection[] = [];
  const sourceChildren = table.columns.map((column, i): Data => {
    const data = stagedColumn(table, raw, column.name);
    return column.cast ? castDecimalColumn(column.name, column.cast, data as Data<Utf8>, schema.fields[i].type, isExcluded, rejected) : data;
  });
  const lineageColumns = lineageOf(lineage.runId, lineage.extractedAtMicros);
  const lineageChildren = table.lineage.map((column, i): Data => {
    switch (column.value) {
      case 'run_id':
        return lineageColumns.runIdColumn(length);
      case 'extracted_at':
        return lineageColumns.extractedAtColumn(schema.fields[table.columns.length + i].type, length);
      default:
        throw new StagingError(`lineage column ${column.name}: no value ${String(column.value)}`);
    }
  });
  const children = [...sourceChildren, ...lineageChildren];
  const batch = new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length, children }));
  return { batch, rejected, excluded };
}

/** The parts of `batch` between the excluded rows (all of it when none is excluded). */
export function withoutRows(batch: RecordBatch, excluded: readonly CastRejection[]): RecordBatch[] {
  if (excluded.length === 0) return [batch];
  const parts: RecordBatch[] = [];
  let start = 0;
  for (const { row } of excluded) {
    if (row > start) parts.push(batch.slice(start, row));
    start = row + 1;
  }
  if (start < batch.numRows) parts.push(batch.slice(start));
  return parts;
}

/** ISO 8601 with microseconds for a timestamp stored as microseconds since the epoch. */
export function isoMicros(micros: bigint): string {
  const ms = micros / 1000n;
  const rest = Number(((micros % 1000n) + 1000n) % 1000n);
  const base = new Date(Number(ms - (micros < 0n && rest !== 0 ? 1n : 0n))).toISOString();
  return `${base.slice(0, 23)}${String(rest).padStart(3, '0')}Z`;
}

/**
 * Reads the raw source rows of one staged batch as JSON-safe values (ids as strings, timestamps as
 * ISO); the columns are looked up once per batch, not once per row.
 */
function rawRowReader(table: FactTable, raw: RecordBatch): (row: number) => Record<string, string | null> {
  const readers = table.columns.map((column): [string, (row: number) => string | null] => {
    const vector = raw.getChild(column.name) as Vector;
    const valid = validity(vector.data[0]);
    if (column.kind === 'timestamptz') {
      const values = vector.data[0].values as BigInt64Array;
      return [column.name, (row) => (valid(row) ? isoMicros(values[row]) : null)];
    }
    return [column.name, (row) => (valid(row) ? String(vector.get(row)) : null)];
  });
  return (row) => {
    const out: Record<string, string | null> = {};
    for (const [name, read] of readers) out[name] = read(row);
    return out;
  };
}

/** Rows whose `end` is before their `start`, both set. */
function countEndsBeforeStarts(start: Data, end: Data): number {
  const starts = start.values as BigInt64Array;
  const ends = end.values as BigInt64Array;
  const startValid = validity(start);
  const endValid = validity(end);
  let n = 0;
  for (let i = 0; i < end.length; i++) if (endValid(i) && ends[i] < starts[i] && startValid(i)) n++;
  return n;
}

/** Values below zero of an integer or decimal column. */
function countNegatives(data: Data): number {
  const valid = validity(data);
  let n = 0;
  if (DataType.isDecimal(data.type)) {
    // Two's complement, least significant word first: the sign is the top bit of a value's last word.
    const words = data.values as Uint32Array;
    const stride = data.type.bitWidth / 32;
    for (let i = 0, top = stride - 1; i < data.length; i++, top += stride) if (valid(i) && words[top] >= 0x8000_0000) n++;
    return n;
  }
  const values = data.values as BigInt64Array | Int32Array;
  for (let i = 0; i < data.length; i++) if (valid(i) && values[i] < 0) n++;
  return n;
}

/** Collects the day's quality measures batch by batch, as `table` declares them. */
class MetricsCollector {
  private rows = 0;
  private readonly nullCounts: Record<string, number>;
  private negativeDurations = 0;
  private negativeCosts = 0;
  private quarantined = 0;
  private excluded = 0;
  private readonly rejectReasons: Record<string, number> = {};
  private alreadyPublished = 0;
  private changedSincePublish = 0;
  /** Keys found more than once in the published partition an append builds on. */
  publishedDuplicateIds = 0;

  constructor(private readonly table: FactTable) {
    this.nullCounts = Object.fromEntries(lakeSchema(table).fields.map((f) => [f.name, 0]));
  }

  /** Counts the rejections of one staged batch. */
  addRejections(rejected: readonly CastRejection[], excluded: readonly CastRejection[]): void {
    this.quarantined += rejected.length + excluded.length;
    this.excluded += excluded.length;
    for (const r of [...rejected, ...excluded]) this.rejectReasons[r.reason] = (this.rejectReasons[r.reason] ?? 0) + 1;
  }

  /** Measures rows written to the lake. */
  addRows(batch: RecordBatch): void {
    for (const field of batch.schema.fields) this.nullCounts[field.name] += batch.getChild(field.name)!.nullCount;
    const { negativeInterval, negativeValue } = this.table.measures;
    if (negativeInterval) {
      this.negativeDurations += countEndsBeforeStarts(batch.getChild(negativeInterval.start)!.data[0], batch.getChild(negativeInterval.end)!.data[0]);
    }
    if (negativeValue) this.negativeCosts += countNegatives(batch.getChild(negativeValue.column)!.data[0]);
    this.rows += batch.numRows;
  }

  /** Rows left out of an append: already published (`changed`: of those, updated in the source since). */
  addAlreadyPublished(rows: number, changed: number): void {
    this.alreadyPublished += rows;
    this.changedSincePublish += changed;
  }

  finish(): RangeMetrics {
    return {
      alreadyPublished: this.alreadyPublished,
      changedSincePublish: this.changedSincePublish,
      publishedDuplicateIds: this.publishedDuplicateIds,
      rows: this.rows,
      nullCounts: this.nullCounts,
      negativeDurations: this.negativeDurations,
      negativeCosts: this.negativeCosts,
      quarantined: this.quarantined,
      excluded: this.excluded,
      rejectReasons: this.rejectReasons,
    };
  }
}

/** Hands out batches of at most `limit` rows, slicing a larger batch and keeping the rest. */
class BatchCursor {
  private leftover: RecordBatch | undefined;
  private done = false;

  constructor(private readonly source: AsyncIterator<RecordBatch>) {}

  async hasMore(): Promise<boolean> {
    if (this.leftover) return true;
    if (this.done) return false;
    const next = await this.source.next();
    if (next.done) {
      this.done = true;
      return false;
    }
    this.leftover = next.value;
    return true;
  }

  async take(limit: number): Promise<RecordBatch | undefined> {
    if (!(await this.hasMore())) return undefined;
    const batch = this.leftover!;
    if (batch.numRows <= limit) {
      this.leftover = undefined;
      return batch;
    }
    this.leftover = batch.slice(limit);
    return batch.slice(0, limit);
  }
}

/** Staged batches of `table`, read as a stream from the lake. */
async function* stagedBatches(store: ObjectStore, staged: StagedTable): AsyncGenerator<RecordBatch> {
  yield* stagedRecordBatches(await store.readStream(staged.key), staged.key);
}

/**
 * Writes one table's batches as Parquet files of at most `rowsPerFile` rows each, appending each
 * finished file to `files` (so a caller that fails half-way knows what to remove).
 */
async function writeFiles(
  store: ObjectStore,
  batches: AsyncIterable<RecordBatch>,
  keyOf: (index: number) => string,
  options: ParquetWriteOptions & { rowsPerFile: number; emptySchema: Schema },
  files: WrittenFile[] = [],
): Promise<WrittenFile[]> {
  const cursor = new BatchCursor(batches[Symbol.asyncIterator]());
  while (await cursor.hasMore()) {
    let rows = 0;
    async function* fileBatches(): AsyncGenerator<RecordBatch> {
      while (rows < options.rowsPerFile) {
        const batch = await cursor.take(options.rowsPerFile - rows);
        if (!batch) return;
        rows += batch.numRows;
        yield batch;
      }
    }
    const key = keyOf(files.length);
    const { bytes } = await store.upload(key, await parquetStream(fileBatches(), options), PARQUET_CONTENT_TYPE);
    files.push({ key, rows, bytes });
  }
  if (files.length === 0) {
    // An empty day is still a partition: one file with the schema and no rows.
    const key = keyOf(0);
    const body = parquetBytes(options.emptySchema, [], options);
    await store.putObject(key, body, { contentType: PARQUET_CONTENT_TYPE });
    files.push({ key, rows: 0, bytes: body.byteLength });
  }
  return files;
}

/** Streams quarantine lines into one JSON-lines object, opened on the first rejected row. */
class QuarantineWriter {
  private stream: PassThrough | undefined;
  private upload: Promise<{ bytes: number }> | undefined;

  constructor(
    private readonly store: ObjectStore,
    readonly key: string,
  ) {}

  /** Queues JSON lines; resolves at once unless the upload is behind (then when it catches up). */
  async write(lines: string): Promise<void> {
    if (!this.stream) {
      this.stream = new PassThrough();
      // The upload reports failures; the stream's own error event would otherwise be unhandled.
      this.stream.on('error', () => undefined);
      this.upload = this.store.upload(this.key, this.stream, 'application/x-ndjson');
      // Surface an upload failure at close(), not as an unhandled rejection.
      this.upload.catch(() => undefined);
    }
    if (!this.stream.write(lines)) await once(this.stream, 'drain');
  }

  async close(): Promise<string | undefined> {
    if (!this.stream) return undefined;
    this.stream.end();
    await this.upload;
    return this.key;
  }

  abort(): void {
    this.stream?.destroy();
  }
}

/** Casts, measures and writes one staged day; see the module comment. */
export async function transformDay(request: TransformRequest): Promise<TransformOutput> {
  const started = performance.now();
  const { store, day, extract } = request;
  const table = request.table ?? RENTALS;
  const schema = lakeSchema(table);
  const runId = extract.runId;
  const part = rangePart(extract.hours, windowHours(dayWindow(day, request.timeZone)));
  const extractedAtMicros = BigInt(Date.parse(extract.snapshotAt)) * 1000n;
  const fingerprint = schemaFingerprint(schema);
  const metadata = { 'etl.run_id': runId, 'etl.schema_fingerprint': fingerprint, 'etl.date': day.iso };
  const metrics = new MetricsCollector(table);
  const quarantine = new QuarantineWriter(store, quarantineKey(day, runId, part));

  // An append writes only the rows the published partition does not hold.
  const published = request.mode === 'append' ? await publishedRows(store, day, table) : undefined;
  if (published) metrics.publishedDuplicateIds = published.duplicates;

  /** The staged batch less the rows already published (counted, with those changed since). */
  function newRows(raw: RecordBatch): RecordBatch[] {
    if (!published || published.readAt.size === 0) return [raw];
    const keys = raw.getChild(table.key)!;
    const changedAt = table.changedAt ? raw.getChild(table.changedAt) : null;
    const old: CastRejection[] = [];
    let changed = 0;
    for (let row = 0; row < raw.numRows; row++) {
      const readAt = published.readAt.get(BigInt(keys.get(row) as bigint));
      if (readAt === undefined) continue;
      old.push({ row, reason: REQUIRED_VALUE_NULL, column: table.key });
      if (changedAt && epochMs(changedAt.get(row)) > readAt) changed += 1;
    }
    metrics.addAlreadyPublished(old.length, changed);
    return old.length === 0 ? [raw] : withoutRows(raw, old);
  }

  async function* lakeBatches(): AsyncGenerator<RecordBatch> {
    for await (const staged of stagedBatches(store, extract.staging.rentals)) for (const raw of newRows(staged)) yield* castBatch(raw);
  }

  /** Casts one batch, quarantining what cannot be cast; yields the rows for the lake. */
  async function* castBatch(raw: RecordBatch): AsyncGenerator<RecordBatch> {
    const { batch, rejected, excluded } = castToLake(table, raw, { runId, extractedAtMicros });
    if (rejected.length + excluded.length > 0) {
      const rowOf = rawRowReader(table, raw);
      let lines = '';
      for (const r of [...rejected, ...excluded]) {
        lines += `${JSON.stringify({ reason: r.reason, column: r.column, run_id: runId, date: day.iso, row: rowOf(r.row) })}\n`;
      }
      await quarantine.write(lines);
    }
    metrics.addRejections(rejected, excluded);
    for (const part of withoutRows(batch, excluded)) {
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
      { rowsPerFile: request.rowsPerFile, rowGroupRows: request.rowGroupRows, metadata, emptySchema: schema, plainColumns: columnsWithoutDictionary(table) },
      files,
    );
    quarantinedKey = await quarantine.close();
  } catch (error) {
    // The run will not publish these: leave no staged leftovers.
    quarantine.abort();
    await store.deleteObjects([...files.map((f) => f.key), quarantine.key]).catch(() => undefined);
    throw error;
  }

  const result: TransformOutput = {
    runId,
    hours: extract.hours,
    sourceCount: extract.sourceCount,
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
