/**
 * What the schedule's lookback costs in republishes (docs/operations.md, "What the lookback
 * costs"): seeds `--days` days of `--rows` synthetic rentals into a fresh database on
 * `DATABASE_URL`'s server (else `TEST_DATABASE_URL`'s), then plays a week of nightly schedules
 * into a fresh directory lake for each setting compared, and prints what each night ran and wrote.
 *
 * The source as of an instant T holds every rental with its end as the generator made it, except
 * that a rental whose `rent_end` lies after T is still open: `rent_end`, `end_station` and
 * `rent_cost` are NULL (`sourceAsOf`). Moving T forward closes the rentals that ended since, each
 * close an UPDATE of the row (a new `xmin`: the change signal moves), as a source would record it.
 * Each setting's week: the days before the week are backfilled as of the first night's eve, then
 * for each of seven nights the closes since the last night are applied and the scheduled
 * execution runs as the stack runs it (`{ scheduledTime }`, default `PARTITION_TIMEZONE`).
 *
 * It also counts, straight from the generator at `--sample` rentals a day, how many rentals of a
 * day are still open at each schedule time, and so what share of days a larger volume would
 * republish.
 *
 *   npx tsx dev/measure/republish-week.ts [--rows 2000] [--days 21] [--sample 250000] [--keep]
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadConfig } from '../../src/core/config.js';
import { DEFAULTS } from '../../src/core/config-variables.js';
import { addDays, daysBetween, dayWindow, parseDay, type CalendarDay } from '../../src/core/day.js';
import { FsStore } from '../../src/lake/fs-store.js';
import { runLocalExecution, type DayOutcome } from '../../src/pipeline/local-execution.js';
import { checkDays } from '../../src/pipeline/plan/staleness.js';
import { withClient } from '../../src/source/connect.js';
import { migrate } from '../../src/source/migrate.js';
import { seed } from '../../src/source/synthetic/load.js';
import { rentalsForDay } from '../../src/source/synthetic/rentals.js';

const { values } = parseArgs({ options: { rows: { type: 'string' }, days: { type: 'string' }, sample: { type: 'string' }, keep: { type: 'boolean' } } });
const rows = Number(values.rows ?? 2_000);
const days = Number(values.days ?? 21);
const sample = Number(values.sample ?? 250_000);
const NIGHTS = 7;
if (days <= NIGHTS) throw new Error(`--days: more than the week's ${NIGHTS} nights`);
const admin = process.env.DATABASE_URL ?? process.env.TEST_DATABASE_URL;
if (!admin) throw new Error('DATABASE_URL (or TEST_DATABASE_URL): the server to measure on');
const timeZone = DEFAULTS.timeZone;
const first = parseDay('2025-05-01');
const all = daysBetween(first, addDays(first, days - 1));
/** The week's nights publish these days as "yesterday"; the days before them are the warm-up. */
const weekDays = all.slice(days - NIGHTS);
const warmUp = all.slice(0, days - NIGHTS);

/** A setting compared: the lookback and the schedule's time of day (UTC, as the default cron). */
interface Setting {
  readonly name: string;
  readonly lookbackDays: number;
  readonly at: { readonly hour: number; readonly minute: number };
}
const SETTINGS: readonly Setting[] = [
  { name: 'default: lookback 7, 02:30', lookbackDays: 7, at: { hour: 2, minute: 30 } },
  { name: 'lookback 1, 02:30', lookbackDays: 1, at: { hour: 2, minute: 30 } },
  { name: 'lookback 0 (no healing), 02:30', lookbackDays: 0, at: { hour: 2, minute: 30 } },
  { name: 'lookback 7, 05:30 (after the longest ride)', lookbackDays: 7, at: { hour: 5, minute: 30 } },
];

/** The instant a schedule at `at` fires on the day after `day` (whose "yesterday" is `day`). */
function nightOf(day: CalendarDay, at: Setting['at']): Date {
  return new Date(dayWindow(addDays(day, 1), timeZone).start.getTime() + (at.hour * 60 + at.minute) * 60_000);
}

/**
 * Puts the source as of `at`: closes (restores the end, station, cost and stamp of) every rental
 * whose end is at or before `at` and is still open, and opens every rental whose end is after it.
 * Each row changed is an UPDATE, so its `xmin` moves. Returns how many of the rentals closed
 * started before `published` (the rentals of days already published: late closes). Checks the
 * model: afterwards exactly the rentals without an end, or ending after `at`, are open.
 */
async function sourceAsOf(client: pg.Client, at: Date, published: Date): Promise<number> {
  const { rows: closed } = await client.query<{ late: string }>(
    `WITH closed AS (
       UPDATE rentals r SET rent_end = t.rent_end, end_station = t.end_station, rent_cost = t.rent_cost, updated_at = t.updated_at
       FROM rentals_truth t WHERE t.rental_id = r.rental_id AND t.rent_end <= $1 AND r.rent_end IS NULL RETURNING r.rent_start)
     SELECT count(*) FILTER (WHERE rent_start < $2) AS late FROM closed`,
    [at, published],
  );
  // An open rental's stamp is its start's (the generator's, for the rentals it leaves open).
  await client.query(
    `UPDATE rentals r SET rent_end = NULL, end_station = NULL, rent_cost = NULL, updated_at = r.rent_start + interval '1 second'
     FROM rentals_truth t WHERE t.rental_id = r.rental_id AND t.rent_end > $1 AND r.rent_end IS NOT NULL`,
    [at],
  );
  const { rows: check } = await client.query<{ open: string; expected: string }>(
    `SELECT count(*) FILTER (WHERE r.rent_end IS NULL) AS open, count(*) FILTER (WHERE t.rent_end IS NULL OR t.rent_end > $1) AS expected
     FROM rentals r JOIN rentals_truth t USING (rental_id)`,
    [at],
  );
  if (check[0].open !== check[0].expected) throw new Error(`source as of ${at.toISOString()}: ${check[0].open} open, expected ${check[0].expected}`);
  return Number(closed[0].late);
}

/** What one night's scheduled execution ran. */
interface Night {
  readonly at: string;
  /** Rentals of days published before this night that closed since the last night. */
  readonly lateCloses: number;
  readonly runs: Record<string, string[]>;
  readonly rowsByKind: Record<string, number>;
  readonly seconds: number;
}

/** What a setting's week cost. */
interface Week {
  readonly setting: Setting;
  readonly nights: Night[];
  /** Days the lake holds that differ from the source right after the last night (the one rule). */
  readonly staleAfter: string[];
}

const ran = (outcome: DayOutcome) => outcome.verdict !== 'skipped';

/** One setting's week in a lake of its own: the warm-up backfill, seven nights, then which days the lake holds stale. */
async function playWeek(client: pg.Client, databaseUrl: string, setting: Setting): Promise<Week> {
  const lake = await mkdtemp(join(tmpdir(), 'republish-week-'));
  try {
    const config = loadConfig({
      DATABASE_URL: databaseUrl,
      LAKE_URI: lake,
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      REPUBLISH_LOOKBACK_DAYS: String(setting.lookbackDays),
    });
    const run = async (input: Record<string, unknown>) => {
      const result = await runLocalExecution(config, input, { concurrency: 2, logLine: () => undefined });
      if (result.status !== 'SUCCEEDED') throw new Error(`${JSON.stringify(input)}: ${result.status} ${result.error}: ${result.cause}`);
      return result.outcomes;
    };
    // The warm-up: the days before the week, backfilled on the eve of the week's first night.
    const eve = nightOf(warmUp.at(-1)!, setting.at);
    await sourceAsOf(client, eve, eve);
    await run({ from: warmUp[0].iso, to: warmUp.at(-1)!.iso });
    const nights: Night[] = [];
    for (const day of weekDays) {
      const at = nightOf(day, setting.at);
      const lateCloses = await sourceAsOf(client, at, dayWindow(day, timeZone).start);
      const started = performance.now();
      const outcomes = (await run({ scheduledTime: at.toISOString() })).filter(ran);
      const runs: Record<string, string[]> = {};
      const rowsByKind: Record<string, number> = {};
      for (const outcome of outcomes) {
        const kind = outcome.reason?.kind ?? 'requested';
        runs[kind] = [...(runs[kind] ?? []), outcome.date];
        rowsByKind[kind] = (rowsByKind[kind] ?? 0) + (outcome.writtenRows ?? 0);
      }
      nights.push({ at: at.toISOString(), lateCloses, runs, rowsByKind, seconds: (performance.now() - started) / 1000 });
    }
    const checks = await checkDays({ store: new FsStore(config.lake), withSource: (work) => withClient(databaseUrl, work), days: all, timeZone });
    return { setting, nights, staleAfter: checks.filter((c) => c.state === 'stale').map((c) => c.date) };
  } finally {
    await rm(lake, { recursive: true, force: true });
  }
}

/** Rentals a day the derived table shows the share of stale days for. */
const VOLUMES = [2_000, 20_000, 1_000_000, 100_000_000] as const;

/** The generator's rentals of a day still open when the next day's schedule fires at a time. */
interface OpenAtSchedule {
  readonly at: string;
  /** Rentals of the sampled days open then, of `sampled`. */
  readonly open: number;
  readonly sampled: number;
}

/**
 * How many rentals of a day are still open when a schedule at each time of the next day fires,
 * straight from the generator (a pure function of the day) at `--sample` rentals a day over the
 * seeded days: each day with one or more is republished once, whole, by the next night's lookback.
 */
function openAtSchedule(sample: number): OpenAtSchedule[] {
  const times = [0, 1, 2, 3, 4, 5].map((hour) => ({ hour, minute: 30 }));
  const open = times.map(() => 0);
  for (const day of all) {
    const nights = times.map((at) => nightOf(day, at).getTime());
    for (const rental of rentalsForDay(day, { rentalsPerDay: sample, users: 10_000, bikes: 1_000, timeZone })) {
      const end = rental.rent_end?.getTime();
      if (end === undefined) continue;
      for (const [i, night] of nights.entries()) if (end > night) open[i] += 1;
    }
  }
  return times.map((at, i) => ({
    at: `${String(at.hour).padStart(2, '0')}:${String(at.minute).padStart(2, '0')}`,
    open: open[i],
    sampled: all.length * sample,
  }));
}

const count = (n: number) => n.toLocaleString('en-US');
/** A share as a whole percentage; below one percent as such ("< 1%"), never rounded to 0% or up to 100%. */
function percent(share: number, bound: '' | '< '): string {
  if (share < 0.01) return '< 1%';
  if (share > 0.995) return bound ? '< 100%' : '> 99%';
  return `${bound}${Math.round(share * 100)}%`;
}
const sum = (week: Week, kinds: readonly string[]) => week.nights.reduce((n, night) => n + kinds.reduce((k, kind) => k + (night.rowsByKind[kind] ?? 0), 0), 0);
const daysRun = (week: Week, kind: string) => week.nights.reduce((n, night) => n + (night.runs[kind]?.length ?? 0), 0);

/** The figures as the markdown tables docs/operations.md shows. */
function report(weeks: readonly Week[], open: readonly OpenAtSchedule[], seedSeconds: number, totalSeconds: number): string {
  const lines = [
    `${days} days of ${count(rows)} rentals (UTC days), ${NIGHTS} nights from ${weekDays[0].iso}'s; seeded in ${seedSeconds.toFixed(1)} s, measured in ${totalSeconds.toFixed(0)} s.`,
    '',
    '| setting | nights | days new | days stale | days rerun, missing | rows written | rows of new days | amplification | stale after the week | seconds a night |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const week of weeks) {
    const total = sum(week, ['new', 'stale', 'rerun', 'missing']);
    const fresh = sum(week, ['new']);
    const seconds = week.nights.reduce((n, night) => n + night.seconds, 0) / week.nights.length;
    lines.push(
      `| ${week.setting.name} | ${week.nights.length} | ${daysRun(week, 'new')} | ${daysRun(week, 'stale')} | ${daysRun(week, 'rerun') + daysRun(week, 'missing')} | ${count(total)} | ${count(fresh)} | ${(total / fresh).toFixed(2)}× | ${week.staleAfter.length} | ${seconds.toFixed(1)} |`,
    );
  }
  const [shown] = weeks;
  lines.push(
    '',
    `Nights of "${shown.setting.name}":`,
    '',
    '| night | late closes since the last night | new | stale | rows written |',
    '|---|---:|---|---|---:|',
  );
  for (const night of shown.nights) {
    const written = Object.values(night.rowsByKind).reduce((a, b) => a + b, 0);
    lines.push(
      `| ${night.at} | ${count(night.lateCloses)} | ${night.runs.new?.join(', ') ?? ''} | ${night.runs.stale?.join(', ') ?? ''} | ${count(written)} |`,
    );
  }
  lines.push(
    '',
    `Rentals of a day still open when the next day's schedule fires (the generator, ${count(sample)} rentals of each of the ${days} days), and the share of days that then go stale (at least one late close: 1 - e^-open; "<": none seen, a 95% bound):`,
    '',
    `| schedule (UTC) | open per 1,000,000 rentals | ${VOLUMES.map((v) => `days stale at ${count(v)} a day`).join(' | ')} |`,
    `|---|---:|${VOLUMES.map(() => '---:').join('|')}|`,
  );
  for (const row of open) {
    // None seen: the rate is below 3 in the rentals sampled (95%), so only an upper bound is known.
    const bound = row.open === 0 ? '< ' : '';
    const perRental = (row.open === 0 ? 3 : row.open) / row.sampled;
    const shares = VOLUMES.map((v) => percent(1 - Math.exp(-perRental * v), bound));
    lines.push(`| ${row.at} | ${bound}${(perRental * 1_000_000).toFixed(1)} | ${shares.join(' | ')} |`);
  }
  return `${lines.join('\n')}\n`;
}

const began = performance.now();
const name = `republish_week_${randomBytes(4).toString('hex')}`;
const server = new pg.Client(admin);
await server.connect();
await server.query(`CREATE DATABASE ${name}`);
const url = new URL(admin);
url.pathname = `/${name}`;
const client = new pg.Client(url.toString());
await client.connect();
try {
  await migrate(client);
  const seeded = await seed(client, { from: all[0], to: all.at(-1)!, rentalsPerDay: rows, users: 10_000, bikes: 1_000, timeZone });
  // The full history, the truth the simulated source reveals as its "now" advances.
  await client.query('CREATE TABLE rentals_truth AS SELECT rental_id, rent_end, end_station, rent_cost, updated_at FROM rentals');
  await client.query('ALTER TABLE rentals_truth ADD PRIMARY KEY (rental_id)');
  await client.query('VACUUM ANALYZE');
  const open = openAtSchedule(sample);
  const weeks: Week[] = [];
  for (const setting of SETTINGS) weeks.push(await playWeek(client, url.toString(), setting));
  process.stdout.write(report(weeks, open, seeded.seconds, (performance.now() - began) / 1000));
} finally {
  await client.end();
  if (!values.keep) await server.query(`DROP DATABASE ${name} WITH (FORCE)`);
  await server.end();
}
