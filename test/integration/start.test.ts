/**
 * `npm start` against a given database and lake: the first run seeds the empty source and
 * publishes 14 days; the second finds them all up to date and does no work. Each ends by writing
 * the HTML report of the days.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { DEMO_DAYS, DEMO_RENTALS_PER_DAY } from '../../cli/commands/start.js';
import { DEFAULT_REPORT_FILE } from '../../src/monitor/report/index.js';
import type { ReportData } from '../../src/monitor/report/sections.js';
import { createTestDatabase } from '../support/databases.js';

describe('etl start', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let lake: string;
  /** The report `npm start` writes into the working directory. */
  let report: string | undefined;

  beforeAll(async () => {
    database = await createTestDatabase();
    lake = await mkdtemp(join(tmpdir(), 'start-'));
  });
  afterAll(async () => {
    await database?.drop();
    await rm(lake, { recursive: true, force: true });
    if (report) await rm(report, { force: true });
  });

  const start = async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['start'], { DATABASE_URL: database.url, LAKE_URI: lake }, { out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  it('seeds an empty source, publishes every day, then finds them up to date', async () => {
    // Act
    const first = await start();
    const second = await start();

    // Assess
    expect(first.code, first.err).toBe(0);
    expect(first.err).toMatch(new RegExp(`source is empty: seeding ${DEMO_DAYS} days`));
    const total = (DEMO_DAYS * DEMO_RENTALS_PER_DAY).toLocaleString('en-US');
    expect(first.out).toMatch(new RegExp(`total\\s+${total}\\s+${total}`));
    expect(first.out).toMatch(new RegExp(`${DEMO_DAYS}/${DEMO_DAYS} ok`));
    expect(first.out).toMatch(
      /duckdb -c "SELECT .* FROM read_parquet\('.*rentals\/\*\/\*\/\*\/\*\.parquet', hive_partitioning = true, hive_types = \{'year': INTEGER, 'month': INTEGER, 'day': INTEGER\}\)/,
    );
    expect(second.code).toBe(0);
    expect(second.err).toMatch(new RegExp(`${DEMO_DAYS} up to date, 0 to run`));
    expect(second.out.match(/skipped \(published and up to date\)/g)).toHaveLength(DEMO_DAYS);
    report = /^The data-quality report of these days, one page to open in a browser: (.+)$/m.exec(second.out)?.[1];
    expect(report).toBe(resolve(DEFAULT_REPORT_FILE));
    const data = JSON.parse(/<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(await readFile(report!, 'utf8'))![1]) as ReportData;
    expect(data.sections.find((s) => s.id === 'rows')?.tables[0].rows.map((r) => r[1])).toEqual(Array(DEMO_DAYS).fill(DEMO_RENTALS_PER_DAY));
    // The second run's total quarantined is what the lake holds, as the first run's was.
    const quarantinedTotal = (out: string) => /^total(?:\s{2,}\S+){2}\s{2,}(\S+)/m.exec(out)?.[1];
    expect(quarantinedTotal(first.out)).toMatch(/^[1-9][\d,]*$/);
    expect(quarantinedTotal(second.out)).toBe(quarantinedTotal(first.out));
    // Every day with a day before in the source has its day-over-day change, however the days were scheduled.
    const changes = data.sections.find((s) => s.id === 'day-over-day')!.chart.datasets[0].data;
    expect(changes.slice(1).every((v) => typeof v === 'number')).toBe(true);
  }, 180_000);
});
