/**
 * The synthesized state machine definition, executed locally with the real handlers against a
 * real Postgres and a local lake: happy path, a retried transient error, a validation breach that
 * fails only its day, bad input rejected before any work, and the Map's concurrency cap.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLocalExecution } from '../../src/pipeline/local-execution.js';
import { readManifest } from '../../src/lake/manifest.js';
import { loadConfig, type Config } from '../../src/core/config.js';
import { parseDay } from '../../src/core/day.js';
import { SourceUnavailableError, ValidationBreachError } from '../../src/core/errors.js';
import { seed } from '../../src/source/synthetic/load.js';
import { FsStore } from '../../src/lake/fs-store.js';
import { releaseLock } from '../../src/lake/lease.js';
import { STAGES } from '../../src/pipeline/stages.js';
import { createTestDatabase } from '../support/databases.js';
import { interceptStore } from '../support/intercepted-store.js';
import { overlapBarrier } from '../support/overlap.js';

type Handler = (event: unknown) => Promise<unknown>;

describe('local execution of the deployed definition', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let lake: string;
  let config: Config;

  beforeAll(async () => {
    database = await createTestDatabase();
    const client = new pg.Client(database.url);
    await client.connect();
    await seed(client, { from: parseDay('2025-05-01'), to: parseDay('2025-05-05'), rentalsPerDay: 500 });
    await client.end();
    lake = await mkdtemp(join(tmpdir(), 'sfn-lake-'));
    config = loadConfig({ DATABASE_URL: database.url, LAKE_URI: lake, POWERTOOLS_LOG_LEVEL: 'WARN' });
  });
  afterAll(async () => {
    await database?.drop();
    await rm(lake, { recursive: true, force: true });
  });

  it('runs a range: every day passes and is published', async () => {
    // Act
    const result = await runLocalExecution(config, { from: '2025-05-01', to: '2025-05-03' }, { concurrency: 2 });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(result.outcomes.map((o) => [o.date, o.verdict, o.writtenRows])).toEqual([
      ['2025-05-01', 'passed', 500],
      ['2025-05-02', 'passed', 500],
      ['2025-05-03', 'passed', 500],
    ]);
  });

  it('labels each log line with the day its stage works on, though the days run at once', async () => {
    // Prepare
    const lines: string[] = [];

    // Act
    const result = await runLocalExecution(
      config,
      { from: '2025-05-01', to: '2025-05-05' },
      { concurrency: 3, logLevel: 'INFO', logLine: (line) => lines.push(line) },
    );

    // Assess: validate's line names its report, under the day it published
    expect(result.status).toBe('SUCCEEDED');
    const published = lines.flatMap(
      (line) => /^\S+ validate (\S+) published .* report=_reports\/rentals\/year=(\d+)\/month=(\d+)\/day=(\d+)\//.exec(line) ?? [],
    );
    const pairs = [];
    for (let i = 0; i < published.length; i += 5) pairs.push([published[i + 1], `${published[i + 2]}-${published[i + 3]}-${published[i + 4]}`]);
    expect(pairs).toHaveLength(5);
    for (const [label, day] of pairs) expect(label).toBe(day);
  });

  it('retries a transient error and then succeeds', async () => {
    // Prepare
    let calls = 0;
    const flaky = (extract: Handler) => async (event: unknown) => {
      calls++;
      if (calls === 1) throw new SourceUnavailableError('connection reset by peer');
      return extract(event);
    };

    // Act
    const result = await runLocalExecution(config, { date: '2025-05-04' }, { concurrency: 1, retryIntervalMs: 0, handlers: { Extract: flaky } });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(calls).toBe(2);
  });

  it('retries a Lambda that timed out after taking the lock: the retry (a new run of the same execution) takes it over', async () => {
    // Prepare: the first attempt does its work, then its response is lost to a timeout
    let calls = 0;
    const timesOutOnce = (transform: Handler) => async (event: unknown) => {
      calls++;
      const result = await transform(event);
      if (calls === 1) throw Object.assign(new Error('Task timed out after 900.00 seconds'), { name: 'Sandbox.Timedout' });
      return result;
    };

    // Act
    const result = await runLocalExecution(config, { date: '2025-05-05' }, { concurrency: 1, retryIntervalMs: 0, handlers: { TransformWrite: timesOutOnce } });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(calls).toBe(2);
    expect(result.outcomes[0].writtenRows).toBe(500);
    const store = new FsStore(config.lake);
    const manifest = (await readManifest(store, parseDay('2025-05-05')))!.manifest;
    const files = (await store.list('rentals/year=2025/month=05/day=05/')).filter((o) => o.key.endsWith('.parquet')).map((o) => o.key);
    expect(files.sort()).toEqual(manifest.files.map((f) => f.key).sort());
  });

  it('retries a function that ran out of memory or time as Step Functions reports it (Lambda.Unknown)', async () => {
    // Prepare: the first extract dies the way a Lambda out of memory is reported to the state machine
    let calls = 0;
    const diesOnce = (extract: Handler) => async (event: unknown) => {
      calls++;
      if (calls === 1) throw Object.assign(new Error('Runtime exited with error: signal: killed'), { name: 'Lambda.Unknown' });
      return extract(event);
    };

    // Act
    const result = await runLocalExecution(config, { date: '2025-05-03' }, { concurrency: 1, retryIntervalMs: 0, handlers: { Extract: diesOnce } });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(calls).toBe(2);
  });

  it('fails only the day whose validation breached and lists it in the cause', async () => {
    // Prepare
    let validateCalls = 0;
    const strictOnDay2 = (validate: Handler) => async (event: unknown) => {
      validateCalls++;
      const { date, runId } = event as { date: string; runId: string };
      if (date === '2025-05-02') {
        // As the real stage does on any failure: give the day's lock back.
        await releaseLock(new FsStore(config.lake), parseDay(date), runId);
        throw new ValidationBreachError([{ check: 'quarantine_rate', expected: '<= 0.00%', actual: '1.00%' }]);
      }
      return validate(event);
    };

    // Act
    const result = await runLocalExecution(
      config,
      { from: '2025-05-01', to: '2025-05-03' },
      { concurrency: 3, retryIntervalMs: 0, handlers: { Validate: strictOnDay2 } },
    );

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('DaysFailed');
    expect(validateCalls).toBe(3);
    const failed = result.outcomes.filter((o) => o.verdict === 'failed');
    expect(failed.map((o) => o.date)).toEqual(['2025-05-02']);
    expect(failed[0].error).toMatch(/^ValidationBreachError: quarantine_rate: expected <= 0.00%, got 1.00%/);
    expect(result.outcomes.filter((o) => o.verdict === 'passed').map((o) => o.date)).toEqual(['2025-05-01', '2025-05-03']);
  });

  it('rejects bad input in Plan before any day runs', async () => {
    // Prepare
    let extracts = 0;

    // Act
    const result = await runLocalExecution(config, { date: '2025-02-30' }, { concurrency: 1, handlers: { Extract: () => async () => extracts++ } });

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('InputError');
    expect(result.cause).toMatch(/date: expected a calendar date as YYYY-MM-DD that exists/);
    expect(extracts).toBe(0);
    await expect(readdir(join(lake, 'rentals', 'year=2025', 'month=02'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('never runs more days at once than the Map concurrency', async () => {
    // Prepare
    const overlap = overlapBarrier(2);

    // Act
    const result = await runLocalExecution(
      config,
      { from: '2025-05-01', to: '2025-05-05' },
      { concurrency: 2, handlers: { Extract: (extract) => overlap.wrap(extract) } },
    );

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(overlap.peak).toBe(2);
  });

  it('two executions in one process are independent: one interrupted while the other publishes, the other publishes', async () => {
    // Prepare: execution A waits in Extract for its interruption; B's publish of its day waits
    // inside its first promotion until A has been interrupted and has given its day back.
    const stop = new AbortController();
    const aExtracting = Promise.withResolvers<void>();
    const bPublishing = Promise.withResolvers<void>();
    const aStopped = Promise.withResolvers<void>();
    const a = runLocalExecution(
      config,
      { date: '2025-05-04' },
      {
        concurrency: 1,
        signal: stop.signal,
        handlers: {
          [STAGES.extract.state]: (own) => async (event) => {
            aExtracting.resolve();
            await new Promise((resolve) => stop.signal.addEventListener('abort', resolve, { once: true }));
            return own(event);
          },
        },
      },
    );
    const lake = new FsStore(config.lake);
    const bStore = interceptStore(lake, {
      promote: async ([from, to], next) => {
        if (to.startsWith('rentals/')) {
          bPublishing.resolve();
          await aStopped.promise;
        }
        return next(from, to);
      },
    });
    const b = runLocalExecution(config, { date: '2025-05-05' }, { concurrency: 1, store: bStore });

    // Act: interrupt A once both are where they should be
    await Promise.all([aExtracting.promise, bPublishing.promise]);
    stop.abort();
    const aResult = await a;
    aStopped.resolve();
    const bResult = await b;

    // Assess: A stopped and gave its day back; B published its day
    expect(aResult.status).toBe('ABORTED');
    expect(aResult.interrupted).toEqual(['2025-05-04']);
    expect(bResult.status).toBe('SUCCEEDED');
    expect(bResult.outcomes.map((o) => [o.date, o.verdict])).toEqual([['2025-05-05', 'passed']]);
    expect((await readManifest(lake, parseDay('2025-05-05')))?.manifest.runs.at(-1)?.publishedAt).toBeDefined();
    expect(await lake.list('_locks/')).toEqual([]);
  });
});
