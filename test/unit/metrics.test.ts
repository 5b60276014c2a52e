/**
 * The pipeline's metrics as CloudWatch reads them: one EMF record on stdout per Lambda invocation,
 * in namespace `PgLakeEtl` with the dimensions `service` and `stage`, the counts of the stage's
 * output, its duration, and the day and run as properties. Read from what the handler prints.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openStore } from '../../src/lake/open.js';
import type { TransformOutput, ValidateOutput } from '../../src/pipeline/contracts.js';
import { lambdaHandler } from '../../src/pipeline/handler.js';
import { METRIC, METRICS_NAMESPACE, STAGE_MEASURES, stageMetrics } from '../../src/pipeline/metrics.js';
import { stage as releaseDay } from '../../src/pipeline/release-day/index.js';
import { STAGE_LIST } from '../../src/pipeline/stages.js';

interface Emf {
  _aws: { Timestamp: number; CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
  [key: string]: unknown;
}

const RUN = '20250302T013000000Z-0a1b2c3d';
const ENV = { POWERTOOLS_SERVICE_NAME: 'PgLakeEtl-test' };
let printed: string[];
let lake: string;

beforeEach(() => {
  printed = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    printed.push(String(chunk));
    return true;
  });
  lake = mkdtempSync(join(tmpdir(), 'metrics-lake-'));
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(lake, { recursive: true, force: true });
});

/** The EMF records printed so far. */
function records(): Emf[] {
  return printed
    .join('')
    .split('\n')
    .filter((line) => line.startsWith('{') && line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as Emf);
}

/** A record's metric names with their units, and its values by name. */
function metricsOf(record: Emf): Record<string, { unit: string; value: unknown }> {
  return Object.fromEntries(record._aws.CloudWatchMetrics[0].Metrics.map((m) => [m.Name, { unit: m.Unit, value: record[m.Name] }]));
}

describe('metrics at the Lambda handler', () => {
  it("a real handler (release-day) prints one EMF record per invocation: the failed day, its duration, the day's properties", async () => {
    // Arrange
    const handler = lambdaHandler(releaseDay, { lake: openStore }, { ...ENV, LAKE_URI: lake, POWERTOOLS_LOG_LEVEL: 'ERROR' });
    // Act
    await handler({ date: '2025-03-01', runId: RUN });
    // Assess
    const [record, ...more] = records();
    expect(more).toEqual([]);
    expect(record._aws.CloudWatchMetrics).toEqual([
      { Namespace: METRICS_NAMESPACE, Dimensions: [['service', 'stage']], Metrics: expect.arrayContaining([{ Name: METRIC.daysFailed, Unit: 'Count' }]) },
    ]);
    expect(record).toMatchObject({ service: 'PgLakeEtl-test', stage: 'release-day', date: '2025-03-01', runId: RUN, outcome: 'ok', [METRIC.daysFailed]: 1 });
    expect(metricsOf(record)[METRIC.stageDuration]).toEqual({ unit: 'Milliseconds', value: expect.any(Number) });
  });

  it('validate: a published day with its rows, quarantined rows, files, bytes, publish window and duration', async () => {
    // Arrange
    const output: ValidateOutput = {
      runId: RUN,
      date: '2025-03-01',
      verdict: 'passed',
      sourceCount: 1_000,
      rows: 990,
      partitionRows: 990,
      files: 2,
      bytes: 123_456,
      quarantined: 10,
      warnings: [],
      reportKey: `_reports/rentals/year=2025/month=03/day=01/${RUN}.json`,
      removed: 0,
      publishWindowMs: 42,
      seconds: 1.5,
    };
    const measured = stageMetrics('validate', ENV);
    // Act
    await measured({ date: '2025-03-01', runId: RUN }, async () => output);
    // Assess
    const [record] = records();
    expect(metricsOf(record)).toEqual({
      [METRIC.daysPublished]: { unit: 'Count', value: 1 },
      [METRIC.rows]: { unit: 'Count', value: 990 },
      [METRIC.quarantinedRows]: { unit: 'Count', value: 10 },
      [METRIC.files]: { unit: 'Count', value: 2 },
      [METRIC.bytes]: { unit: 'Bytes', value: 123_456 },
      [METRIC.publishWindow]: { unit: 'Milliseconds', value: 42 },
      [METRIC.stageDuration]: { unit: 'Milliseconds', value: expect.any(Number) },
    });
    expect(record).toMatchObject({ service: 'PgLakeEtl-test', stage: 'validate', date: '2025-03-01', runId: RUN, outcome: 'ok' });
  });

  it("transform-write: a range's rows, quarantined rows, files and bytes", async () => {
    // Arrange
    const output = {
      runId: RUN,
      hours: { from: 0, to: 24 },
      sourceCount: 100,
      snapshotAt: '2025-03-02T01:30:00.000Z',
      files: [
        { key: 'a', rows: 60, bytes: 1_000 },
        { key: 'b', rows: 38, bytes: 700 },
      ],
      metrics: { rows: 98, nullCounts: {}, negativeDurations: 0, negativeCosts: 0, quarantined: 3, excluded: 2, rejectReasons: {} },
      schemaFingerprint: 'f',
      seconds: 1,
    } as TransformOutput;
    // Act
    await stageMetrics('transform-write', ENV)({ date: '2025-03-01', runId: RUN, hours: { from: 0, to: 24 } }, async () => output);
    // Assess
    expect(metricsOf(records()[0])).toMatchObject({
      [METRIC.rows]: { value: 98 },
      [METRIC.quarantinedRows]: { value: 3 },
      [METRIC.files]: { value: 2 },
      [METRIC.bytes]: { unit: 'Bytes', value: 1_700 },
    });
    expect(records()[0]).toMatchObject({ hours: '{"from":0,"to":24}' });
  });

  it('a failed invocation rethrows its error and still prints its duration, as an error', async () => {
    // Arrange
    const measured = stageMetrics('extract', ENV);
    const failure = new Error('source unreachable');
    // Act
    const outcome = measured({ date: '2025-03-01', runId: RUN }, async () => Promise.reject(failure));
    // Assess
    await expect(outcome).rejects.toBe(failure);
    const [record] = records();
    expect(Object.keys(metricsOf(record))).toEqual([METRIC.stageDuration]);
    expect(record).toMatchObject({ stage: 'extract', date: '2025-03-01', outcome: 'error' });
  });

  it('knows the measures of every stage of the registry, and refuses a stage it does not know at cold start', () => {
    expect(Object.keys(STAGE_MEASURES).sort()).toEqual(STAGE_LIST.map((s) => s.name).sort());
    expect(() => stageMetrics('no-such-stage', ENV)).toThrow(/no-such-stage has no entry in STAGE_MEASURES/);
  });
});
