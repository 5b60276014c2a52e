/**
 * Compaction: a published partition's files rewritten into files of `ROWS_PER_FILE` rows, without
 * the source. The rows are streamed row group by row group from the published files, in the
 * manifest's order, into new files staged under the compaction's run
 * (`_staging/<runId>/rentals/…`); before the commit the new files are read back and must hold the
 * same number of rows with the same content digest (`content-digest.ts`) and the lake schema; then
 * the same publish as a run's (`DayPublication.publish`: promote, conditional manifest commit,
 * removal of the old files), recorded as a `compaction` (an Iceberg `replace`). The manifest keeps
 * its runs: what the partition stands for in the source does not change.
 *
 * Memory: one row group being read, one being written, whatever the partition's size.
 */
import { StagingError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';
import { columnsWithoutDictionary, lakeSchema } from '../../core/schema.js';
import { RENTALS, type FactTable } from '../../core/tables.js';
import { expectedParquetColumns, footerColumns, readFooter } from '../../formats/parquet-footer.js';
import { openRowGroups } from '../../formats/parquet-row-groups.js';
import type { DayPublication } from '../../lake/day-publication.js';
import { dataFileKey, publishedKeyOf, stagedKey } from '../../lake/layout.js';
import { readManifest, type PartitionManifest } from '../../lake/manifest.js';
import type { ObjectStore } from '../../lake/store.js';
import type { WrittenFile } from '../contracts.js';
import { writeFiles } from '../transform-write/data-files.js';
import { ContentDigest } from './content-digest.js';
import type { RecordBatch } from 'apache-arrow';

export interface CompactRequest {
  /** The compaction's publication of the day: its own run id, holding the day's lease. */
  readonly publication: Pick<DayPublication, 'store' | 'day' | 'runId' | 'confirm' | 'publish'>;
  readonly rowsPerFile: number;
  readonly rowGroupRows: number;
  readonly table?: FactTable;
  readonly log?: Logger;
}

/** What a compaction did: nothing (already as few files as the rows need), or the files it replaced. */
export interface CompactOutcome {
  readonly date: string;
  readonly runId: string;
  readonly compacted: boolean;
  readonly rows: number;
  readonly filesBefore: number;
  readonly filesAfter: number;
  readonly bytesBefore: number;
  readonly bytesAfter: number;
  /** The content digest both sets of files agreed on (absent when nothing was done). */
  readonly digest?: string;
  readonly publishWindowMs?: number;
  readonly seconds: number;
}

/** Whether `manifest`'s files are more than its rows need at `rowsPerFile` rows a file. */
export function needsCompaction(manifest: Pick<PartitionManifest, 'rows' | 'files'>, rowsPerFile: number): boolean {
  return manifest.files.length > Math.max(1, Math.ceil(manifest.rows / rowsPerFile));
}

/** The rows of `files`, in order, one row group at a time, each batch added to `digest`. */
async function* rowsOf(store: ObjectStore, files: readonly Pick<WrittenFile, 'key' | 'bytes'>[], digest: ContentDigest): AsyncGenerator<RecordBatch> {
  for (const file of files) {
    const reader = await openRowGroups(store, file.key, file.bytes);
    for await (const batch of reader.batches()) {
      digest.add(batch);
      yield batch;
    }
  }
}

/** Reads the staged files back: their rows and digest, and any whose columns are not the lake schema's. */
async function readBack(store: ObjectStore, table: FactTable, files: readonly WrittenFile[]): Promise<{ digest: ContentDigest; mismatches: string[] }> {
  const expected = expectedParquetColumns(lakeSchema(table)).join('\n');
  const mismatches: string[] = [];
  for (const file of files) {
    if (footerColumns(await readFooter(store, file.key, file.bytes)).join('\n') !== expected) mismatches.push(file.key);
  }
  const digest = new ContentDigest();
  for await (const batch of rowsOf(store, files, digest)) void batch;
  return { digest, mismatches };
}

/**
 * Compacts the published partition of the publication's day (see the module comment), or does
 * nothing when its files are already as few as its rows need. Throws `StagingError`, before
 * anything is published, when the new files do not hold exactly the old rows.
 */
export async function compactPartition(request: CompactRequest): Promise<CompactOutcome> {
  const started = performance.now();
  const { publication, rowsPerFile } = request;
  const { store, day, runId } = publication;
  const table = request.table ?? RENTALS;
  const current = await readManifest(store, day);
  const before = current?.manifest.files ?? [];
  const bytesBefore = before.reduce((s, f) => s + f.bytes, 0);
  const nothing = (rows: number): CompactOutcome => ({
    date: day.iso,
    runId,
    compacted: false,
    rows,
    filesBefore: before.length,
    filesAfter: before.length,
    bytesBefore,
    bytesAfter: bytesBefore,
    seconds: (performance.now() - started) / 1000,
  });
  if (!current || !needsCompaction(current.manifest, rowsPerFile)) return nothing(current?.manifest.rows ?? 0);
  const { manifest } = current;

  const schema = lakeSchema(table);
  const read = new ContentDigest();
  const files: WrittenFile[] = [];
  try {
    await writeFiles(
      store,
      rowsOf(store, manifest.files, read),
      (i) => stagedKey(runId, dataFileKey(day, runId, i)),
      {
        rowsPerFile,
        rowGroupRows: request.rowGroupRows,
        metadata: { 'etl.run_id': runId, 'etl.schema_fingerprint': manifest.schemaFingerprint, 'etl.date': day.iso },
        emptySchema: schema,
        plainColumns: columnsWithoutDictionary(table),
      },
      files,
    );
    const written = await readBack(store, table, files);
    const rowsWritten = files.reduce((n, f) => n + f.rows, 0);
    const problems = [
      ...(read.rows !== manifest.rows ? [`read ${read.rows} rows of a partition of ${manifest.rows}`] : []),
      ...(written.digest.rows !== read.rows || rowsWritten !== read.rows ? [`wrote ${written.digest.rows} rows of ${read.rows}`] : []),
      ...(written.mismatches.length > 0 ? [`not the lake schema: ${written.mismatches.join(', ')}`] : []),
    ];
    const digest = read.digest();
    if (problems.length === 0 && written.digest.digest() !== digest) problems.push('the content digest of the new files differs from the old ones');
    if (problems.length > 0) throw new StagingError(`compaction of ${day.iso} would not keep every row: ${problems.join('; ')}`);

    const next: PartitionManifest = {
      ...manifest,
      runId,
      files: files.map((f) => ({ key: publishedKeyOf(runId, f.key), rows: f.rows, bytes: f.bytes, runId })),
    };
    await publication.confirm();
    const outcome = await publication.publish({ staged: files.map((f) => f.key), next, current, kind: 'compaction' });
    const result: CompactOutcome = {
      date: day.iso,
      runId,
      compacted: true,
      rows: manifest.rows,
      filesBefore: before.length,
      filesAfter: files.length,
      bytesBefore,
      bytesAfter: files.reduce((s, f) => s + f.bytes, 0),
      digest,
      publishWindowMs: Math.round(outcome.windowMs * 10) / 10,
      seconds: (performance.now() - started) / 1000,
    };
    request.log?.info('compacted', {
      date: day.iso,
      rows: result.rows,
      files_before: result.filesBefore,
      files_after: result.filesAfter,
      seconds: Math.round(result.seconds * 1000) / 1000,
    });
    return result;
  } catch (error) {
    // Nothing of it was committed: its staged files go (a failed publish took back what it promoted).
    await store.deleteObjects(files.map((f) => f.key)).catch(() => undefined);
    throw error;
  }
}
