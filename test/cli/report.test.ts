/**
 * `etl report` on an S3 lake: the same page as on a local one, with the rows of each day from its
 * manifest and the top spenders read from the published Parquet through ranged reads. (The page
 * in a browser, on a local lake: test/browser/report.test.ts.)
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { loadConfig } from '../../src/core/config.js';
import { parseDay } from '../../src/core/day.js';
import { readManifest } from '../../src/lake/manifest.js';
import { openStore } from '../../src/lake/open.js';
import type { ObjectStore } from '../../src/lake/store.js';
import type { ReportData } from '../../src/monitor/report/sections.js';
import { seed } from '../../src/source/synthetic/load.js';
import { capture } from '../support/capture.js';
import { createTestDatabase } from '../support/databases.js';
import { runDay } from '../support/run-day.js';
import { createBucket, s3Endpoint, s3Env, useS3Credentials } from '../support/s3.js';

const DAYS = ['2025-05-01', '2025-05-02'];

describe('etl report flags', () => {
  it('takes a range, not a single day, and names the missing end of a range', async () => {
    // Prepare
    const { err, io } = capture();

    // Act
    const single = await main(['report', '--date', '2025-05-01'], {}, io);
    const open = await main(['report', '--from', '2025-05-01'], {}, io);

    // Assess
    expect([single, open]).toEqual([2, 2]);
    expect(err[0]).toMatch(/^etl: Unknown option '--date'/);
    expect(err[1]).toMatch(/^etl: .*\bto\b/);
  });
});

describe.skipIf(!s3Endpoint)('etl report on an S3 lake', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let env: NodeJS.ProcessEnv;
  let store: ObjectStore;
  let scratch: string;

  beforeAll(async () => {
    useS3Credentials(s3Endpoint!);
    database = await createTestDatabase();
    const client = new pg.Client(database.url);
    await client.connect();
    await seed(client, { from: parseDay(DAYS[0]), to: parseDay(DAYS[1]), rentalsPerDay: 500, seed: 5 });
    await client.end();
    env = { ...s3Env(s3Endpoint!), LAKE_URI: `s3://${await createBucket(s3Endpoint!)}/lake` };
    store = await openStore(loadConfig(env));
    for (const date of DAYS) await runDay(store, database.url, parseDay(date));
    scratch = await mkdtemp(join(tmpdir(), 's3-report-'));
  }, 120_000);

  afterAll(async () => {
    await database?.drop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('writes the page of the S3 lake: rows and bytes from its manifests, top spenders from its Parquet', async () => {
    // Prepare
    const { out, io } = capture();
    const file = join(scratch, 'report.html');
    const manifests = await Promise.all(DAYS.map(async (date) => (await readManifest(store, parseDay(date)))!.manifest));

    // Act
    const code = await main(['report', '--out', file], env, io);

    // Assess
    expect(code).toBe(0);
    expect(out).toEqual([file]);
    const html = await readFile(file, 'utf8');
    const data = JSON.parse(/<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(html)![1]) as ReportData;
    const section = (id: string) => data.sections.find((s) => s.id === id)!;
    expect(data.lake).toBe(env.LAKE_URI);
    expect(section('rows').tables[0].rows.map((r) => r.slice(0, 4))).toEqual(
      manifests.map((m) => [m.date, m.rows, m.files.length, m.files.reduce((s, f) => s + f.bytes, 0)]),
    );
    const spenders = section('top-users').tables[0].rows;
    expect(spenders).toHaveLength(10);
    expect(spenders.every(([, , name, , rentals]) => typeof name === 'string' && name !== '-' && Number(rentals) > 0)).toBe(true);
    expect(html).toContain('Chart.js v4');
  });
});
