/**
 * The daily schedule runs every day, in every partition time zone, and each run plans the day
 * that has just ended there. EventBridge Scheduler skips an invocation whose local time a clock
 * change skips, so a schedule is simulated here as Scheduler fires it: at the cron's wall time on
 * each day of its time zone, never when that wall time does not exist. Each firing's
 * `scheduledTime` then goes through the plan stage's own `planRun`.
 */
import { describe, expect, it } from 'vitest';
import { defaultScheduleCron } from '../../infra/schedule.js';
import { planRun } from '../../src/pipeline/plan/plan.js';
import { buildStack } from './support.js';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

const formatters = new Map<string, Intl.DateTimeFormat>();
/** The wall clock of `instant` in `timeZone`: [year, month, day, hour, minute]. */
function wallClock(instant: number, timeZone: string): number[] {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric' });
    formatters.set(timeZone, f);
  }
  const parts = f.formatToParts(new Date(instant));
  return ['year', 'month', 'day', 'hour', 'minute'].map((type) => Number(parts.find((p) => p.type === type)?.value));
}

/** `cron(M H * * ? *)` as [hour, minute]; other forms are not what these tests schedule. */
function dailyTime(cron: string): [number, number] {
  const m = /^cron\((\d+) (\d+) \* \* \? \*\)$/.exec(cron);
  if (!m) throw new Error(`not a daily cron: ${cron}`);
  return [Number(m[2]), Number(m[1])];
}

/** Offset of `timeZone` from UTC at `instant`, in ms. */
function offsetAt(instant: number, timeZone: string): number {
  const [y, mo, d, h, mi] = wallClock(instant, timeZone);
  return Date.UTC(y, mo - 1, d, h, mi) - Math.floor(instant / MINUTE_MS) * MINUTE_MS;
}

/**
 * The instants Scheduler starts `cron` at in `timeZone` during `year`: on each local day, the
 * first instant whose wall clock reads the cron's time (a time a clock change repeats runs once),
 * none on a day a clock change skips it.
 */
function firings(cron: string, timeZone: string, year: number): number[] {
  const [hour, minute] = dailyTime(cron);
  const out: number[] = [];
  for (let day = Date.UTC(year, 0, 1); day < Date.UTC(year + 1, 0, 1); day += DAY_MS) {
    const wall = day + (hour * 60 + minute) * MINUTE_MS;
    // The offsets in force around that day: the instants that could read `wall`.
    const offsets = new Set([offsetAt(wall - DAY_MS, timeZone), offsetAt(wall, timeZone), offsetAt(wall + DAY_MS, timeZone)]);
    const matching = [...offsets].map((offset) => wall - offset).filter((instant) => offsetAt(instant, timeZone) === wall - instant);
    if (matching.length > 0) out.push(Math.min(...matching));
  }
  return out;
}

/** The days the runs of `cron` in `scheduleZone` plan for partitions in `partitionZone` (the plan stage's own reading). */
function plannedDays(cron: string, scheduleZone: string, partitionZone: string, year: number): { planned: string[]; localTimes: number[] } {
  const planned: string[] = [];
  const localTimes: number[] = [];
  for (const instant of firings(cron, scheduleZone, year)) {
    const scheduledTime = new Date(instant).toISOString();
    const plan = planRun({ scheduledTime }, { timeZone: partitionZone, maxDays: 1, now: new Date(instant) });
    planned.push(plan.dates.at(-1) as string);
    const [, , , h, mi] = wallClock(instant, partitionZone);
    localTimes.push(h * 60 + mi);
  }
  return { planned, localTimes };
}

/** Every calendar day from `from` to `to` (ISO), both included. */
function everyDay(from: string, to: string): string[] {
  const days: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += DAY_MS) days.push(new Date(t).toISOString().slice(0, 10));
  return days;
}

function scheduleOf(props: Parameters<typeof buildStack>[0]): { cron: string; timeZone: string } {
  const schedule = Object.values(buildStack(props).template.findResources('AWS::Scheduler::Schedule'))[0] as {
    Properties: { ScheduleExpression: string; ScheduleExpressionTimezone: string };
  };
  return { cron: schedule.Properties.ScheduleExpression, timeZone: schedule.Properties.ScheduleExpressionTimezone };
}

/** Stacks are synthesized and every zone's year is walked through Intl: minutes on a loaded two-core machine. */
describe('the default schedule', { timeout: 240_000 }, () => {
  it.each(['Europe/Berlin', 'America/New_York', 'Australia/Sydney', 'Australia/Lord_Howe', 'America/Santiago', 'UTC'])(
    'in %s: runs on every day of 2025, each run planning the day that just ended there, in order',
    (zone) => {
      // Arrange
      const { cron, timeZone } = scheduleOf({ partitionTimeZone: zone });
      // Act
      const { planned, localTimes } = plannedDays(cron, timeZone, zone, 2025);
      // Assess: one run per day, each for the day before, none skipped or repeated.
      expect(timeZone).toBe('UTC');
      expect(planned).toEqual(everyDay(planned[0], planned.at(-1) as string));
      expect(planned).toHaveLength(365);
      // ... shortly after local midnight: between 02:30 and 05:00 in the partition zone.
      expect(Math.min(...localTimes)).toBeGreaterThanOrEqual(150);
      expect(Math.max(...localTimes)).toBeLessThanOrEqual(300);
    },
  );

  it('in every IANA time zone: a UTC time between 02:30 and 05:00 local, every day of 2025', () => {
    for (const zone of Intl.supportedValuesOf('timeZone')) {
      // Arrange
      const [hour, minute] = dailyTime(defaultScheduleCron(zone));
      // Act: UTC has no clock changes, so the run is on every day; read its local time and plan.
      const planned: string[] = [];
      for (let day = Date.UTC(2025, 0, 1); day < Date.UTC(2026, 0, 1); day += DAY_MS) {
        const instant = day + (hour * 60 + minute) * MINUTE_MS;
        const [, , , h, mi] = wallClock(instant, zone);
        expect(h * 60 + mi, `${zone} ${new Date(instant).toISOString()}`).toBeGreaterThanOrEqual(150);
        expect(h * 60 + mi, `${zone} ${new Date(instant).toISOString()}`).toBeLessThanOrEqual(300);
        planned.push(
          planRun({ scheduledTime: new Date(instant).toISOString() }, { timeZone: zone, maxDays: 1, now: new Date(instant) }).dates.at(-1) as string,
        );
      }
      // Assess
      expect(planned, zone).toEqual(everyDay(planned[0], planned.at(-1) as string));
    }
  });
});

describe('a configured schedule', { timeout: 240_000 }, () => {
  it('is refused when a clock change of its time zone skips its time, naming the day', () => {
    // Act / Assess
    expect(() => buildStack({ scheduleCron: 'cron(30 2 * * ? *)', scheduleTimeZone: 'Europe/Berlin' })).toThrow(
      /scheduleCron cron\(30 2 \* \* \? \*\): 2025-03-30 02:30 does not exist in Europe\/Berlin/,
    );
    expect(() => buildStack({ scheduleCron: 'cron(15 2 * * ? *)', scheduleTimeZone: 'America/New_York' })).toThrow(/2025-03-09 02:15/);
  });

  it('is taken as given when every day has its time', () => {
    // Arrange
    const { cron, timeZone } = scheduleOf({ partitionTimeZone: 'Europe/Berlin', scheduleCron: 'cron(0 4 * * ? *)', scheduleTimeZone: 'Europe/Berlin' });
    // Act
    const { planned } = plannedDays(cron, timeZone, 'Europe/Berlin', 2025);
    // Assess
    expect([cron, timeZone]).toEqual(['cron(0 4 * * ? *)', 'Europe/Berlin']);
    expect(planned).toEqual(everyDay('2024-12-31', '2025-12-30'));
  });

  it('a local time a clock change skips would lose a day: the simulation sees it', () => {
    // Act: what the schedule used to be, 02:30 in the partition zone.
    const { planned } = plannedDays('cron(30 2 * * ? *)', 'Europe/Berlin', 'Europe/Berlin', 2025);
    // Assess
    expect(planned).toHaveLength(364);
    expect(planned).not.toContain('2025-03-29');
  });
});

describe('the append schedule', { timeout: 120_000 }, () => {
  it('is absent by default, and when set starts the state machine with its time, planned as today appended to', () => {
    // Arrange
    const none = buildStack({}).template.findResources('AWS::Scheduler::Schedule');
    const schedules = Object.values(
      buildStack({ appendSchedule: 'rate(1 hour)', partitionTimeZone: 'Europe/Berlin' }).template.findResources('AWS::Scheduler::Schedule'),
    ) as {
      Properties: { ScheduleExpression: string; Target: { Input: string } };
    }[];

    // Act
    const append = schedules.find((s) => s.Properties.ScheduleExpression === 'rate(1 hour)')!;
    const input = JSON.parse(append.Properties.Target.Input.replace('<aws.scheduler.scheduled-time>', '2025-03-01T23:30:00Z')) as unknown;
    const plan = planRun(input, { timeZone: 'Europe/Berlin', maxDays: 1, now: new Date('2025-03-01T23:30:00Z') });

    // Assess: 23:30 UTC is 00:30 the next day in Berlin: that day is the one in progress.
    expect(Object.keys(none)).toHaveLength(1);
    expect(schedules).toHaveLength(2);
    expect(plan).toEqual({ mode: 'append', dates: ['2025-03-02'] });
    expect(() => planRun({ appendTime: '2025-03-01T12:00:00Z', mode: 'overwrite' }, { timeZone: 'UTC', maxDays: 1 })).toThrow(/append/);
  });
});
