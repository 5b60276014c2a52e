/**
 * The benchmark's results: the machine they ran on, the JSON file under `dev/bench/results/`, and the
 * short table printed on stdout.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, arch, release, totalmem, type } from 'node:os';
import { join } from 'node:path';
import type { ColdStart } from './cold-start.js';
import type { CompactRunMeasurement } from './compact-run.js';
import { ETL_RUN_TARGETS, etlRunTargets, etlRunTargetsMet, type EtlRunMeasurement } from './etl-run.js';
import type { Floor } from './floor.js';
import { LAMBDA_PRICES, lambdaDollars, MB_PER_VCPU, type StageCost } from './lambda-cost.js';
import { OVERLAP_NOTE, WHOLE_DAY, type StageMeasurement, type StagesMeasurement } from './stages.js';

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryBytes: number;
  readonly os: string;
  readonly node: string;
  readonly postgres: string;
}

export interface BenchSettings {
  readonly day: string;
  readonly timeZone: string;
  readonly batchRows: number;
  readonly rowGroupRows: number;
  readonly rowsPerFile: number;
  /** Runs of the floor and of the stages per day size: times are their medians, peak RSS the largest. */
  readonly repeat: number;
  /** `embedded` (started by the benchmark) or `DATABASE_URL`. */
  readonly postgres: 'embedded' | 'DATABASE_URL';
  /** The lake the stages, the whole day and `etl run` wrote to (`--lake`); the floor and the cold starts write none / a directory. */
  readonly lake: { readonly kind: 'dir' | 's3'; readonly description: string };
}

/** Everything measured for one day size. */
export interface DayRun {
  readonly rows: number;
  readonly database: string;
  readonly seedSeconds: number;
  readonly vacuumSeconds: number;
  /** Absent with `--skip-floor`. */
  readonly floor: Floor | undefined;
  readonly stages: StagesMeasurement;
  /** Whole day's seconds over the floor's; absent with `--skip-floor`. */
  readonly ratioToFloor: number | undefined;
  /** `etl run --date` as a user runs it, the whole process. */
  readonly etlRun: EtlRunMeasurement;
  /** `etl run`'s seconds over the floor's; absent with `--skip-floor`. */
  readonly etlRunRatioToFloor: number | undefined;
  /** `etl compact` of the day written as several files, the whole process (absent in results of older benches). */
  readonly compaction?: CompactRunMeasurement;
  /** Each stage's estimated Lambda duration and GB-seconds at its deployed memory size (`lambda-cost.ts`). */
  readonly lambdaCosts: readonly StageCost[];
}

export interface BenchResults {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly seconds: number;
  readonly machine: Machine;
  /** One-minute load average when the run started and ended: other work skews the times, not the RSS. */
  readonly loadAverage: { readonly atStart: number; readonly atEnd: number };
  readonly settings: BenchSettings;
  readonly days: readonly DayRun[];
  /** Absent with `--skip-cold-start`. */
  readonly coldStart: readonly ColdStart[] | undefined;
}

/** The machine the numbers come from; `postgresVersion` is the server's `SELECT version()`. */
export function describeMachine(postgresVersion: string): Machine {
  const cores = cpus();
  return {
    cpu: cores[0]?.model.trim() ?? 'unknown',
    cores: cores.length,
    memoryBytes: totalmem(),
    os: `${type()} ${release()} ${arch()}`,
    node: process.version,
    postgres: /^PostgreSQL \S+/.exec(postgresVersion)?.[0] ?? postgresVersion,
  };
}

/** Writes the results to `<dir>/bench-<timestamp>.json` and returns the path. */
export async function writeResults(dir: string, results: BenchResults): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, `bench-${results.startedAt.replace(/[:.]/g, '-')}.json`);
  await writeFile(path, `${JSON.stringify(results, null, 2)}\n`);
  return path;
}

const count = (n: number): string => Math.round(n).toLocaleString('en-US');
const seconds = (s: number): string => s.toFixed(2);
const ms = (n: number): string => n.toFixed(1);
const mib = (kb: number): string => `${(kb / 1024).toFixed(0)} MiB`;

function size(bytes: number): string {
  if (bytes < 1_000) return `${bytes} B`;
  if (bytes < 1_000_000) return `${(bytes / 1_000).toFixed(1)} kB`;
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

/** Lays out rows of cells: the first column left-aligned, the others right-aligned. */
function columns(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) =>
    r
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
      .join('  ')
      .trimEnd(),
  );
}

function stageRow(label: string, m: StageMeasurement): string[] {
  return [label, seconds(m.seconds), count(m.rows / m.seconds), mib(m.peakRssKb), size(m.bytes), String(m.files)];
}

const verdict = (met: boolean | undefined): string => (met === undefined ? '' : met ? ': met' : ': MISSED');

/** The line under the table that sets `etl run` against its targets. */
function etlRunLine(day: DayRun, lake: 'dir' | 's3'): string {
  const { etlRun, etlRunRatioToFloor: ratio } = day;
  const targets = etlRunTargets(lake);
  const met = etlRunTargetsMet(lake, day.rows, etlRun, ratio);
  const ratioPart =
    ratio === undefined ? 'no floor measured' : `etl run / floor = ${ratio.toFixed(2)} x (target <= ${targets.ratioToFloor} x${verdict(met.ratio)})`;
  const rssPart = `peak RSS ${mib(etlRun.peakRssKb)}${targets.peakRssMib === undefined ? '' : ` (target <= ${targets.peakRssMib} MiB${verdict(met.peakRss)})`}`;
  const scope = day.rows < ETL_RUN_TARGETS.forRows ? `; the targets are for days of ${count(ETL_RUN_TARGETS.forRows)} rows` : '';
  return `  ${ratioPart}, ${rssPart}${scope}`;
}

function dayTable(day: DayRun, lake: 'dir' | 's3'): string[] {
  const { floor, stages, etlRun } = day;
  const rows: string[][] = [['', 'seconds', 'rows/s', 'peak RSS', 'bytes', 'files']];
  if (floor) {
    rows.push(
      ['floor: COPY binary', seconds(floor.copy.seconds), count(floor.copy.rows / floor.copy.seconds), '-', size(floor.copy.bytes), '-'],
      [
        `floor: DuckDB Parquet (${floor.duckdb.threads} threads)`,
        seconds(floor.duckdb.seconds),
        count(floor.duckdb.rows / floor.duckdb.seconds),
        '-',
        size(floor.duckdb.bytes),
        '1',
      ],
      ['floor', seconds(floor.seconds), count(day.rows / floor.seconds), '', '', ''],
    );
  }
  const { wholeDay } = stages;
  rows.push(
    ...stages.stages.map((stage) => stageRow(stage.stage, stage)),
    stageRow(`${WHOLE_DAY} (one process)`, wholeDay),
    ['max peak RSS of the stages', '', '', mib(stages.maxStagePeakRssKb), '', ''],
    [
      `etl run, exit ${etlRun.exitCode} (whole process, spawn to exit)`,
      seconds(etlRun.seconds),
      count(etlRun.rows / etlRun.seconds),
      mib(etlRun.peakRssKb),
      size(etlRun.bytes),
      String(etlRun.files),
    ],
  );
  const { compaction } = day;
  if (compaction) {
    rows.push([
      `etl compact, exit ${compaction.exitCode} (${compaction.filesBefore} files -> ${compaction.filesAfter}, whole process)`,
      seconds(compaction.seconds),
      count(compaction.rows / compaction.seconds),
      mib(compaction.peakRssKb),
      size(compaction.bytesAfter),
      String(compaction.filesAfter),
    ]);
  }
  const lines = [
    `${count(day.rows)} rentals in one day (seeded in ${seconds(day.seedSeconds)} s, VACUUM ANALYZE + CHECKPOINT ${seconds(day.vacuumSeconds)} s)`,
    ...columns(rows).map((l) => `  ${l}`),
  ];
  if (wholeDay.parts) {
    const tasks = Object.entries(wholeDay.parts);
    const stateMachine = wholeDay.seconds - tasks.reduce((sum, [, s]) => sum + s, 0);
    lines.push(
      `  ${WHOLE_DAY} = ${[...tasks.map(([name, s]) => `${name} ${seconds(s)}`), `state machine ${seconds(stateMachine)}`].join(' + ')} s` +
        (wholeDay.setupSeconds === undefined ? '' : ` (set-up before it: ${seconds(wholeDay.setupSeconds)} s)`),
    );
    lines.push(`  (${OVERLAP_NOTE})`);
  }
  if (day.ratioToFloor !== undefined) lines.push(`  ${WHOLE_DAY} / floor = ${day.ratioToFloor.toFixed(2)} x`);
  lines.push(etlRunLine(day, lake));
  lines.push(...lambdaCostLines(day.lambdaCosts));
  return lines;
}

/** The stages' Lambda estimate: duration and GB-seconds at their memory sizes, per 1,000,000 rows, and dollars. */
function lambdaCostLines(costs: readonly StageCost[]): string[] {
  if (costs.length === 0) return [];
  const rows: string[][] = [['Lambda estimate', 'memory', 'cpu s', 'est. s', 'GB-s', 'GB-s / 1M rows']];
  for (const c of costs) {
    rows.push([c.stage, `${c.memoryMb} MB`, seconds(c.cpuSeconds), seconds(c.lambdaSeconds), c.gbSeconds.toFixed(2), c.gbSecondsPerMillionRows.toFixed(2)]);
  }
  const perMillion = costs.reduce((sum, c) => sum + c.gbSecondsPerMillionRows, 0);
  return [
    ...columns(rows).map((l) => `  ${l}`),
    `  a day of 1,000,000 rows: ${perMillion.toFixed(2)} GB-s, about $${lambdaDollars(perMillion, costs.length).toFixed(5)} ` +
      `(${LAMBDA_PRICES.architecture}, ${LAMBDA_PRICES.region}; CPU stretched by ${MB_PER_VCPU} MB per vCPU: an estimate)`,
  ];
}

function coldStartTable(coldStart: readonly ColdStart[]): string[] {
  const rows: string[][] = [['handler', 'import ms', '1st call ms', 'warm call ms', 'cold init ms', 'import ms (source maps)', 'index.js', '.wasm', 'zip']];
  for (const c of coldStart) {
    rows.push([
      c.handler,
      ms(c.importMs),
      ms(c.firstCallMs),
      ms(c.warmCallMs),
      ms(c.coldInitMs),
      ms(c.importMsSourceMaps),
      size(c.bundle.jsBytes),
      c.bundle.wasmBytes > 0 ? size(c.bundle.wasmBytes) : '-',
      size(c.bundle.zipBytes),
    ]);
  }
  const runs = coldStart[0]?.runs ?? 0;
  return [
    `cold start (esbuild CJS bundle required by plain node, first call on an empty day, local-directory lake; median of ${runs} fresh processes)`,
    ...columns(rows).map((l) => `  ${l}`),
  ];
}

/** The short human-readable summary of a run. */
export function formatTable(results: BenchResults): string {
  const { machine, settings } = results;
  const lines = [
    `pg-lake-etl bench ${results.startedAt} (${seconds(results.seconds)} s)`,
    `machine:  ${machine.cpu}, ${machine.cores} cores, ${(machine.memoryBytes / 2 ** 30).toFixed(1)} GiB, ${machine.os}, Node ${machine.node}, ${machine.postgres} (${settings.postgres})`,
    `load:     ${results.loadAverage.atStart.toFixed(2)} before, ${results.loadAverage.atEnd.toFixed(2)} after (1-minute load average; the run itself adds up to ${machine.cores}, anything more is other work skewing the times)`,
    `settings: BATCH_ROWS ${count(settings.batchRows)}, ROW_GROUP_ROWS ${count(settings.rowGroupRows)}, ROWS_PER_FILE ${count(settings.rowsPerFile)}, ` +
      `day ${settings.day} ${settings.timeZone}, ${settings.lake.description}`,
    `times are medians of ${settings.repeat} run${settings.repeat === 1 ? '' : 's'}, peak RSS the largest; each stage is its Lambda bundle in a fresh process, the whole day the state machine run locally in one, etl run the built CLI as a user runs it`,
  ];
  for (const day of results.days) lines.push('', ...dayTable(day, settings.lake.kind));
  if (results.coldStart) lines.push('', ...coldStartTable(results.coldStart));
  return `${lines.join('\n')}\n`;
}
