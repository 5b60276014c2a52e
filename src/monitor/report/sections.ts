/**
 * What the HTML report shows, derived from the manifests and validation reports of the days (and,
 * for the top users, the published Parquet): one section per question, each a chart and a small
 * table of the same numbers. Pure given its input, so the page builder only lays it out.
 *
 * A day's quality measures are those of its latest run of the publishing kind (the run that
 * published it, or a run that failed since); its rows, files and freshness are its manifest's.
 * The figures of a check are its numbers (`value`, `limit`, `of`), never its text: a report
 * written before checks carried numbers shows '-' (no point in a chart) where they would go.
 */
import type { PartitionManifest } from '../../lake/manifest.js';
import { percent, rateOf, type CheckResult, type ValidationReport } from '../../lake/report-record.js';
import { RENTALS } from '../../core/tables.js';
import type { DayRecords } from '../lake-state.js';
import type { TopUser } from './top-users.js';

export interface ChartDataset {
  readonly label: string;
  readonly data: readonly (number | null)[];
  /** Drawn as a line over the bars (a threshold, say), dashed when `dashed`. */
  readonly line?: boolean;
  readonly dashed?: boolean;
}

export interface ChartSpec {
  readonly type: 'bar' | 'line';
  readonly labels: readonly string[];
  readonly datasets: readonly ChartDataset[];
  readonly stacked?: boolean;
  /** Bars along the y axis (long labels: users). */
  readonly horizontal?: boolean;
  /** Values are fractions shown as percentages. */
  readonly percent?: boolean;
  readonly valueTitle: string;
}

/** A cell: a number is shown with thousands separators, a string as it is. */
export type Cell = string | number;

export interface TableSpec {
  readonly caption?: string;
  readonly columns: readonly string[];
  readonly rows: readonly (readonly Cell[])[];
}

export interface Section {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly chart: ChartSpec;
  readonly tables: readonly TableSpec[];
}

export interface ReportSummary {
  readonly days: number;
  readonly published: number;
  readonly rows: number;
  readonly runs: number;
  readonly failedRuns: number;
}

export interface ReportData {
  readonly lake: string;
  readonly from?: string;
  readonly to?: string;
  readonly generatedAt: string;
  readonly summary: ReportSummary;
  readonly sections: readonly Section[];
}

const seconds = (ms: number) => Math.round(ms / 10) / 100;

/** The start of a run from its id (`20261117T040506789Z-…`), in epoch milliseconds. */
export function runStartOf(runId: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z/.exec(runId);
  if (!m) return Number.NaN;
  const [year, month, day, hour, minute, second, ms] = m.slice(1).map(Number);
  return Date.UTC(year, month - 1, day, hour, minute, second, ms);
}

function checkOf(report: ValidationReport | undefined, name: string): CheckResult | undefined {
  return report?.checks.find((c) => c.check === name);
}

function latestPublish(day: DayRecords): ValidationReport | undefined {
  return day.reports.findLast((r) => r.kind === 'publish');
}

/** The first limit any report states for `check` (they share one configuration, usually). */
function limitFrom(days: readonly DayRecords[], check: string): number | undefined {
  for (const day of days) {
    const limit = checkOf(latestPublish(day), check)?.limit;
    if (limit !== undefined) return limit;
  }
  return undefined;
}

const rowsRead = (report: ValidationReport) => report.metrics?.rows ?? report.rows;
const dash = (n: number | undefined): Cell => (n === undefined ? '-' : n);

function rowsSection(days: readonly DayRecords[]): Section {
  const published = days.filter((d) => d.manifest);
  return {
    id: 'rows',
    title: 'Rows per day',
    description: 'Rows in each published partition (its manifest), beside the source count of the snapshot its latest run read.',
    chart: {
      type: 'bar',
      labels: days.map((d) => d.date),
      datasets: [
        { label: 'rows published', data: days.map((d) => d.manifest?.rows ?? null) },
        { label: 'source count at snapshot', data: days.map((d) => d.manifest?.runs.at(-1)?.sourceCount ?? null), line: true },
      ],
      valueTitle: 'rows',
    },
    tables: [
      {
        columns: ['date', 'rows', 'files', 'bytes', 'source count'],
        rows: published.map((d) => {
          const m = d.manifest!;
          return [d.date, m.rows, m.files.length, m.files.reduce((s, f) => s + f.bytes, 0), dash(m.runs.at(-1)?.sourceCount)];
        }),
      },
    ],
  };
}

function quarantineSection(days: readonly DayRecords[]): Section {
  const measured = days.filter((d) => latestPublish(d)?.metrics);
  const reasons = [...new Set(measured.flatMap((d) => Object.keys(latestPublish(d)!.metrics!.rejectReasons)))].sort();
  const limit = limitFrom(days, 'quarantine_rate');
  return {
    id: 'quarantine',
    title: 'Quarantined rows per day, by reason',
    description: `Source rows whose values could not be cast, kept in _quarantine/ with the reason.${limit === undefined ? '' : ` A day fails above ${percent(limit)} of its rows.`}`,
    chart: {
      type: 'bar',
      stacked: true,
      labels: days.map((d) => d.date),
      datasets: (reasons.length > 0 ? reasons : ['quarantined']).map((reason) => ({
        label: reason,
        data: days.map((d) => {
          const metrics = latestPublish(d)?.metrics;
          return metrics ? (reasons.length > 0 ? (metrics.rejectReasons[reason] ?? 0) : metrics.quarantined) : null;
        }),
      })),
      valueTitle: 'rows',
    },
    tables: [
      {
        columns: ['date', ...reasons, 'quarantined', 'rate'],
        rows: measured.map((d) => {
          const report = latestPublish(d)!;
          const metrics = report.metrics!;
          return [d.date, ...reasons.map((r) => metrics.rejectReasons[r] ?? 0), report.quarantined, percent(rateOf(report.quarantined, rowsRead(report)))];
        }),
      },
    ],
  };
}

function nullRateSection(days: readonly DayRecords[]): Section {
  const measured = days.map(latestPublish).filter((r) => r?.metrics) as ValidationReport[];
  const columns = [...new Set(measured.flatMap((r) => Object.keys(r.metrics!.nullCounts)))];
  const rows = measured.reduce((s, r) => s + r.metrics!.rows, 0);
  const nulls = columns.map((c) => measured.reduce((s, r) => s + (r.metrics!.nullCounts[c] ?? 0), 0));
  const limits = columns.map((c) => limitFrom(days, `null_rate.${c}`));
  // A nullable column is checked; a report from before checks carried numbers has no limit to show.
  const checked = columns.map((c) => days.some((d) => checkOf(latestPublish(d), `null_rate.${c}`)));
  return {
    id: 'null-rate',
    title: 'NULL rate per column',
    description: 'NULLs over rows read, per lake column, over all the days; columns declared nullable are checked against their limit (dashed).',
    chart: {
      type: 'bar',
      labels: columns,
      datasets: [
        { label: 'NULL rate', data: nulls.map((n) => rateOf(n, rows)) },
        { label: 'limit', data: limits.map((l) => l ?? null), line: true, dashed: true },
      ],
      percent: true,
      valueTitle: 'share of rows',
    },
    tables: [
      {
        columns: ['column', 'NULLs', 'rows', 'rate', 'limit'],
        rows: columns.map((c, i) => [
          c,
          nulls[i],
          rows,
          percent(rateOf(nulls[i], rows)),
          limits[i] !== undefined ? percent(limits[i]) : checked[i] ? '-' : 'not nullable',
        ]),
      },
    ],
  };
}

function duplicatesSection(days: readonly DayRecords[]): Section {
  const check = `duplicate_${RENTALS.key}`;
  const measured = days.filter((d) => latestPublish(d)?.metrics);
  return {
    id: 'duplicates',
    title: `Duplicate ids (${RENTALS.key})`,
    description: `Rows of a day repeating another row's ${RENTALS.key}, counted in the source when the day was planned; the dashed line is the limit.`,
    chart: {
      type: 'bar',
      labels: days.map((d) => d.date),
      datasets: [
        { label: 'duplicate ids', data: days.map((d) => latestPublish(d)?.metrics?.duplicateIds ?? null) },
        { label: 'limit', data: days.map((d) => checkOf(latestPublish(d), check)?.limit ?? null), line: true, dashed: true },
      ],
      valueTitle: 'rows',
    },
    tables: [
      {
        columns: ['date', 'duplicate ids', 'limit'],
        rows: measured.map((d) => {
          const report = latestPublish(d)!;
          return [d.date, report.metrics!.duplicateIds, dash(checkOf(report, check)?.limit)];
        }),
      },
    ],
  };
}

function negativesSection(days: readonly DayRecords[]): Section {
  const { negativeInterval, negativeValue } = RENTALS.measures;
  const durationCheck = `${negativeInterval?.name}_rate`;
  const costCheck = `${negativeValue?.name}_rate`;
  const measured = days.filter((d) => latestPublish(d)?.metrics);
  const durationLimit = limitFrom(days, durationCheck);
  const costLimit = limitFrom(days, costCheck);
  const limits = [
    durationLimit === undefined ? '' : `durations at most ${percent(durationLimit)}`,
    costLimit === undefined ? '' : `costs at most ${percent(costLimit)}`,
  ].filter(Boolean);
  return {
    id: 'negatives',
    title: 'Negative durations and costs',
    description: `Rentals that end before they start (${negativeInterval?.end} < ${negativeInterval?.start}) and negative ${negativeValue?.column}.${limits.length ? ` Limits: ${limits.join(', ')} of a day's rows.` : ''}`,
    chart: {
      type: 'bar',
      labels: days.map((d) => d.date),
      datasets: [
        { label: 'negative durations', data: days.map((d) => latestPublish(d)?.metrics?.negativeDurations ?? null) },
        { label: 'negative costs', data: days.map((d) => latestPublish(d)?.metrics?.negativeCosts ?? null) },
      ],
      valueTitle: 'rows',
    },
    tables: [
      {
        columns: ['date', 'negative durations', 'duration rate', 'negative costs', 'cost rate'],
        rows: measured.map((d) => {
          const report = latestPublish(d)!;
          const m = report.metrics!;
          return [d.date, m.negativeDurations, percent(rateOf(m.negativeDurations, m.rows)), m.negativeCosts, percent(rateOf(m.negativeCosts, m.rows))];
        }),
      },
    ],
  };
}

/** The change a `day_over_day_change` check measured, as a fraction (null: from 0 rows, or an older report). */
function changeOf(check: CheckResult): number | null {
  return check.value ?? null;
}

/** The change as the table shows it: a percentage, `from 0 rows` when the day before had none, '-' when unrecorded. */
function changeCell(check: CheckResult): Cell {
  if (check.value !== undefined) return percent(check.value);
  return check.of === 0 ? 'from 0 rows' : '-';
}

function dayOverDaySection(days: readonly DayRecords[]): Section {
  const checked = days.filter((d) => checkOf(latestPublish(d), 'day_over_day_change'));
  return {
    id: 'day-over-day',
    title: 'Day-over-day change',
    description:
      'How much a day’s rows differ from the source’s rows of the day before (counted in the extract snapshot), against its limit (dashed): above it a day fails when the limit is configured (QUALITY_MAX_DAY_OVER_DAY_CHANGE), else it is a warning.',
    chart: {
      type: 'line',
      labels: days.map((d) => d.date),
      datasets: [
        {
          label: 'change',
          data: days.map((d) => {
            const check = checkOf(latestPublish(d), 'day_over_day_change');
            return check ? changeOf(check) : null;
          }),
        },
        { label: 'limit', data: days.map((d) => checkOf(latestPublish(d), 'day_over_day_change')?.limit ?? null), dashed: true },
      ],
      percent: true,
      valueTitle: 'change',
    },
    tables: [
      {
        columns: ['date', 'rows', 'day before', 'change', 'limit', 'outcome'],
        rows: checked.map((d) => {
          const report = latestPublish(d)!;
          const check = checkOf(report, 'day_over_day_change')!;
          const limit = check.limit;
          return [
            d.date,
            report.rows,
            dash(check.of),
            changeCell(check),
            limit === undefined ? '-' : percent(limit),
            check.passed ? 'ok' : check.severity === 'error' ? 'failed' : 'warning',
          ];
        }),
      },
    ],
  };
}

function freshnessSection(days: readonly DayRecords[]): Section {
  const published = days.filter((d) => d.manifest?.runs.at(-1));
  const lag = (m: PartitionManifest) => {
    const run = m.runs.at(-1)!;
    return seconds(Date.parse(run.publishedAt) - Date.parse(run.sourceSnapshotAt));
  };
  return {
    id: 'freshness',
    title: 'Freshness: source snapshot to publish',
    description:
      'Seconds from the source snapshot the latest run read to its manifest being published: how old the published data was when readers first saw it.',
    chart: {
      type: 'bar',
      labels: days.map((d) => d.date),
      datasets: [{ label: 'snapshot to publish', data: days.map((d) => (d.manifest?.runs.at(-1) ? lag(d.manifest) : null)) }],
      valueTitle: 'seconds',
    },
    tables: [
      {
        columns: ['date', 'source snapshot', 'published', 'seconds'],
        rows: published.map((d) => {
          const run = d.manifest!.runs.at(-1)!;
          return [d.date, run.sourceSnapshotAt, run.publishedAt, lag(d.manifest!).toFixed(2)];
        }),
      },
    ],
  };
}

/** The stages of a run as the lake's timestamps split it. */
const STAGE_SPANS = [
  'plan-day (run start to extract snapshot)',
  'extract, transform-write, checks (snapshot to report)',
  'publish (report to manifest)',
  'run start to report (failed or replaced run)',
] as const;

function durationsSection(days: readonly DayRecords[]): Section {
  const runs = days.flatMap((d) =>
    d.reports
      .filter((r) => r.kind === 'publish')
      .map((report) => {
        const inManifest = d.manifest?.runs.find((r) => r.runId === report.runId);
        const start = runStartOf(report.runId);
        const checked = Date.parse(report.checkedAt);
        const spans: (number | null)[] = inManifest
          ? [
              seconds(Date.parse(inManifest.sourceSnapshotAt) - start),
              seconds(checked - Date.parse(inManifest.sourceSnapshotAt)),
              seconds(Date.parse(inManifest.publishedAt) - checked),
              null,
            ]
          : [null, null, null, seconds(checked - start)];
        return { date: d.date, runId: report.runId, spans };
      }),
  );
  const cell = (n: number | null): Cell => (n === null ? '-' : n.toFixed(2));
  return {
    id: 'durations',
    title: 'Run duration per stage',
    description:
      'Each run of the publishing kind, split by the times the lake records: the run id (plan-day’s start), the extract snapshot, the report, the manifest. A run that failed or was replaced since has only its start and its report.',
    chart: {
      type: 'bar',
      stacked: true,
      labels: runs.map((r) => `${r.date} ${r.runId.slice(-8)}`),
      datasets: STAGE_SPANS.map((label, i) => ({ label, data: runs.map((r) => r.spans[i]) })),
      valueTitle: 'seconds',
    },
    tables: [
      {
        columns: ['date', 'run', 'plan-day', 'extract to checks', 'publish', 'total'],
        rows: runs.map((r) => [r.date, r.runId, cell(r.spans[0]), cell(r.spans[1]), cell(r.spans[2]), cell(r.spans.reduce<number>((s, n) => s + (n ?? 0), 0))]),
      },
    ],
  };
}

function successSection(days: readonly DayRecords[]): Section {
  const publishRuns = (d: DayRecords) => d.reports.filter((r) => r.kind === 'publish');
  const total = days.reduce((s, d) => s + publishRuns(d).length, 0);
  const passed = days.reduce((s, d) => s + publishRuns(d).filter((r) => r.verdict === 'passed').length, 0);
  const failures = days.flatMap((d) => d.reports.filter((r) => r.verdict === 'failed'));
  const recheckFailures = failures.filter((r) => r.kind === 'recheck').length;
  const rechecks = days.reduce((s, d) => s + d.reports.filter((r) => r.kind === 'recheck').length, 0);
  // The counts the Failures table adds up to: the failed publishing runs and the failed re-checks.
  const failedRuns = `${total - passed} failed`;
  const failedRechecks = rechecks === 0 ? '' : `; ${recheckFailures} of ${rechecks} re-checks (etl validate) failed`;
  return {
    id: 'success',
    title: 'Success rate and failures',
    description: `${passed} of ${total} runs passed validation (${percent(rateOf(passed, total))}), ${failedRuns}${failedRechecks}. The ${failures.length} failure${failures.length === 1 ? '' : 's'} below with their reasons. A run that failed before validation leaves no report and is not counted.`,
    chart: {
      type: 'bar',
      stacked: true,
      labels: days.map((d) => d.date),
      datasets: [
        { label: 'passed', data: days.map((d) => publishRuns(d).filter((r) => r.verdict === 'passed').length) },
        { label: 'failed', data: days.map((d) => publishRuns(d).filter((r) => r.verdict === 'failed').length) },
      ],
      valueTitle: 'runs',
    },
    tables: [
      {
        caption: 'Runs per day',
        columns: ['date', 'runs', 'passed', 'failed', 'success rate'],
        rows: days
          .filter((d) => publishRuns(d).length > 0)
          .map((d) => {
            const runs = publishRuns(d);
            const ok = runs.filter((r) => r.verdict === 'passed').length;
            return [d.date, runs.length, ok, runs.length - ok, percent(rateOf(ok, runs.length))];
          }),
      },
      {
        caption: `Failures (${failures.length}: ${total - passed} of runs, ${recheckFailures} of re-checks)`,
        columns: ['date', 'run', 'kind', 'reason'],
        rows: failures.map((r) => [
          r.date,
          r.runId,
          r.kind,
          r.checks
            .filter((c) => !c.passed && c.severity === 'error')
            .map((c) => `${c.check}: ${c.actual} (expected ${c.expected})`)
            .join('; '),
        ]),
      },
    ],
  };
}

function topUsersSection(users: readonly TopUser[]): Section {
  const spend = (cents: number) => (cents / 100).toFixed(2);
  return {
    id: 'top-users',
    title: 'Top users by spend',
    description: 'The users who spent the most over the published rentals of these days (sum of rent_cost), joined with the latest users snapshot.',
    chart: {
      type: 'bar',
      horizontal: true,
      labels: users.map((u) => `${u.name ?? 'unknown'} (${u.userId})`),
      datasets: [{ label: 'spend', data: users.map((u) => u.spendCents / 100) }],
      valueTitle: 'spend',
    },
    tables: [
      {
        columns: ['rank', 'user_id', 'name', 'city', 'rentals', 'spend'],
        rows: users.map((u, i) => [i + 1, u.userId, u.name ?? '-', u.city ?? '-', u.rentals, spend(u.spendCents)]),
      },
    ],
  };
}

/** Every section of the report of `days` (sorted by date), with the top spenders already read. */
export function reportSections(days: readonly DayRecords[], topUsers: readonly TopUser[]): Section[] {
  return [
    rowsSection(days),
    quarantineSection(days),
    nullRateSection(days),
    duplicatesSection(days),
    negativesSection(days),
    dayOverDaySection(days),
    freshnessSection(days),
    durationsSection(days),
    successSection(days),
    topUsersSection(topUsers),
  ];
}

/** The report's headline numbers. */
export function reportSummary(days: readonly DayRecords[]): ReportSummary {
  const runs = days.flatMap((d) => d.reports.filter((r) => r.kind === 'publish'));
  return {
    days: days.length,
    published: days.filter((d) => d.manifest).length,
    rows: days.reduce((s, d) => s + (d.manifest?.rows ?? 0), 0),
    runs: runs.length,
    failedRuns: runs.filter((r) => r.verdict === 'failed').length,
  };
}
