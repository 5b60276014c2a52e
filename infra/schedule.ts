/**
 * When the daily run starts. EventBridge Scheduler skips an invocation whose local time a clock
 * change skips (02:30 on spring-forward day in the US and the EU), so the default schedule is in
 * UTC, which has no clock changes: every day has its run. The plan stage still reads "yesterday" in
 * the partition time zone (`planRun`), so the UTC time is chosen to fall shortly after local
 * midnight: 02:30 in the zone's standard time, i.e. at its smallest UTC offset. Its local time is
 * then 02:30 in winter and 03:30 under daylight saving time (04:30 at most, for a two-hour shift),
 * always in the day after the partition it runs.
 */
import { zoneOffsetMs } from '../src/core/day.js';

/** Local time of the default run at the partition zone's smallest UTC offset. */
export const DEFAULT_RUN_TIME = { hour: 2, minute: 30 } as const;

/** Years whose clock changes are examined (the zone rules of the ICU data this synth runs with). */
const SAMPLE_YEARS = [2025, 2026] as const;
const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

/** Offset of `timeZone` from UTC at `epochMs`, in minutes east of UTC. */
export function utcOffsetMinutes(epochMs: number, timeZone: string): number {
  return Math.round(zoneOffsetMs(epochMs, timeZone) / MINUTE_MS);
}

/** Every UTC offset (minutes) `timeZone` uses in the sample years, sampled daily (at noon UTC). */
function offsetsOf(timeZone: string): number[] {
  const offsets = new Set<number>();
  const start = Date.UTC(SAMPLE_YEARS[0], 0, 1, 12);
  const end = Date.UTC(SAMPLE_YEARS[SAMPLE_YEARS.length - 1] + 1, 0, 1);
  for (let t = start; t < end; t += 24 * HOUR_MS) offsets.add(utcOffsetMinutes(t, timeZone));
  return [...offsets].sort((a, b) => a - b);
}

/**
 * The default daily schedule for partitions in `partitionTimeZone`: a cron expression read in UTC,
 * at the UTC time of `DEFAULT_RUN_TIME` at the zone's smallest offset (`cron(30 2 * * ? *)` for UTC,
 * `cron(30 1 * * ? *)` for Europe/Berlin, `cron(30 7 * * ? *)` for America/New_York).
 */
export function defaultScheduleCron(partitionTimeZone: string): string {
  const smallestOffset = offsetsOf(partitionTimeZone)[0];
  const minutes = (((DEFAULT_RUN_TIME.hour * 60 + DEFAULT_RUN_TIME.minute - smallestOffset) % 1440) + 1440) % 1440;
  return `cron(${minutes % 60} ${Math.floor(minutes / 60)} * * ? *)`;
}

/** Whether the wall time `hour:minute` of the calendar day exists in `timeZone` (no clock change skips it). */
function wallTimeExists(year: number, month: number, day: number, hour: number, minute: number, timeZone: string, offsets: readonly number[]): boolean {
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  return offsets.some((offset) => utcOffsetMinutes(wall - offset * MINUTE_MS, timeZone) === offset);
}

const NUMBERS = /^\d+(,\d+)*$/;

/**
 * A day of the sample years on which a clock change in `timeZone` skips a time `cron` names, as
 * `YYYY-MM-DD HH:MM`; undefined when every day has them. Only crons whose minute and hour fields
 * are numbers (or lists of numbers) are examined; UTC has no clock changes.
 */
export function skippedScheduleTime(cron: string, timeZone: string): string | undefined {
  const fields = /^cron\((.*)\)$/.exec(cron.trim())?.[1].trim().split(/\s+/);
  if (!fields || fields.length < 2 || !NUMBERS.test(fields[0]) || !NUMBERS.test(fields[1])) return undefined;
  const offsets = offsetsOf(timeZone);
  if (offsets.length === 1) return undefined;
  const minutes = fields[0].split(',').map(Number);
  const hours = fields[1].split(',').map(Number);
  const pad = (n: number) => String(n).padStart(2, '0');
  for (const year of SAMPLE_YEARS) {
    for (let t = Date.UTC(year, 0, 1); t < Date.UTC(year + 1, 0, 1); t += 24 * HOUR_MS) {
      const d = new Date(t);
      const [month, day] = [d.getUTCMonth() + 1, d.getUTCDate()];
      for (const hour of hours) {
        for (const minute of minutes) {
          if (!wallTimeExists(year, month, day, hour, minute, timeZone, offsets)) return `${year}-${pad(month)}-${pad(day)} ${pad(hour)}:${pad(minute)}`;
        }
      }
    }
  }
  return undefined;
}
