/**
 * A local run's extract and transform-write of a range at once (`transform-write/overlap.ts`): the
 * Parquet files are written while extract still reads the rows, the staging object is written but
 * not read back, and the day published is the one the stages run one after the other publish.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLakeUri } from '../../src/core/config.js';
import { parseDay } from '../../src/core/day.js';
import { StoreError } from '../../src/core/errors.js';
import { FsStore } from '../../src/lake/fs-store.js';
import { readManifest } from '../../src/lake/manifest.js';
import { STAGES } from '../../src/pipeline/stages.js';
import { seed } from '../../src/source/synthetic/load.js';
import { createTestDatabase } from '../support/databases.js';
import { interceptStore } from '../support/intercepted-store.js';
import { duckdbAggregate } from '../support/lake-readers.js';
import { DayFailedError, runDay } from '../support/run-day.js';
import { sourceAggregate } from '../support/source.js';

const DAY = parseDay('2025-08-01');
const ROWS = 6_000;

describe('a local run overlaps extract and transform-write', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let client: pg.Client;
  const roots: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    client = new pg.Client(database.url);
    await client.connect();
    await seed(client, { from: DAY, to: DAY, rentalsPerDay: ROWS, seed: 8 });
  });

  afterAll(async () => {
    await client?.end();
    await database?.drop();
    for (const root of roots) await rm(root, { recursive: true, force: true });
  });

  /** Runs the day on a fresh lake; what happened, in order, and what was published. */
  async function run(overlap: boolean) {
    const root = await mkdtemp(join(tmpdir(), 'overlap-'));
    roots.push(root);
    const lake = new FsStore(parseLakeUri(root));
    const events: string[] = [];
    const store = interceptStore(lake, {
      upload: (args, next) => {
        if (/part-.*\.parquet$/.test(args[0])) events.push('data file');
        return next(...args);
      },
      readStream: (args, next) => {
        if (/rentals\.arrows$/.test(args[0])) events.push('staging read');
        return next(...args);
      },
    });
    const extracted = (own: (event: unknown) => Promise<unknown>) => async (event: unknown) => {
      const output = await own(event);
      events.push('extracted');
      return output;
    };
    const validated = await runDay(store, database.url, DAY, { owner: `overlap-${overlap}`, overlap, wrap: { [STAGES.extract.state]: extracted } });
    const manifest = (await readManifest(lake, DAY))!.manifest;
    const aggregate = await duckdbAggregate(manifest.files.map((f) => join(root, f.key)));
    return { events, validated, manifest, aggregate };
  }

  it('writes the Parquet files while extract reads, never reads the staging back, and publishes the same day', async () => {
    // Act
    const overlapped = await run(true);
    const apart = await run(false);

    // Assess: the files were written before extract was done (ROWS_PER_FILE is 1,024 rows), from batches handed over
    expect(overlapped.events.indexOf('data file')).toBeLessThan(overlapped.events.indexOf('extracted'));
    expect(overlapped.events).not.toContain('staging read');
    expect(apart.events.indexOf('extracted')).toBeLessThan(apart.events.indexOf('data file'));
    expect(apart.events).toContain('staging read');
    // ...and the same day: rows, files, checks, and what a reader sees equal the source
    expect(overlapped.manifest.rows).toBe(ROWS);
    expect(overlapped.manifest.files.map((f) => f.rows)).toEqual(apart.manifest.files.map((f) => f.rows));
    expect(overlapped.aggregate).toEqual(await sourceAggregate(client, DAY.iso));
    expect(overlapped.aggregate).toEqual(apart.aggregate);
    const checked = ({ sourceCount, rows, files, quarantined, warnings }: typeof apart.validated) => ({ sourceCount, rows, files, quarantined, warnings });
    expect(checked(overlapped.validated)).toEqual(checked(apart.validated));
    expect(overlapped.validated.quarantined).toBeGreaterThan(0);
  });

  it('a transform that fails while extract still reads does not hold extract up: the day fails and leaves no staging', async () => {
    // Prepare: every data-file upload fails, with many more batches (100 rows each) than extract may be ahead
    const root = await mkdtemp(join(tmpdir(), 'overlap-'));
    roots.push(root);
    const lake = new FsStore(parseLakeUri(root));
    const store = interceptStore(lake, {
      upload: (args, next) => (/part-.*\.parquet$/.test(args[0]) ? Promise.reject(new StoreError('injected: data file refused')) : next(...args)),
    });

    // Act
    const failure = await runDay(store, database.url, DAY, { owner: 'overlap-failing', batchRows: 100 }).catch((e: unknown) => e);

    // Assess
    expect(failure).toBeInstanceOf(DayFailedError);
    expect((failure as Error).message).toMatch(/data file refused/);
    expect(await readManifest(lake, DAY)).toBeUndefined();
    expect(await lake.list('_staging/')).toEqual([]);
  });
});
