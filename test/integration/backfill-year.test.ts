/**
 * A 365-day backfill through the deployed state machine definition, run locally: every day is
 * published, at most `concurrency` days run at once, and the Map's result for a year stays far
 * under Step Functions' 256 KB payload limit.
 */
import { describe, expect } from 'vitest';
import { runLocalExecution } from '../../src/pipeline/local-execution.js';
import { loadConfig, type Config } from '../../src/core/config.js';
import { daysBetween, parseDay } from '../../src/core/day.js';
import { FsStore } from '../../src/lake/fs-store.js';
import { readManifest } from '../../src/lake/manifest.js';
import { seededLakeTest } from '../support/seeded-lake.js';

const FROM = parseDay('2024-01-01');
const TO = parseDay('2024-12-30');
const CONCURRENCY = 8;
const it = seededLakeTest('year', [{ from: FROM, to: TO, rentalsPerDay: 20, users: 50, bikes: 20 }]);

describe('a year-long backfill', () => {
  let config: Config;

  it.beforeAll(async ({ source }) => {
    // Days of 20 rows cannot meet rates meant for real days.
    config = loadConfig({
      DATABASE_URL: source.databaseUrl,
      LAKE_URI: source.lake,
      QUALITY_MAX_QUARANTINE_RATE: '1',
      QUALITY_MAX_NULL_RATE: '1',
      QUALITY_MAX_NEGATIVE_DURATION_RATE: '1',
      QUALITY_MAX_NEGATIVE_COST_RATE: '1',
    });
  }, 120_000);

  it(`publishes all 365 days with at most ${CONCURRENCY} in flight`, async () => {
    // Prepare
    let inFlight = 0;
    let peak = 0;
    const counted = (extract: (event: unknown) => Promise<unknown>) => async (event: unknown) => {
      peak = Math.max(peak, ++inFlight);
      try {
        return await extract(event);
      } finally {
        inFlight--;
      }
    };

    // Act
    const result = await runLocalExecution(config, { from: FROM.iso, to: TO.iso }, { concurrency: CONCURRENCY, handlers: { Extract: counted } });

    // Assess
    const days = daysBetween(FROM, TO);
    expect(days).toHaveLength(365);
    const failed = result.outcomes.filter((o) => o.verdict !== 'passed').slice(0, 3);
    expect(result.status, JSON.stringify({ error: result.error, cause: result.cause?.slice(0, 300), failed })).toBe('SUCCEEDED');
    expect(result.outcomes.filter((o) => o.verdict === 'passed')).toHaveLength(365);
    expect(peak).toBeLessThanOrEqual(CONCURRENCY);
    expect(peak).toBeGreaterThan(1);
    const store = new FsStore(config.lake);
    const manifests = await Promise.all(days.map((d) => readManifest(store, d)));
    expect(manifests.every((m) => m?.manifest.rows === 20)).toBe(true);
    // What the Map returns per day ({ date, status, rows }) for a year, against the 256 KB limit.
    const mapResult = JSON.stringify({ days: result.outcomes.map((o) => ({ date: o.date, status: o.verdict, rows: o.writtenRows })), anyFailed: false });
    expect(mapResult.length).toBeLessThan((256 * 1024) / 10);
  }, 600_000);
});
