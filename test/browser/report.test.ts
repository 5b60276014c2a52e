/**
 * `etl report` opened in a real browser (Debian's headless Chromium, driven by puppeteer-core):
 * the page loads without a console error, every chart is drawn with data, and every number in its
 * tables is the one the lake's manifests and reports hold (the top spenders: what DuckDB reads
 * from the published Parquet). In CI the browser must be there; elsewhere the suite is skipped,
 * saying why, when it is not.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import pg from 'pg';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { loadConfig } from '../../src/core/config.js';
import { daysBetween, parseDay } from '../../src/core/day.js';
import type { PartitionManifest } from '../../src/lake/manifest.js';
import { openStore } from '../../src/lake/open.js';
import type { ValidationReport } from '../../src/lake/report-record.js';
import { seed } from '../../src/source/synthetic/load.js';
import { createTestDatabase } from '../support/databases.js';
import { runDay } from '../support/run-day.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SKIP = existsSync(CHROMIUM) || process.env.CI ? undefined : `no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`;
if (SKIP) console.warn(`[report browser test] SKIPPED: ${SKIP}. CI runs it.`);

const DAYS = daysBetween(parseDay('2025-04-01'), parseDay('2025-04-05')).map((d) => d.iso);
const FAILING_DAY = '2025-04-03';

/** A chart as the page's Chart.js holds it (the test compiles without the DOM library). */
interface ChartLike {
  data: { labels: unknown[]; datasets: { data: unknown[] }[] };
  getDatasetMeta(i: number): { data: unknown[] };
}
interface CanvasLike {
  id: string;
  width: number;
  height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } };
}
interface PageGlobals {
  document: { querySelectorAll(selector: string): Iterable<CanvasLike> };
  Chart: { getChart(canvas: CanvasLike): ChartLike | undefined };
}

/** The cells of every table of the page, by its `data-table` name. */
async function pageTables(page: Page): Promise<Record<string, { head: string[]; rows: string[][] }>> {
  return page.$$eval('table[data-table]', (tables) =>
    Object.fromEntries(
      tables.map((t) => [
        t.getAttribute('data-table'),
        {
          head: [...t.querySelectorAll('thead th')].map((th) => th.textContent ?? ''),
          rows: [...t.querySelectorAll('tbody tr')]
            .filter((tr) => !tr.querySelector('td.empty'))
            .map((tr) => [...tr.children].map((td) => td.textContent ?? '')),
        },
      ]),
    ),
  );
}

const num = (n: number) => n.toLocaleString('en-US');
const pct = (part: number, whole: number) => `${((whole === 0 ? 0 : part / whole) * 100).toFixed(2)}%`;
const secs = (ms: number) => (Math.round(ms / 10) / 100).toFixed(2);

describe.skipIf(SKIP)('the HTML report in a browser', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let lake: string;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];
  const manifests = new Map<string, PartitionManifest>();
  const reports = new Map<string, ValidationReport[]>();

  /** A day's reports of the publishing kind, oldest first, and the latest of them. */
  const publishReports = (date: string) => (reports.get(date) ?? []).filter((r) => r.kind === 'publish');
  const latest = (date: string) => publishReports(date).at(-1)!;

  beforeAll(async () => {
    database = await createTestDatabase();
    const client = new pg.Client(database.url);
    await client.connect();
    await seed(client, { from: parseDay(DAYS[0]), to: parseDay(DAYS.at(-1)!), rentalsPerDay: 600, seed: 3, errorRate: 0.03 });
    await client.end();
    lake = await mkdtemp(join(tmpdir(), 'report-'));
    const store = await openStore(loadConfig({ LAKE_URI: lake }));
    for (const date of DAYS) await runDay(store, database.url, parseDay(date));
    await expect(runDay(store, database.url, parseDay(FAILING_DAY), { thresholds: { maxQuarantineRate: 0 } })).rejects.toThrow();
    for (const date of DAYS) {
      const path = date.replace(/^(\d{4})-(\d{2})-(\d{2})$/, 'year=$1/month=$2/day=$3');
      manifests.set(date, JSON.parse(await readFile(join(lake, `_manifests/rentals/${path}.json`), 'utf8')));
      const keys = (await store.list(`_reports/rentals/${path}/`)).map((o) => o.key).sort();
      reports.set(date, await Promise.all(keys.map(async (key) => JSON.parse(await readFile(join(lake, key), 'utf8')) as ValidationReport)));
    }
    const out: string[] = [];
    const err: string[] = [];
    const file = join(lake, '..', `${lake.split('/').at(-1)}.html`);
    const code = await main(
      ['report', '--from', DAYS[0], '--to', DAYS.at(-1)!, '--out', file],
      { LAKE_URI: lake },
      { out: (l) => out.push(l), err: (l) => err.push(l) },
    );
    expect(code, err.join('\n')).toBe(0);
    expect(out).toEqual([file]);

    browser = await puppeteer.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(String(error)));
    page.on('requestfailed', (request) => errors.push(`request failed: ${request.url()}`));
    await page.setViewport({ width: 1400, height: 1000 });
    await page.goto(`file://${file}`, { waitUntil: 'load' });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await database?.drop();
    if (lake) await rm(lake, { recursive: true, force: true });
    if (lake) await rm(`${lake}.html`, { force: true });
  });

  it('loads offline without a console error', async () => {
    // Act
    const scripts = await page.$$eval('script[src], link[href]', (elements) => elements.length);

    // Assess
    expect(errors).toEqual([]);
    expect(scripts).toBe(0);
  });

  it('draws every chart, each with data and paint on its canvas', async () => {
    // Act
    const charts = await page.evaluate(() => {
      const { document, Chart } = globalThis as unknown as PageGlobals;
      return [...document.querySelectorAll('canvas')].map((canvas) => {
        const chart = Chart.getChart(canvas);
        const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let painted = 0;
        for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) painted++;
        return {
          id: canvas.id,
          labels: chart?.data.labels.length ?? 0,
          values: chart?.data.datasets.flatMap((d) => d.data.filter((v) => typeof v === 'number' && Number.isFinite(v))).length ?? 0,
          elements: chart?.data.datasets.reduce((n, _, i) => n + chart.getDatasetMeta(i).data.length, 0) ?? 0,
          painted: painted / (canvas.width * canvas.height),
        };
      });
    });

    // Assess
    expect(charts.map((c) => c.id)).toEqual(
      ['rows', 'quarantine', 'null-rate', 'duplicates', 'negatives', 'day-over-day', 'freshness', 'durations', 'success', 'top-users'].map(
        (id) => `chart-${id}`,
      ),
    );
    for (const chart of charts) {
      expect(chart.labels, chart.id).toBeGreaterThan(0);
      expect(chart.values, chart.id).toBeGreaterThan(0);
      expect(chart.elements, chart.id).toBeGreaterThan(0);
      expect(chart.painted, chart.id).toBeGreaterThan(0.01);
    }
  });

  it('shows the rows, files, bytes and quarantine of each day as the manifests and reports hold them', async () => {
    // Prepare
    const reasons = [...new Set(DAYS.flatMap((d) => Object.keys(latest(d).metrics!.rejectReasons)))].sort();

    // Act
    const tables = await pageTables(page);

    // Assess
    expect(tables.rows.rows).toEqual(
      DAYS.map((d) => {
        const m = manifests.get(d)!;
        return [d, num(m.rows), num(m.files.length), num(m.files.reduce((s, f) => s + f.bytes, 0)), num(m.runs.at(-1)!.sourceCount)];
      }),
    );
    expect(reasons.length).toBeGreaterThan(0);
    expect(tables.quarantine.head).toEqual(['date', ...reasons, 'quarantined', 'rate']);
    expect(tables.quarantine.rows).toEqual(
      DAYS.map((d) => {
        const r = latest(d);
        return [d, ...reasons.map((reason) => num(r.metrics!.rejectReasons[reason] ?? 0)), num(r.quarantined), pct(r.quarantined, r.metrics!.rows)];
      }),
    );
    expect(await page.$eval('[data-fact="rows"]', (e) => e.textContent)).toBe(num(DAYS.reduce((s, d) => s + manifests.get(d)!.rows, 0)));
    expect(await page.$eval('[data-fact="runs"]', (e) => e.textContent)).toBe(`${DAYS.length + 1} (1 failed validation)`);
  });

  it('shows the NULL rates, duplicate ids, negatives and day-over-day changes the reports measured', async () => {
    // Prepare
    const measured = DAYS.map(latest);
    const columns = Object.keys(measured[0].metrics!.nullCounts);
    const rows = measured.reduce((s, r) => s + r.metrics!.rows, 0);
    const limit = (r: ValidationReport, check: string) => r.checks.find((c) => c.check === check)?.expected.replace(/^<= /, '');

    // Act
    const tables = await pageTables(page);

    // Assess
    expect(tables['null-rate'].rows).toEqual(
      columns.map((c) => {
        const nulls = measured.reduce((s, r) => s + (r.metrics!.nullCounts[c] ?? 0), 0);
        return [c, num(nulls), num(rows), pct(nulls, rows), limit(measured[0], `null_rate.${c}`) ?? 'not nullable'];
      }),
    );
    expect(tables['null-rate'].rows.some((r) => r[1] !== '0')).toBe(true);
    expect(tables.duplicates.rows).toEqual(DAYS.map((d) => [d, num(latest(d).metrics!.duplicateIds), limit(latest(d), 'duplicate_rental_id')]));
    expect(tables.negatives.rows).toEqual(
      DAYS.map((d) => {
        const m = latest(d).metrics!;
        return [d, num(m.negativeDurations), pct(m.negativeDurations, m.rows), num(m.negativeCosts), pct(m.negativeCosts, m.rows)];
      }),
    );
    const changed = DAYS.filter((d) => latest(d).checks.some((c) => c.check === 'day_over_day_change'));
    expect(changed).toEqual(DAYS.slice(1));
    expect(tables['day-over-day'].rows).toEqual(
      changed.map((d) => {
        const r = latest(d);
        const check = r.checks.find((c) => c.check === 'day_over_day_change')!;
        const before = manifests.get(DAYS[DAYS.indexOf(d) - 1])!.rows;
        return [d, num(r.rows), num(before), check.actual, check.expected.match(/^<= ([\d.]+%)/)![1], check.passed ? 'ok' : 'warning'];
      }),
    );
  });

  it('shows freshness, stage durations, runs and failures with their reasons', async () => {
    // Prepare
    const runStart = (runId: string) => Date.parse(runId.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z.*$/, '$1-$2-$3T$4:$5:$6.$7Z'));
    const failed = publishReports(FAILING_DAY).at(-1)!;

    // Act
    const tables = await pageTables(page);

    // Assess
    expect(tables.freshness.rows).toEqual(
      DAYS.map((d) => {
        const run = manifests.get(d)!.runs.at(-1)!;
        return [d, run.sourceSnapshotAt, run.publishedAt, secs(Date.parse(run.publishedAt) - Date.parse(run.sourceSnapshotAt))];
      }),
    );
    const durations = tables.durations.rows.map(([date, runId, , , , total]) => ({ date, runId, total: Number(total) }));
    expect(durations.map((r) => [r.date, r.runId])).toEqual(DAYS.flatMap((d) => publishReports(d).map((r) => [d, r.runId])));
    for (const row of durations) {
      const published = manifests.get(row.date)!.runs.find((r) => r.runId === row.runId);
      const report = publishReports(row.date).find((r) => r.runId === row.runId)!;
      const end = published ? Date.parse(published.publishedAt) : Date.parse(report.checkedAt);
      expect(Math.abs(row.total - (end - runStart(row.runId)) / 1000), row.runId).toBeLessThanOrEqual(0.02);
    }
    expect(tables.success.rows).toEqual(
      DAYS.map((d) => {
        const runs = publishReports(d);
        const ok = runs.filter((r) => r.verdict === 'passed').length;
        return [d, num(runs.length), num(ok), num(runs.length - ok), pct(ok, runs.length)];
      }),
    );
    const quarantine = failed.checks.find((c) => c.check === 'quarantine_rate')!;
    expect(tables['success-1'].rows).toEqual([[FAILING_DAY, failed.runId, 'publish', `quarantine_rate: ${quarantine.actual} (expected <= 0.00%)`]]);
  });

  it('shows the top spenders as DuckDB reads them from the published Parquet and the users snapshot', async () => {
    // Prepare
    const files = DAYS.flatMap((d) => manifests.get(d)!.files.map((f) => `'${join(lake, f.key)}'`));
    const instance = await DuckDBInstance.create(':memory:');
    const db = await instance.connect();
    const result = await db.runAndReadAll(
      `SELECT r.user_id::VARCHAR AS id, u.first_name || ' ' || u.last_name AS name, coalesce(u.city, '-') AS city, count(*)::INTEGER AS rentals,
              coalesce(sum(r.rent_cost), 0)::VARCHAR AS spend
       FROM read_parquet([${files.join(', ')}]) r LEFT JOIN read_parquet('${join(lake, 'users/data.parquet')}') u USING (user_id)
       GROUP BY r.user_id, u.first_name, u.last_name, u.city ORDER BY sum(r.rent_cost) DESC NULLS LAST, r.user_id LIMIT 10`,
    );
    const expected = (result.getRowObjectsJS() as { id: string; name: string; city: string; rentals: number; spend: string }[]).map((r, i) => [
      String(i + 1),
      r.id,
      r.name,
      r.city,
      num(r.rentals),
      Number(r.spend).toFixed(2),
    ]);
    db.closeSync();
    instance.closeSync();

    // Act
    const tables = await pageTables(page);

    // Assess
    expect(expected).toHaveLength(10);
    expect(tables['top-users'].rows).toEqual(expected);
  });
});
