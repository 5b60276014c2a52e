/**
 * `etl compact` as a user runs it: a day published as about `COMPACT_PARTS` files (by `etl run` with
 * `ROWS_PER_FILE` at that share of the day, not timed), then `node dist/cli/etl.js compact --date D`
 * in a fresh process, with the bench's `ROWS_PER_FILE`, timed from spawn to exit with its peak RSS;
 * once per repeat, each on a fresh lake. The process must exit 0 and leave the day in fewer files
 * holding the same rows, read back from the day's manifest before and after.
 */
import { parseDay } from '../../src/core/day.js';
import { readManifest } from '../../src/lake/manifest.js';
import { ETL, runEtlProcess } from './cli.js';
import type { BenchLake } from './lake.js';
import { median, repeated } from './stats.js';

/** The files the day is written as before it is compacted: the limit past which an append compacts (COMPACT_ABOVE_FILES). */
export const COMPACT_PARTS = 8;
/** The configuration's least ROWS_PER_FILE and ROW_GROUP_ROWS. */
const MIN_ROWS_PER_FILE = 1_024;

export interface CompactRunRequest {
  readonly databaseUrl: string;
  readonly date: string;
  /** PARTITION_TIMEZONE of the runs: the zone the day was seeded in. */
  readonly timeZone: string;
  /** Rows of the day, to cut it into `COMPACT_PARTS` files. */
  readonly rows: number;
  /** ROW_GROUP_ROWS of the runs (the files written to be compacted take at most a file's rows). */
  readonly rowGroupRows: number;
  readonly lake: BenchLake;
  /** A scratch directory; directory lakes are made under it. */
  readonly workDir: string;
  readonly repeat: number;
  /** Told before each compaction starts. */
  readonly onRun?: (run: number) => void;
}

export interface CompactRunMeasurement {
  /** The command line after `node`. */
  readonly command: string;
  /** Spawn to exit, median of `samples`. */
  readonly seconds: number;
  readonly samples: readonly number[];
  /** The largest peak RSS of the compacting processes, in KB. */
  readonly peakRssKb: number;
  readonly exitCode: 0;
  /** Rows of the day, and its files and bytes before and after (of the run of median time). */
  readonly rows: number;
  readonly filesBefore: number;
  readonly filesAfter: number;
  readonly bytesBefore: number;
  readonly bytesAfter: number;
}

interface CompactRun {
  readonly seconds: number;
  readonly peakRssKb: number;
  readonly rows: number;
  readonly filesBefore: number;
  readonly filesAfter: number;
  readonly bytesBefore: number;
  readonly bytesAfter: number;
}

/** Publishes the day as about `COMPACT_PARTS` files on a fresh lake, then compacts it in a timed process. */
async function compactOnce(request: CompactRunRequest, run: number): Promise<CompactRun> {
  const lakeUri = await request.lake.create(`compact-${run}`, request.workDir);
  const env = { ...request.lake.env, DATABASE_URL: request.databaseUrl, LAKE_URI: lakeUri, PARTITION_TIMEZONE: request.timeZone };
  const day = parseDay(request.date);
  const store = request.lake.store(lakeUri);
  const splitRows = Math.max(MIN_ROWS_PER_FILE, Math.ceil(request.rows / COMPACT_PARTS));
  const split = await runEtlProcess(['run', '--date', request.date], {
    ...env,
    ROWS_PER_FILE: String(splitRows),
    ROW_GROUP_ROWS: String(Math.min(splitRows, request.rowGroupRows)),
  });
  if (split.exitCode !== 0)
    throw new Error(`${ETL} run --date ${request.date} (ROWS_PER_FILE=${splitRows}) exited with ${split.exitCode}:\n${split.stderrTail}`);
  const before = (await readManifest(store, day))?.manifest;
  if (!before) throw new Error(`${ETL} run --date ${request.date} exited 0 but ${lakeUri} holds no manifest`);

  request.onRun?.(run);
  const args = ['compact', '--date', request.date];
  const ended = await runEtlProcess(args, env);
  if (ended.exitCode !== 0) throw new Error(`${ETL} ${args.join(' ')} (LAKE_URI=${lakeUri}) exited with ${ended.exitCode}, expected 0:\n${ended.stderrTail}`);
  const after = (await readManifest(store, day))?.manifest;
  if (!after || after.rows !== before.rows || after.files.length >= before.files.length) {
    throw new Error(
      `${ETL} ${args.join(' ')} exited 0 but left ${after?.files.length} files of ${after?.rows} rows (before: ${before.files.length} of ${before.rows})`,
    );
  }
  const bytes = (files: readonly { bytes: number }[]) => files.reduce((sum, file) => sum + file.bytes, 0);
  return {
    seconds: ended.ms / 1000,
    peakRssKb: ended.peakRssKb,
    rows: after.rows,
    filesBefore: before.files.length,
    filesAfter: after.files.length,
    bytesBefore: bytes(before.files),
    bytesAfter: bytes(after.files),
  };
}

/** Compacts the day `request.repeat` times, each on a lake of its own; the time is the median, the peak RSS the largest. */
export async function measureCompaction(request: CompactRunRequest): Promise<CompactRunMeasurement> {
  const runs = await repeated(request.repeat, (run) => compactOnce(request, run));
  const samples = runs.map((r) => r.seconds);
  const { seconds: _, peakRssKb: __, ...typical } = [...runs].sort((a, b) => a.seconds - b.seconds)[(runs.length - 1) >> 1];
  return {
    command: `${ETL} compact --date ${request.date}`,
    seconds: median(samples),
    samples,
    peakRssKb: Math.max(...runs.map((r) => r.peakRssKb)),
    exitCode: 0,
    ...typical,
  };
}
