/**
 * Step Functions' limits on an execution's data (256 KiB per state output, 32,768 characters per
 * Fail cause), driven through the deployed definition by the local executor, which enforces them as
 * AWS does: a 10-year backfill ends as `DaysFailed` naming every failed day however many fail, and
 * an output over the limit fails the execution with `States.DataLimitExceeded`.
 *
 * The days run with stand-in stages (no database, no lake): a day fails at PlanDay with a terminal
 * error whose message is long, or passes with stages that return what the next state needs.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/core/config.js';
import { daysBetween, parseDay } from '../../src/core/day.js';
import { TerminalError } from '../../src/core/errors.js';
import { DATA_LIMIT_EXCEEDED, failedDaysOf, MAX_LISTED_DAYS, STEP_FUNCTIONS_LIMITS } from '../../src/pipeline/definition.js';
import { runLocalExecution, type LocalExecutionOptions } from '../../src/pipeline/local-execution.js';
import { MAX_DAYS_PER_EXECUTION } from '../../src/pipeline/plan/plan.js';
import { STAGES } from '../../src/pipeline/stages.js';

/** A terminal error as a stage might throw it, with a message as long as a stack of causes. */
class SourceGoneError extends TerminalError {}
const LONG_MESSAGE = `relation "rentals" does not exist; ${'x'.repeat(10_000)}`;

const FROM = '2015-01-02';
const TO = '2025-01-08';
const ALL_DAYS = daysBetween(parseDay(FROM), parseDay(TO)).map((d) => d.iso);

/** Stand-in stages: `failing` days fail at PlanDay, the others pass with 7 rows. */
function standIns(failing: (date: string) => boolean): LocalExecutionOptions['handlers'] {
  const dateOf = (event: unknown) => (event as { date: string }).date;
  return {
    [STAGES.snapshot.state]: () => async () => ({ runId: '20250101T000000000Z-0a1b2c3d', snapshotAt: '2025-01-09T00:00:00.000Z', tables: {}, seconds: 0 }),
    [STAGES.planDay.state]: () => async (event) => {
      const date = dateOf(event);
      if (failing(date)) throw new SourceGoneError(LONG_MESSAGE);
      return { date, mode: 'overwrite', owner: 'test', runId: '20250101T000000000Z-0a1b2c3d', ranges: [{ from: 0, to: 24 }] };
    },
    [STAGES.extract.state]: () => async () => ({}),
    [STAGES.transformWrite.state]: () => async () => ({}),
    [STAGES.validate.state]: () => async (event) => ({ date: dateOf(event), rows: 7 }),
  };
}

describe("an execution's data within Step Functions' limits", () => {
  let lake: string;
  let config: Config;

  beforeAll(async () => {
    lake = await mkdtemp(join(tmpdir(), 'limits-lake-'));
    config = loadConfig({ DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', LAKE_URI: lake });
  });
  afterAll(async () => {
    await rm(lake, { recursive: true, force: true });
  });

  it.each([
    ['every day fails', () => true, MAX_DAYS_PER_EXECUTION],
    ['2,440 days fail, more than the cause lists', (date: string) => ALL_DAYS.indexOf(date) % 3 !== 0, 2_440],
    ['1,830 days fail, as many as the cause lists', (date: string) => ALL_DAYS.indexOf(date) % 2 === 0, MAX_LISTED_DAYS],
  ])('%s: a 3,660-day backfill ends as DaysFailed naming every failed day', async (_, failing, failedCount) => {
    // Act
    const result = await runLocalExecution(config, { from: FROM, to: TO }, { concurrency: 40, logLine: () => undefined, handlers: standIns(failing) });

    // Assess: the execution failed as DaysFailed (not States.DataLimitExceeded), its cause within the limit
    expect(ALL_DAYS).toHaveLength(MAX_DAYS_PER_EXECUTION);
    expect(result).toMatchObject({ status: 'FAILED', error: 'DaysFailed' });
    expect(result.cause!.length).toBeLessThanOrEqual(STEP_FUNCTIONS_LIMITS.causeChars);
    const failed = ALL_DAYS.filter(failing);
    expect(failed).toHaveLength(failedCount);
    expect(failedDaysOf(result.cause!)).toEqual(failed);
    // Each day's outcome and error are still known (locally from the event log; in AWS from the day's execution)
    expect(result.outcomes.filter((o) => o.verdict === 'failed').map((o) => o.date)).toEqual(failed);
    expect(result.outcomes.filter((o) => o.verdict === 'passed')).toHaveLength(MAX_DAYS_PER_EXECUTION - failedCount);
    expect(result.failures).toHaveLength(failedCount);
    expect(result.failures![0]).toEqual({ date: failed[0], error: 'SourceGoneError', cause: LONG_MESSAGE });
  });

  it('fails the execution with States.DataLimitExceeded when a state returns more than 256 KiB, as Step Functions does', async () => {
    // Prepare: a plan carrying 300 KB besides its one day
    const padded = () => async () => ({ mode: 'overwrite', dates: ['2025-03-01'], padding: 'x'.repeat(300_000) });

    // Act
    const result = await runLocalExecution(
      config,
      { date: '2025-03-01' },
      { concurrency: 1, logLine: () => undefined, handlers: { ...standIns(() => false), [STAGES.plan.state]: padded } },
    );

    // Assess
    expect(result).toMatchObject({ status: 'FAILED', error: DATA_LIMIT_EXCEEDED });
    expect(result.cause).toMatch(/The state\/task 'Plan' returned a result with a size exceeding the maximum number of bytes service limit/);
    expect(result.outcomes).toEqual([]);
  });
});
