/**
 * `npm run bench`: how fast and how lean one day runs through the pipeline, against the floor of
 * this machine. First the `etl` command's start-up (`cli.ts`); then for each day size it seeds a
 * fresh database, measures the floor (COPY of the extract query to nowhere + DuckDB writing the
 * rows as Parquet), then each stage in a fresh process, the whole day in one, `etl run` as a
 * user runs it (`etl-run.ts`) and `etl compact` of the day written as several files
 * (`compact-run.ts`); then the cold start of each Lambda bundle. Progress goes to stderr;
 * the table to stdout; everything to `dev/bench/results/bench-<timestamp>.json`.
 *
 *   npm run bench -- [--rows 100000,1000000] [--repeat 3] [--lake dir|s3] [--skip-floor] [--skip-cold-start] [--json-only]
 *
 * Uses DATABASE_URL's server when set (it creates and drops `bench_<rows>` databases there), else
 * an embedded Postgres. BATCH_ROWS, ROW_GROUP_ROWS, ROWS_PER_FILE and PARTITION_TIMEZONE apply.
 * `--lake s3` writes to buckets on AWS_ENDPOINT_URL when set, else on a moto server it starts.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, type Config } from '../../src/core/config.js';
import { parseDay } from '../../src/core/day.js';
import { ConfigError, InputError } from '../../src/core/errors.js';
import { MAX_RENTALS_PER_DAY } from '../../src/source/synthetic/options.js';
import { PROJECT_ROOT } from './child-process.js';
import { buildCli, cliTable, measureCli, type CliMeasurement } from './cli.js';
import { measureColdStarts, type ColdStart } from './cold-start.js';
import { measureCompaction } from './compact-run.js';
import { measureEtlRun } from './etl-run.js';
import { type Floor, floorOfSamples, measureFloor } from './floor.js';
import { LAKE_KINDS, LakeUnavailableError, openLake, type BenchLake, type LakeKind } from './lake.js';
import { describeMachine, formatTable, writeResults, type BenchResults, type DayRun } from './report.js';
import { openServer, seededDatabase, type BenchServer } from './source.js';
import { dayCosts } from './lambda-cost.js';
import { bundleStages, measureStages, type StageBundles } from './stages.js';

/** The one day every benchmark database holds. */
const BENCH_DAY = '2025-06-02';
const DEFAULT_ROWS = '100000,1000000';
/** Runs of every timed measurement; the median is reported. Three keep one noisy run from deciding. */
const DEFAULT_REPEAT = 3;
const MAX_REPEAT = 20;

const USAGE = `usage: npm run bench -- [--rows N[,N...]] [--repeat N] [--lake dir|s3] [--skip-floor] [--skip-cold-start] [--json-only]
  --rows             rentals in the benchmark day, one run per value (default ${DEFAULT_ROWS})
  --repeat           runs of the floor, the stages and etl run per day size; times are medians, peak RSS the largest (default ${DEFAULT_REPEAT})
  --lake             where the stages, the whole day and etl run write: dir (local directories) or s3 (buckets on
                     AWS_ENDPOINT_URL, else on a moto server the bench starts) (default dir)
  --skip-floor       do not measure COPY to nowhere and DuckDB's Parquet write
  --skip-cold-start  do not bundle and cold-start the handlers
  --json-only        print the results JSON on stdout instead of the table`;

interface BenchOptions {
  readonly rows: readonly number[];
  readonly repeat: number;
  readonly lake: LakeKind;
  readonly skipFloor: boolean;
  readonly skipColdStart: boolean;
  readonly jsonOnly: boolean;
}

/** Parses the flags; throws InputError naming the bad one. */
export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  let values: ReturnType<typeof parseBenchFlags>['values'];
  try {
    ({ values } = parseBenchFlags(argv));
  } catch (error) {
    throw new InputError('arguments', 'the flags below', (error as Error).message);
  }
  return optionsFrom(values);
}

function parseBenchFlags(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    options: {
      rows: { type: 'string', default: DEFAULT_ROWS },
      repeat: { type: 'string', default: String(DEFAULT_REPEAT) },
      lake: { type: 'string', default: 'dir' },
      'skip-floor': { type: 'boolean', default: false },
      'skip-cold-start': { type: 'boolean', default: false },
      'json-only': { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
}

function optionsFrom(values: ReturnType<typeof parseBenchFlags>['values']): BenchOptions {
  const rows = values.rows.split(',').map((part) => {
    const n = Number(part.trim().replaceAll('_', ''));
    if (part.trim() === '' || !Number.isInteger(n) || n < 1 || n > MAX_RENTALS_PER_DAY) {
      throw new InputError('--rows', `integers from 1 to ${MAX_RENTALS_PER_DAY.toLocaleString('en-US')}, separated by commas`, part);
    }
    return n;
  });
  const repeat = Number(values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > MAX_REPEAT) {
    throw new InputError('--repeat', `an integer from 1 to ${MAX_REPEAT}`, values.repeat);
  }
  const lake = LAKE_KINDS.find((kind) => kind === values.lake);
  if (lake === undefined) throw new InputError('--lake', LAKE_KINDS.join(' or '), values.lake);
  return { rows, repeat, lake, skipFloor: values['skip-floor'], skipColdStart: values['skip-cold-start'], jsonOnly: values['json-only'] };
}

function progress(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

/** What every day size is measured with. */
interface BenchContext {
  readonly server: BenchServer;
  readonly options: BenchOptions;
  readonly config: Config;
  /** The handlers of a day's stages and the children that run them. */
  readonly bundles: StageBundles;
  /** Where the stages, the whole day and `etl run` write. */
  readonly lake: BenchLake;
}

/** Seeds a day of `rows` rentals in a fresh database and measures it; `workDir` holds its files. */
async function benchDay({ server, options, config, bundles, lake }: BenchContext, rows: number, workDir: string): Promise<DayRun> {
  const label = rows.toLocaleString('en-US');
  const day = parseDay(BENCH_DAY);
  progress(`${label} rows: creating bench_${rows} and seeding ${BENCH_DAY}`);
  const database = await seededDatabase(server.url, `bench_${rows}`, day, { rentals: rows, timeZone: config.timeZone });
  await mkdir(workDir, { recursive: true });
  try {
    const stages = await measureStages({
      bundles,
      databaseUrl: database.url,
      date: BENCH_DAY,
      lake,
      workDir,
      repeat: options.repeat,
      onStage: (stage, run) => progress(`${label} rows: ${stage} in a fresh process (run ${run + 1} of ${options.repeat})`),
    });
    // A sample of the floor before each run of etl run: this shared machine's speed drifts by a fifth
    // from one minute to the next, and the two are compared; measured apart, they were minutes apart.
    const floors: Floor[] = [];
    const etlRun = await measureEtlRun({
      databaseUrl: database.url,
      date: BENCH_DAY,
      timeZone: config.timeZone,
      lake,
      workDir,
      repeat: options.repeat,
      onRun: (run) => progress(`${label} rows: etl run --date ${BENCH_DAY} (run ${run + 1} of ${options.repeat})`),
      beforeEach: async (run) => {
        if (options.skipFloor) return;
        progress(`${label} rows: floor (COPY binary to nowhere, DuckDB Parquet write; sample ${run + 1} of ${options.repeat})`);
        floors.push(await measureFloor({ databaseUrl: database.url, day, timeZone: config.timeZone, rowGroupRows: config.rowGroupRows, workDir, repeat: 1 }));
      },
    });
    const floor = floors.length > 0 ? floorOfSamples(floors) : undefined;
    const compaction = await measureCompaction({
      databaseUrl: database.url,
      date: BENCH_DAY,
      timeZone: config.timeZone,
      rows,
      rowGroupRows: config.rowGroupRows,
      lake,
      workDir,
      repeat: options.repeat,
      onRun: (run) => progress(`${label} rows: etl compact --date ${BENCH_DAY} of the day in several files (run ${run + 1} of ${options.repeat})`),
    });
    return {
      rows,
      database: database.name,
      seedSeconds: database.seedSeconds,
      vacuumSeconds: database.vacuumSeconds,
      floor,
      stages,
      ratioToFloor: floor ? stages.wholeDay.seconds / floor.seconds : undefined,
      etlRun,
      etlRunRatioToFloor: floor ? etlRun.seconds / floor.seconds : undefined,
      compaction,
      lambdaCosts: dayCosts(stages.stages, rows),
    };
  } finally {
    await database.drop();
    await lake.clear();
  }
}

/** Cold-starts every handler against a database whose benchmark day is empty. */
async function benchColdStart(server: BenchServer, workDir: string, timeZone: string): Promise<ColdStart[]> {
  progress('cold start: seeding an empty day (users and bikes only)');
  const database = await seededDatabase(server.url, 'bench_cold_start', parseDay(BENCH_DAY), { rentals: 0, timeZone });
  try {
    return await measureColdStarts({
      databaseUrl: database.url,
      emptyDay: BENCH_DAY,
      workDir,
      onHandler: (name) => progress(`cold start: bundling and starting ${name}`),
    });
  } finally {
    await database.drop();
  }
}

/** Runs the benchmark; returns the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let options: BenchOptions;
  let config: Config;
  try {
    options = parseBenchArgs(argv);
    // The tuning variables, checked before anything runs; the lakes and databases are the bench's own.
    config = loadConfig({ ...process.env, LAKE_URI: tmpdir(), DATABASE_URL: undefined });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n${USAGE}\n`);
    return 2;
  }
  // The lake first, so a missing S3 endpoint fails before anything is measured.
  let lake: BenchLake;
  try {
    lake = await openLake(options.lake, process.env, progress);
  } catch (error) {
    if (!(error instanceof LakeUnavailableError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 1;
  }
  try {
    return await benchAll(options, config, lake);
  } finally {
    await lake.close();
  }
}

/** Everything after the flags and the lake: the `etl` command, then every day size, then the cold starts. */
async function benchAll(options: BenchOptions, config: Config, lake: BenchLake): Promise<number> {
  const started = new Date();
  const loadAtStart = loadavg()[0];
  progress(`lake: ${lake.description}`);
  // Before the database starts, on a machine doing nothing else.
  progress('etl command: building dist/');
  await buildCli();
  const cli = await measureCli((label) => progress(`etl command: ${label}`));
  const server = await openServer(process.env.DATABASE_URL, progress);
  const workDir = await mkdtemp(join(tmpdir(), 'pg-lake-bench-'));
  try {
    progress("bundling the day's handlers as the stack does, and the children that run them");
    const bundles = await bundleStages(join(workDir, 'bundles'));
    const days: DayRun[] = [];
    for (const rows of options.rows) {
      const dayDir = join(workDir, `rows-${rows}`);
      days.push(await benchDay({ server, options, config, bundles, lake }, rows, dayDir));
      await rm(dayDir, { recursive: true, force: true });
    }
    const coldStart = options.skipColdStart ? undefined : await benchColdStart(server, join(workDir, 'cold-start'), config.timeZone);
    const finished = new Date();
    const results: BenchResults & { readonly cli: readonly CliMeasurement[] } = {
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      seconds: (finished.getTime() - started.getTime()) / 1000,
      machine: describeMachine(server.version),
      loadAverage: { atStart: loadAtStart, atEnd: loadavg()[0] },
      settings: {
        day: BENCH_DAY,
        timeZone: config.timeZone,
        batchRows: config.batchRows,
        rowGroupRows: config.rowGroupRows,
        rowsPerFile: config.rowsPerFile,
        repeat: options.repeat,
        postgres: server.embedded ? 'embedded' : 'DATABASE_URL',
        lake: { kind: lake.kind, description: lake.description },
      },
      days,
      coldStart,
      cli,
    };
    const path = await writeResults(join(PROJECT_ROOT, 'dev', 'bench', 'results'), results);
    process.stdout.write(options.jsonOnly ? `${JSON.stringify(results, null, 2)}\n` : `${formatTable(results)}\n${cliTable(cli).join('\n')}\n`);
    progress(`results written to ${path}`);
    return 0;
  } finally {
    await server.stop();
    await rm(workDir, { recursive: true, force: true });
  }
}
