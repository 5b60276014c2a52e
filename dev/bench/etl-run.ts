/**
 * `etl run` as a user runs it: `node dist/cli/etl.js run --date D` (built by `buildCli`) in a fresh
 * process per repeat, on a fresh lake each time, timed from spawn to exit with the process's peak
 * RSS. The process must exit 0; what it published is read back from the day's manifest.
 */
import { parseDay } from '../../src/core/day.js';
import { readManifest } from '../../src/lake/manifest.js';
import { ETL, runEtlProcess } from './cli.js';
import type { BenchLake } from './lake.js';
import { median, repeated } from './stats.js';

/**
 * What `etl run` of a day of `forRows` rentals (or more) should stay within, by the kind of lake: on
 * a directory at most 2 x the floor and 256 MiB of peak RSS, on an S3 endpoint at most 2.5 x (no
 * memory target there).
 */
export const ETL_RUN_TARGETS = {
  forRows: 1_000_000,
  dir: { ratioToFloor: 2.0, peakRssMib: 256 },
  s3: { ratioToFloor: 2.5, peakRssMib: undefined },
} as const;

/** The targets of `etl run` on a lake of `kind`. */
export function etlRunTargets(kind: 'dir' | 's3'): { readonly ratioToFloor: number; readonly peakRssMib: number | undefined } {
  return ETL_RUN_TARGETS[kind];
}

export interface EtlRunRequest {
  readonly databaseUrl: string;
  readonly date: string;
  /** PARTITION_TIMEZONE of the run: the zone the day was seeded in. */
  readonly timeZone: string;
  readonly lake: BenchLake;
  /** A scratch directory; directory lakes are made under it. */
  readonly workDir: string;
  readonly repeat: number;
  /** Told before each process starts. */
  readonly onRun?: (run: number) => void;
  /** Awaited before each process starts (the bench takes a sample of the floor there). */
  readonly beforeEach?: (run: number) => Promise<void>;
}

export interface EtlRunMeasurement {
  /** The command line after `node`. */
  readonly command: string;
  /** Spawn to exit, median of `samples`. */
  readonly seconds: number;
  readonly samples: readonly number[];
  /** The largest peak RSS of the processes, in KB. */
  readonly peakRssKb: number;
  /** Exit code of every process; the measurement throws on any other than 0. */
  readonly exitCode: 0;
  /** Rows, bytes and Parquet files of the day's published manifest (of the run of median time). */
  readonly rows: number;
  readonly bytes: number;
  readonly files: number;
}

/** Whether a measurement of a day of `rows` rentals on a lake of `kind` meets its targets; undefined where they do not apply. */
export function etlRunTargetsMet(
  kind: 'dir' | 's3',
  rows: number,
  run: EtlRunMeasurement,
  ratioToFloor: number | undefined,
): { ratio?: boolean; peakRss?: boolean } {
  if (rows < ETL_RUN_TARGETS.forRows) return {};
  const targets = etlRunTargets(kind);
  return {
    ratio: ratioToFloor === undefined ? undefined : ratioToFloor <= targets.ratioToFloor,
    peakRss: targets.peakRssMib === undefined ? undefined : run.peakRssKb <= targets.peakRssMib * 1024,
  };
}

/** One `etl run` on a fresh lake; throws with the process's stderr when it does not exit 0 or publishes nothing. */
async function runOnce(request: EtlRunRequest, run: number): Promise<{ seconds: number; peakRssKb: number; rows: number; bytes: number; files: number }> {
  const lakeUri = await request.lake.create(`etl-run-${run}`, request.workDir);
  const env = {
    ...request.lake.env,
    DATABASE_URL: request.databaseUrl,
    LAKE_URI: lakeUri,
    PARTITION_TIMEZONE: request.timeZone,
  };
  request.onRun?.(run);
  const args = ['run', '--date', request.date];
  const ended = await runEtlProcess(args, env);
  if (ended.exitCode !== 0) {
    throw new Error(`${ETL} ${args.join(' ')} (LAKE_URI=${lakeUri}) exited with ${ended.exitCode}, expected 0:\n${ended.stderrTail}`);
  }
  const published = await readManifest(request.lake.store(lakeUri), parseDay(request.date));
  if (!published) throw new Error(`${ETL} ${args.join(' ')} exited 0 but ${lakeUri} holds no manifest of ${request.date}`);
  const { manifest } = published;
  return {
    seconds: ended.ms / 1000,
    peakRssKb: ended.peakRssKb,
    rows: manifest.rows,
    bytes: manifest.files.reduce((sum, file) => sum + file.bytes, 0),
    files: manifest.files.length,
  };
}

/** Runs `etl run --date` `request.repeat` times; the time is the median, the peak RSS the largest. */
export async function measureEtlRun(request: EtlRunRequest): Promise<EtlRunMeasurement> {
  const runs = await repeated(request.repeat, async (run) => {
    await request.beforeEach?.(run);
    return runOnce(request, run);
  });
  const samples = runs.map((r) => r.seconds);
  const typical = [...runs].sort((a, b) => a.seconds - b.seconds)[(runs.length - 1) >> 1];
  return {
    command: `${ETL} run --date ${request.date}`,
    seconds: median(samples),
    samples,
    peakRssKb: Math.max(...runs.map((r) => r.peakRssKb)),
    exitCode: 0,
    rows: typical.rows,
    bytes: typical.bytes,
    files: typical.files,
  };
}
