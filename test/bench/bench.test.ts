import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { COMPACT_PARTS, measureCompaction, type CompactRunMeasurement } from '../../dev/bench/compact-run.js';
import { etlRunTargetsMet, measureEtlRun, type EtlRunMeasurement } from '../../dev/bench/etl-run.js';
import { type Floor, floorOfSamples, rentalsCopySql } from '../../dev/bench/floor.js';
import { directoryLake, s3EndpointFromEnv, s3Lake, type BenchLake } from '../../dev/bench/lake.js';
import { parseBenchArgs } from '../../dev/bench/main.js';
import { seededDatabase, type SeededDatabase } from '../../dev/bench/source.js';
import { DAY_STAGES } from '../../dev/bench/stage-events.js';
import { dayCosts } from '../../dev/bench/lambda-cost.js';
import { bundleStages, measureStages, type StageMeasurement, type StagesMeasurement } from '../../dev/bench/stages.js';
import { parseLakeUri } from '../../src/core/config.js';
import { parseDay } from '../../src/core/day.js';
import { InputError } from '../../src/core/errors.js';
import { extractDay } from '../../src/pipeline/extract/extract.js';
import { FsStore } from '../../src/lake/fs-store.js';
import { manifestKey, newRunId, rentalsPartitionPrefix } from '../../src/lake/layout.js';
import { lockKey } from '../../src/lake/lease.js';
import { readManifest } from '../../src/lake/manifest.js';
import { STAGE_LIST, STAGES } from '../../src/pipeline/stages.js';
import { createTestDatabase } from '../support/databases.js';
import { duckdbAggregate } from '../support/lake-readers.js';
import { recordQueries } from '../support/queries.js';
import { s3Endpoint, s3Env } from '../support/s3.js';
import { sourceAggregate } from '../support/source.js';

describe('the floor', () => {
  let database: { url: string; drop: () => Promise<void> };
  let client: pg.Client;
  let lakeDir: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    client = new pg.Client(database.url);
    await client.connect();
  });

  afterAll(async () => {
    await client.end();
    await database.drop();
  });

  beforeEach(async () => {
    lakeDir = await mkdtemp(join(tmpdir(), 'bench-floor-'));
  });

  afterEach(async () => {
    await rm(lakeDir, { recursive: true, force: true });
  });

  it('copies the day with exactly the query extract sends', async () => {
    // Prepare
    const texts = recordQueries(client);
    const day = parseDay('2025-06-02');
    const timeZone = 'Europe/Berlin';

    // Act
    await extractDay({ client, store: new FsStore(parseLakeUri(lakeDir)), day, timeZone, runId: newRunId(), batchRows: 1024 });

    // Assess
    const extractCopy = texts.find((t) => t.startsWith('COPY (SELECT "rental_id"'));
    expect(extractCopy).toBeDefined();
    expect(rentalsCopySql(day, timeZone, 'binary')).toBe(extractCopy);
  });
});

describe('parseBenchArgs', () => {
  it('measures 100,000 and 1,000,000 rows three times with everything on by default', () => {
    // Act
    const options = parseBenchArgs([]);

    // Assess
    expect(options).toEqual({ rows: [100_000, 1_000_000], repeat: 3, lake: 'dir', skipFloor: false, skipColdStart: false, jsonOnly: false });
  });

  it('reads a comma list of day sizes, the repeat count, the lake and the skip flags', () => {
    // Act
    const options = parseBenchArgs(['--rows', '4_000_000, 250000', '--repeat', '1', '--lake', 's3', '--skip-floor', '--skip-cold-start', '--json-only']);

    // Assess
    expect(options).toEqual({ rows: [4_000_000, 250_000], repeat: 1, lake: 's3', skipFloor: true, skipColdStart: true, jsonOnly: true });
  });

  it('rejects a lake other than dir or s3 naming the flag', () => {
    // Act
    const act = () => parseBenchArgs(['--lake', 'gcs']);

    // Assess
    expect(act).toThrow(InputError);
    expect(act).toThrow(/^--lake: expected dir or s3/);
  });

  it.each([['0'], ['2.5'], ['21']])('rejects --repeat %s naming the flag', (repeat) => {
    // Act
    const act = () => parseBenchArgs(['--repeat', repeat]);

    // Assess
    expect(act).toThrow(/^--repeat: expected an integer from 1 to 20/);
  });

  it.each([['0'], ['1.5'], ['ten'], ['100000,'], ['20000000']])('rejects --rows %s naming the flag', (rows) => {
    // Act
    const act = () => parseBenchArgs(['--rows', rows]);

    // Assess
    expect(act).toThrow(InputError);
    expect(act).toThrow(/^--rows: expected integers from 1 to 10,000,000/);
  });

  it('rejects an unknown flag', () => {
    // Act
    const act = () => parseBenchArgs(['--fast']);

    // Assess
    expect(act).toThrow(InputError);
  });
});

/** The Parquet data files of `day`'s partition in the local lake `lakeDir`, with their sizes. */
async function partitionFiles(lakeDir: string, date: string): Promise<{ paths: string[]; bytes: number }> {
  const dir = join(lakeDir, rentalsPartitionPrefix(parseDay(date)));
  const paths = (await readdir(dir)).filter((name) => name.endsWith('.parquet')).map((name) => join(dir, name));
  let bytes = 0;
  for (const path of paths) bytes += (await stat(path)).size;
  return { paths, bytes };
}

describe('the stage measurements', () => {
  const date = '2025-06-02';
  let database: SeededDatabase;
  let workDir: string;
  let measured: StagesMeasurement;
  const stage = (name: string): StageMeasurement => {
    const found = measured.stages.find((s) => s.stage === name);
    if (!found) throw new Error(`no measurement of ${name}`);
    return found;
  };

  beforeAll(async () => {
    // Prepare
    database = await seededDatabase(inject('databaseUrl'), `bench_test_${randomBytes(4).toString('hex')}`, parseDay(date), { rentals: 3_000, timeZone: 'UTC' });
    workDir = await mkdtemp(join(tmpdir(), 'bench-stages-'));
    const bundles = await bundleStages(join(workDir, 'bundles'));

    // Act
    measured = await measureStages({ bundles, databaseUrl: database.url, date, lake: directoryLake(), workDir, repeat: 1 });
  }, 300_000);

  afterAll(async () => {
    await database?.drop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it("counts the rows each stage's handler reports, as the source and the lake hold them", async () => {
    // Prepare
    const client = new pg.Client(database.url);
    await client.connect();
    const source = await sourceAggregate(client, date).finally(() => client.end());
    const stages = await partitionFiles(join(workDir, 'lake-stages-0'), date);
    const wholeDay = await partitionFiles(join(workDir, 'lake-whole-day-0'), date);
    const written = (await duckdbAggregate(stages.paths)).rows;

    // Assess
    expect(source.rows).toBe(3_000);
    expect(stage(STAGES.planDay.name).rows).toBe(source.rows);
    expect(stage(STAGES.extract.name).rows).toBe(source.rows);
    expect(stage(STAGES.transformWrite.name).rows).toBe(written);
    expect(stage(STAGES.validate.name).rows).toBe(written);
    expect(measured.wholeDay.rows).toBe((await duckdbAggregate(wholeDay.paths)).rows);
  });

  it('gives the bytes and files of the Parquet files as they lie in each lake', async () => {
    // Prepare
    const stages = await partitionFiles(join(workDir, 'lake-stages-0'), date);
    const wholeDay = await partitionFiles(join(workDir, 'lake-whole-day-0'), date);

    // Assess
    expect(stages.paths.length).toBeGreaterThan(0);
    for (const name of [STAGES.transformWrite.name, STAGES.validate.name]) {
      expect({ name, files: stage(name).files, bytes: stage(name).bytes }).toEqual({ name, files: stages.paths.length, bytes: stages.bytes });
    }
    expect({ files: measured.wholeDay.files, bytes: measured.wholeDay.bytes }).toEqual({ files: wholeDay.paths.length, bytes: wholeDay.bytes });
    // Staging is gone once validate published the day; extract staged at least the rentals.
    expect(stage(STAGES.extract.name).files).toBeGreaterThanOrEqual(1);
    expect(stage(STAGES.extract.name).bytes).toBeGreaterThan(0);
  });

  it("runs each stage of a passing day under the day's lease, which validate gives back", () => {
    // Assess
    expect(measured.stages.map((s) => s.stage)).toEqual(DAY_STAGES.map((spec) => spec.name));
    for (const lake of ['lake-stages-0', 'lake-whole-day-0']) {
      // The day is published in this lake (so the lock's absence is the lease given back, not a lake elsewhere).
      expect(existsSync(join(workDir, lake, manifestKey(parseDay(date)))), lake).toBe(true);
      expect(existsSync(join(workDir, lake, lockKey(parseDay(date))))).toBe(false);
    }
  });

  it('measures the time and memory of each process', () => {
    // Assess
    for (const m of [...measured.stages, measured.wholeDay]) {
      expect(m.seconds, m.stage).toBeGreaterThan(0);
      expect(m.samples, m.stage).toEqual([m.seconds]);
      expect(m.baselineRssKb, m.stage).toBeGreaterThan(10_000);
      expect(m.peakRssKb, m.stage).toBeGreaterThanOrEqual(m.baselineRssKb);
      expect(m.memoryPeaksKb.heapUsed, m.stage).toBeGreaterThan(0);
      expect(m.memoryPeaksKb.heapTotal, m.stage).toBeLessThan(m.peakRssKb);
    }
    expect(measured.maxStagePeakRssKb).toBe(Math.max(...measured.stages.map((s) => s.peakRssKb)));
  });

  it("measures each stage's CPU time, which the Lambda estimate stretches to its memory size", () => {
    // Act
    const costs = dayCosts(measured.stages, 3_000);

    // Assess: every stage of the day has a CPU time and an estimate at its deployed memory size
    expect(costs.map((c) => c.stage)).toEqual(measured.stages.map((s) => s.stage));
    for (const c of costs) {
      expect(c.cpuSeconds, c.stage).toBeGreaterThan(0);
      expect(c.memoryMb, c.stage).toBe(STAGE_LIST.find((s) => s.name === c.stage)?.lambda.memoryMb);
      expect(c.gbSeconds, c.stage).toBeCloseTo((c.lambdaSeconds * c.memoryMb) / 1024, 9);
    }
  });

  it("splits the whole day's time into its stages' tasks", () => {
    // Prepare
    const parts = measured.wholeDay.parts ?? {};

    // Assess
    for (const spec of DAY_STAGES) expect(parts[spec.name], spec.name).toBeGreaterThan(0);
    const tasks = Object.values(parts).reduce((sum, s) => sum + s, 0);
    expect(tasks).toBeLessThanOrEqual(measured.wholeDay.seconds);
    expect(measured.wholeDay.setupSeconds).toBeGreaterThan(0);
  });
});

describe('the etl run measurement', () => {
  const date = '2025-06-02';
  let database: SeededDatabase;
  let workDir: string;
  let measured: EtlRunMeasurement;
  /** What happened in which order: the hook before each run, and each run's start. */
  const order: string[] = [];

  beforeAll(async () => {
    // Prepare: dist/ is built by the global setup, as the bench builds it before measuring.
    database = await seededDatabase(inject('databaseUrl'), `bench_test_${randomBytes(4).toString('hex')}`, parseDay(date), {
      rentals: 2_000,
      timeZone: 'Europe/Berlin',
    });
    workDir = await mkdtemp(join(tmpdir(), 'bench-etl-run-'));

    // Act
    measured = await measureEtlRun({
      databaseUrl: database.url,
      date,
      timeZone: 'Europe/Berlin',
      lake: directoryLake(),
      workDir,
      repeat: 2,
      beforeEach: async (run) => void order.push(`before ${run}`),
      onRun: (run) => order.push(`run ${run}`),
    });
  }, 300_000);

  afterAll(async () => {
    await database?.drop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it("reports the day's rows, files and bytes as the lake holds them, from a process that exited 0", async () => {
    // Prepare
    const client = new pg.Client(database.url);
    await client.connect();
    const source = await sourceAggregate(client, date, 'Europe/Berlin').finally(() => client.end());
    const lake = await partitionFiles(join(workDir, 'etl-run-1'), date);

    // Assess
    expect(source.rows).toBe(2_000);
    expect(measured.exitCode).toBe(0);
    expect(measured.command).toBe(`dist/cli/etl.js run --date ${date}`);
    expect(measured.rows).toBe(source.rows);
    expect((await duckdbAggregate(lake.paths)).rows).toBe(source.rows);
    expect({ files: measured.files, bytes: measured.bytes }).toEqual({ files: lake.paths.length, bytes: lake.bytes });
  });

  it('times each process on a lake of its own and keeps the largest peak RSS', () => {
    // Assess
    expect(measured.samples).toHaveLength(2);
    expect(measured.seconds).toBe((measured.samples[0] + measured.samples[1]) / 2);
    expect(existsSync(join(workDir, 'etl-run-0', rentalsPartitionPrefix(parseDay(date))))).toBe(true);
    expect(measured.peakRssKb).toBeGreaterThan(30_000);
  });

  it('awaits its hook before each run (where the bench samples the floor)', () => {
    // Assess
    expect(order).toEqual(['before 0', 'run 0', 'before 1', 'run 1']);
  });
});

describe('the floor of several samples', () => {
  it('takes the median of all the samples of each half', () => {
    // Prepare
    const sample = (copy: number[], duckdb: number[]): Floor => ({
      copy: { seconds: copy[0], samples: copy, rows: 10, bytes: 100 },
      duckdb: { seconds: duckdb[0], samples: duckdb, rows: 10, bytes: 50, threads: 2, version: 'v1' },
      seconds: copy[0] + duckdb[0],
    });

    // Act
    const floor = floorOfSamples([sample([0.5], [0.2]), sample([0.7], [0.3]), sample([0.6], [0.25])]);

    // Assess
    expect(floor.copy).toEqual({ seconds: 0.6, samples: [0.5, 0.7, 0.6], rows: 10, bytes: 100 });
    expect(floor.duckdb.seconds).toBe(0.25);
    expect(floor.seconds).toBeCloseTo(0.85);
  });
});

describe("etl run's targets", () => {
  const run = (peakRssMib: number) => ({ peakRssKb: peakRssMib * 1024 }) as EtlRunMeasurement;

  it('holds a directory lake to 2 x the floor and 256 MiB, an S3 endpoint to 2.5 x, days of 1,000,000 rows only', () => {
    // Act
    const verdicts = [
      etlRunTargetsMet('dir', 1_000_000, run(250), 1.99),
      etlRunTargetsMet('dir', 1_000_000, run(260), 2.01),
      etlRunTargetsMet('s3', 1_000_000, run(300), 2.49),
      etlRunTargetsMet('s3', 1_000_000, run(300), 2.51),
      etlRunTargetsMet('dir', 100_000, run(300), 5),
    ];

    // Assess
    expect(verdicts).toEqual([
      { ratio: true, peakRss: true },
      { ratio: false, peakRss: false },
      { ratio: true, peakRss: undefined },
      { ratio: false, peakRss: undefined },
      {},
    ]);
  });
});

describe('the compaction measurement', () => {
  const date = '2025-06-02';
  let database: SeededDatabase;
  let workDir: string;
  let measured: CompactRunMeasurement;

  beforeAll(async () => {
    // Prepare: dist/ is built by the global setup, as the bench builds it before measuring.
    database = await seededDatabase(inject('databaseUrl'), `bench_test_${randomBytes(4).toString('hex')}`, parseDay(date), {
      rentals: 10_000,
      timeZone: 'UTC',
    });
    workDir = await mkdtemp(join(tmpdir(), 'bench-compact-'));

    // Act
    measured = await measureCompaction({
      databaseUrl: database.url,
      date,
      timeZone: 'UTC',
      rows: 10_000,
      rowGroupRows: 131_072,
      lake: directoryLake(),
      workDir,
      repeat: 2,
    });
  }, 300_000);

  afterAll(async () => {
    await database?.drop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('compacts the day written as several files into one, every row kept, in a process that exited 0', async () => {
    // Prepare
    const lake = await partitionFiles(join(workDir, 'compact-1'), date);
    const manifest = (await readManifest(new FsStore(parseLakeUri(join(workDir, 'compact-1'))), parseDay(date)))!.manifest;

    // Assess
    expect(measured.exitCode).toBe(0);
    expect(measured.command).toBe(`dist/cli/etl.js compact --date ${date}`);
    expect(measured.filesBefore).toBe(COMPACT_PARTS);
    expect(measured.filesAfter).toBe(1);
    expect(measured.rows).toBe(10_000);
    expect((await duckdbAggregate(lake.paths)).rows).toBe(10_000);
    expect(manifest.files.map((f) => f.key.split('/').at(-1))).toEqual(lake.paths.map((p) => p.split('/').at(-1)));
    expect({ files: lake.paths.length, bytes: lake.bytes }).toEqual({ files: measured.filesAfter, bytes: measured.bytesAfter });
    expect(measured.bytesBefore).toBeGreaterThan(measured.bytesAfter);
  });

  it('times each compacting process on a lake of its own and keeps the largest peak RSS', () => {
    // Assess
    expect(measured.samples).toHaveLength(2);
    expect(measured.seconds).toBe((measured.samples[0] + measured.samples[1]) / 2);
    expect(existsSync(join(workDir, 'compact-0', rentalsPartitionPrefix(parseDay(date))))).toBe(true);
    expect(measured.peakRssKb).toBeGreaterThan(30_000);
  });
});

describe.skipIf(s3Endpoint === undefined)('the measurements on an S3 lake', () => {
  const date = '2025-06-02';
  let database: SeededDatabase;
  let workDir: string;
  let lake: BenchLake;
  let stages: StagesMeasurement;
  let etlRun: EtlRunMeasurement;

  beforeAll(async () => {
    // Prepare
    const endpoint = s3EndpointFromEnv(s3Env(s3Endpoint ?? ''));
    if (!endpoint) throw new Error('no S3 endpoint');
    lake = s3Lake(endpoint, 'the test S3 endpoint');
    database = await seededDatabase(inject('databaseUrl'), `bench_test_${randomBytes(4).toString('hex')}`, parseDay(date), { rentals: 1_500, timeZone: 'UTC' });
    workDir = await mkdtemp(join(tmpdir(), 'bench-s3-'));
    const bundles = await bundleStages(join(workDir, 'bundles'));

    // Act
    stages = await measureStages({ bundles, databaseUrl: database.url, date, lake, workDir, repeat: 1 });
    etlRun = await measureEtlRun({ databaseUrl: database.url, date, timeZone: 'UTC', lake, workDir, repeat: 1 });
  }, 300_000);

  afterAll(async () => {
    await lake?.close();
    await database?.drop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it("runs the stages, the whole day and etl run against buckets, reporting the day's rows", async () => {
    // Assess
    const byName = Object.fromEntries(stages.stages.map((s) => [s.stage, s]));
    expect(byName[STAGES.extract.name].rows).toBe(1_500);
    expect(byName[STAGES.validate.name].rows).toBe(1_500);
    expect(stages.wholeDay.rows).toBe(1_500);
    expect(etlRun.rows).toBe(1_500);
    expect(etlRun.files).toBeGreaterThan(0);
    // No lake was written to a directory.
    expect((await readdir(workDir)).sort()).toEqual(['bundles']);
  });
});
