/**
 * Validate: puts together what the day's ranges wrote (one range unless the day was cut into hour
 * ranges), checks the files against the source counts of the extract snapshots, the lake schema
 * and the quality thresholds, writes a JSON report, and only then publishes the partition, all
 * ranges in one manifest. A breach fails the run with `ValidationBreachError` and leaves the previously
 * published partition untouched.
 */
import { DEFAULTS, type QualityThresholds } from '../../core/config.js';
import type { CalendarDay, HourRange } from '../../core/day.js';
import { isRetryable, StagingError, ValidationBreachError } from '../../core/errors.js';
import { publishedKeyOf, reportKey, stagingPrefix } from '../../lake/layout.js';
import { nextManifest, readManifest, type ChangeSignal, type PartitionManifest } from '../../lake/manifest.js';
import { combinedSignal } from '../../lake/change-signal.js';
import { sourceChecks, undeclaredIn } from './source-checks.js';
import type { DayPublication } from '../../lake/day-publication.js';
import type { ObjectStore } from '../../lake/store.js';
import type { Logger } from '../../core/log.js';
import { expectedParquetColumns, footerColumns, footerNullCounts, readFooter } from '../../formats/parquet-footer.js';
import { lakeSchema } from '../../core/schema.js';
import { RENTALS, type FactTable } from '../../core/tables.js';
import { percent, rateOf, type CheckResult, type ValidationReport } from '../../lake/report-record.js';
import type { DayMetrics, RangeMetrics, TransformOutput, ValidateOutput, WriteMode, WrittenFile } from '../contracts.js';
import type { CompactOutcome } from '../compact/compact.js';
import { partitionMeasures, publishedMeasures } from './partition-quality.js';

/** What validate returns once the day is published. */
export type ValidateResult = ValidateOutput;

/** The run a day's ranges belong to, as the day plan made it. */
export interface RunOfDay {
  readonly runId: string;
  readonly mode: WriteMode;
  readonly owner: string;
  /** Counted for the whole day when planned. */
  readonly sourceDuplicateIds: number;
  /** The hour ranges the day was cut into; each must have been written, once. */
  readonly ranges: readonly HourRange[];
}

/** What the ranges of one run wrote for a day, put together. */
export interface DayWrite {
  readonly runId: string;
  readonly mode: WriteMode;
  readonly owner: string;
  /** The ranges' source counts added up. */
  readonly sourceCount: number;
  /** The earliest of the ranges' snapshot times: a source row changed after it may differ in the lake. */
  readonly snapshotAt: string;
  /** The ranges' change signals added up (absent when a range has none). */
  readonly signal?: ChangeSignal;
  /** Source columns the declaration does not name (schema drift), from the ranges' extracts. */
  readonly undeclaredColumns?: readonly string[];
  readonly files: readonly WrittenFile[];
  readonly quarantineKeys: readonly string[];
  readonly metrics: DayMetrics;
  readonly schemaFingerprint: string;
  /** The source's rows of the day before, counted in the snapshot of the range from hour 0. */
  readonly previousDayCount?: number;
}

/** The open rentals of two ranges (a day in progress) added up. */
function addOpen(a: RangeMetrics, b: RangeMetrics): Pick<RangeMetrics, 'open' | 'openNullCounts'> {
  const openNullCounts = { ...a.openNullCounts };
  for (const [name, n] of Object.entries(b.openNullCounts ?? {})) openNullCounts[name] = (openNullCounts[name] ?? 0) + n;
  return { open: (a.open ?? 0) + (b.open ?? 0), openNullCounts };
}

const NO_ROWS: RangeMetrics = { rows: 0, nullCounts: {}, negativeDurations: 0, negativeCosts: 0, quarantined: 0, excluded: 0, rejectReasons: {} };

function addMetrics(total: RangeMetrics, next: RangeMetrics): RangeMetrics {
  const nullCounts = { ...total.nullCounts };
  for (const [name, n] of Object.entries(next.nullCounts)) nullCounts[name] = (nullCounts[name] ?? 0) + n;
  const rejectReasons = { ...total.rejectReasons };
  for (const [reason, n] of Object.entries(next.rejectReasons) as [keyof RangeMetrics['rejectReasons'], number][]) {
    rejectReasons[reason] = (rejectReasons[reason] ?? 0) + n;
  }
  return {
    rows: total.rows + next.rows,
    nullCounts,
    negativeDurations: total.negativeDurations + next.negativeDurations,
    negativeCosts: total.negativeCosts + next.negativeCosts,
    quarantined: total.quarantined + next.quarantined,
    excluded: total.excluded + next.excluded,
    rejectReasons,
    alreadyPublished: (total.alreadyPublished ?? 0) + (next.alreadyPublished ?? 0),
    changedSincePublish: (total.changedSincePublish ?? 0) + (next.changedSincePublish ?? 0),
    ...(total.open !== undefined || next.open !== undefined ? addOpen(total, next) : {}),
    // Every range of an append reads the same published partition.
    publishedDuplicateIds: Math.max(total.publishedDuplicateIds ?? 0, next.publishedDuplicateIds ?? 0),
  };
}

/**
 * Puts the ranges of one run together. They must belong to `run` and be exactly the ranges its day
 * plan made (so they cover the day without a gap or an overlap); anything else is a wiring fault,
 * not data to publish.
 */
export function combineRanges(run: RunOfDay, written: readonly TransformOutput[]): DayWrite {
  if (written.length === 0) throw new StagingError(`run ${run.runId} has no written ranges`);
  const ranges = [...written].sort((a, b) => a.hours.from - b.hours.from);
  let nextHour = 0;
  for (const range of ranges) {
    if (range.runId !== run.runId) throw new StagingError(`a range written by run ${range.runId} was handed to run ${run.runId}`);
    if (range.hours.from !== nextHour) throw new StagingError(`run ${run.runId}: the written ranges do not cover hour ${nextHour} of the day exactly once`);
    if (range.schemaFingerprint !== ranges[0].schemaFingerprint) throw new StagingError(`run ${run.runId}: ranges written with different schemas`);
    nextHour = range.hours.to;
  }
  const planned = [...run.ranges].sort((a, b) => a.from - b.from);
  const matches = planned.length === ranges.length && planned.every((p, i) => p.from === ranges[i].hours.from && p.to === ranges[i].hours.to);
  if (!matches) {
    const list = (hours: readonly HourRange[]) => hours.map((h) => `${h.from}-${h.to}`).join(', ');
    throw new StagingError(`run ${run.runId}: written hour ranges [${list(ranges.map((r) => r.hours))}] are not the planned [${list(planned)}]`);
  }
  const metrics = ranges.map((range) => range.metrics).reduce(addMetrics, NO_ROWS);
  return {
    runId: run.runId,
    mode: run.mode,
    owner: run.owner,
    sourceCount: ranges.reduce((n, range) => n + range.sourceCount, 0),
    snapshotAt: ranges.map((range) => range.snapshotAt).sort()[0],
    ...combinedSignal(ranges),
    ...undeclaredIn(ranges),
    files: ranges.flatMap((range) => range.files),
    quarantineKeys: ranges.flatMap((range) => (range.quarantineKey ? [range.quarantineKey] : [])),
    // Over the partition as published after this run: the source's duplicates (an append adds no
    // key the partition holds) and those the partition it builds on already has.
    metrics: { ...metrics, duplicateIds: run.sourceDuplicateIds + (metrics.publishedDuplicateIds ?? 0) },
    schemaFingerprint: ranges[0].schemaFingerprint,
    previousDayCount: ranges[0].previousDayCount,
  };
}

export interface ValidateRequest {
  readonly store: ObjectStore;
  readonly day: CalendarDay;
  readonly run: RunOfDay;
  /** What each range of the day wrote (one entry unless the day was cut into hour ranges). */
  readonly written: readonly TransformOutput[];
  readonly thresholds: QualityThresholds;
  readonly log?: Logger;
  /** The table the ranges are of: the declared `rentals` unless told (the manifest holds that one only). */
  readonly table?: FactTable & { readonly name: PartitionManifest['table'] };
  /**
   * The run's publication of the day: its lease is confirmed right before the publish, which it
   * takes (a benchmark of the stage holds a publication with no lease).
   */
  readonly publication: Pick<DayPublication, 'confirm' | 'publish' | 'sweep'>;
  /**
   * An append that leaves the partition with more than `aboveFiles` files runs `run` right after
   * its publish (a compaction under the day's lease: `compact/run-compaction.ts`).
   */
  readonly compaction?: { readonly aboveFiles: number; readonly run: () => Promise<CompactOutcome> };
}

/** A number of rows, or a rate: a fraction of `of` rows. */
type Measure = { readonly unit: 'rows' } | { readonly unit: 'rate'; readonly of: number };

/** An error unless `value` is at most `limit`; a rate is written as a percentage. */
function atMost(check: string, value: number, limit: number, measure: Measure): CheckResult {
  const format = measure.unit === 'rate' ? percent : String;
  return { check, passed: value <= limit, severity: 'error', expected: `<= ${format(limit)}`, actual: format(value), value, limit, ...measure };
}

/** An error-level check of `part` rows of `whole` against a rate limit. */
function rateAtMost(check: string, part: number, whole: number, limit: number): CheckResult {
  return atMost(check, rateOf(part, whole), limit, { unit: 'rate', of: whole });
}

/** What the footers of a set of files say. */
export interface FooterSummary {
  rows: number;
  nullCounts: Record<string, number>;
  schemaMismatches: string[];
  missing: string[];
}

/** Reads the footers of `table`'s lake files: their rows, NULLs, and how their columns differ from its lake schema. */
export async function summariseFooters(table: FactTable, store: ObjectStore, files: readonly Pick<WrittenFile, 'key'>[]): Promise<FooterSummary> {
  const expectedColumns = expectedParquetColumns(lakeSchema(table));
  const summary: FooterSummary = { rows: 0, nullCounts: {}, schemaMismatches: [], missing: [] };
  for (const file of files) {
    const head = await store.head(file.key);
    if (!head) {
      summary.missing.push(file.key);
      continue;
    }
    const footer = await readFooter(store, file.key, head.size);
    summary.rows += Number(footer.num_rows);
    const columns = footerColumns(footer);
    if (columns.join('\n') !== expectedColumns.join('\n')) {
      const diff = columns.filter((c) => !expectedColumns.includes(c)).concat(expectedColumns.filter((c) => !columns.includes(c)).map((c) => `missing ${c}`));
      summary.schemaMismatches.push(`${file.key}: ${diff.join(', ') || 'column order differs'}`);
    }
    for (const [name, n] of Object.entries(footerNullCounts(footer))) summary.nullCounts[name] = (summary.nullCounts[name] ?? 0) + n;
  }
  return summary;
}

/** Every file named is there to read. */
export function filesPresentCheck(footers: Pick<FooterSummary, 'missing'>, expected: string): CheckResult {
  const { missing } = footers;
  return {
    check: 'files_present',
    passed: missing.length === 0,
    severity: 'error',
    expected,
    actual: missing.length === 0 ? 'all present' : `missing ${missing.join(', ')}`,
    value: missing.length,
    limit: 0,
    unit: 'count',
  };
}

/** Every file's footer carries the lake schema. */
export function schemaCheck(footers: Pick<FooterSummary, 'schemaMismatches'>): CheckResult {
  const mismatches = footers.schemaMismatches;
  return {
    check: 'schema',
    passed: mismatches.length === 0,
    severity: 'error',
    expected: 'every file has the lake schema',
    actual: mismatches.length === 0 ? 'all match' : mismatches.join('; '),
    value: mismatches.length,
    limit: 0,
    unit: 'count',
  };
}

/**
 * The checks of one run's written files of `table`, named after what its declaration names (the
 * key, the measures, the nullable columns); pure given the footers, for the report and the tests.
 */
export function qualityChecks(
  table: FactTable,
  write: Pick<DayWrite, 'sourceCount' | 'metrics'>,
  footers: FooterSummary,
  thresholds: QualityThresholds,
  previousRows: number | undefined,
  partition?: DayMetrics,
): CheckResult[] {
  const { metrics, sourceCount } = write;
  // Rates and duplicates are judged on the partition as the run publishes it (an append's: its
  // published rows and its own); open rentals of a day in progress are no NULL anomaly.
  const judged = partition ?? metrics;
  const anomalousNulls = (name: string) => (judged.nullCounts[name] ?? 0) - (judged.openNullCounts?.[name] ?? 0);
  const { negativeInterval, negativeValue } = table.measures;
  const fields = lakeSchema(table).fields;
  const expectedRows = sourceCount - metrics.excluded - (metrics.alreadyPublished ?? 0);
  const checks: CheckResult[] = [
    filesPresentCheck(footers, 'every written file'),
    {
      check: 'row_count',
      passed: footers.rows === expectedRows,
      severity: 'error',
      expected: `${expectedRows} (source count in the extract snapshot${metrics.excluded ? ` less ${metrics.excluded} quarantined rows with a NULL required value` : ''}${metrics.alreadyPublished ? ` less ${metrics.alreadyPublished} rows already published` : ''})`,
      actual: String(footers.rows),
      value: footers.rows,
      limit: expectedRows,
      unit: 'rows',
    },
    schemaCheck(footers),
    {
      check: 'footer_null_counts',
      passed: fields.every((f) => (footers.nullCounts[f.name] ?? 0) === (metrics.nullCounts[f.name] ?? 0)),
      severity: 'error',
      expected: JSON.stringify(metrics.nullCounts),
      actual: JSON.stringify(footers.nullCounts),
    },
    atMost(`duplicate_${table.key}`, judged.duplicateIds, thresholds.maxDuplicateIds, { unit: 'rows' }),
    rateAtMost('quarantine_rate', judged.quarantined, judged.rows, thresholds.maxQuarantineRate),
    ...(negativeInterval ? [rateAtMost(`${negativeInterval.name}_rate`, judged.negativeDurations, judged.rows, thresholds.maxNegativeDurationRate)] : []),
    ...(negativeValue ? [rateAtMost(`${negativeValue.name}_rate`, judged.negativeCosts, judged.rows, thresholds.maxNegativeCostRate)] : []),
    ...fields.filter((f) => f.nullable).map((f) => rateAtMost(`null_rate.${f.name}`, anomalousNulls(f.name), judged.rows, thresholds.maxNullRate)),
  ];
  if (metrics.alreadyPublished !== undefined && metrics.alreadyPublished > 0) {
    // An append keeps published rows as they are: rows changed since mean the partition is stale.
    checks.push({
      check: 'changed_since_publish',
      passed: (metrics.changedSincePublish ?? 0) === 0,
      severity: 'warning',
      expected: `no published row changed in the source since it was read (${metrics.alreadyPublished} rows already published, left as they are)`,
      actual: `${metrics.changedSincePublish ?? 0} changed: overwrite the day to take them`,
      value: metrics.changedSincePublish ?? 0,
      limit: 0,
      unit: 'rows',
    });
  }
  if (previousRows !== undefined) {
    // The day as it will be published: an append's new rows and those it keeps.
    const rows = partition?.rows ?? metrics.rows + (metrics.alreadyPublished ?? 0);
    const change = previousRows === 0 ? (rows === 0 ? 0 : Number.POSITIVE_INFINITY) : Math.abs(rows - previousRows) / previousRows;
    const limit = thresholds.maxDayOverDayChange ?? DEFAULTS.dayOverDayWarnAbove;
    checks.push({
      check: 'day_over_day_change',
      passed: change <= limit,
      severity: thresholds.maxDayOverDayChange === undefined ? 'warning' : 'error',
      expected: `<= ${percent(limit)} change against ${previousRows} source rows the day before`,
      actual: Number.isFinite(change) ? percent(change) : 'from 0 rows',
      // A change from 0 rows has no finite rate: no value.
      ...(Number.isFinite(change) ? { value: change } : {}),
      limit,
      unit: 'rate',
      of: previousRows,
    });
  }
  return checks;
}

export async function writeReport(store: ObjectStore, key: string, report: ValidationReport): Promise<void> {
  await store.putObject(key, `${JSON.stringify(report, null, 2)}\n`, { contentType: 'application/json' });
}

/** Best-effort removal of a failed run's unpublished files; the staging area goes too. */
async function discardRun(store: ObjectStore, write: DayWrite): Promise<void> {
  const staged = await store.list(stagingPrefix(write.runId)).catch(() => []);
  const keys = [...write.files.map((f) => f.key), ...write.quarantineKeys, ...staged.map((o) => o.key)];
  await store.deleteObjects(keys).catch(() => undefined);
}

/** The answer of a validate that published `write` (or had published it: a retry). */
function publishedResult(
  day: CalendarDay,
  write: DayWrite,
  published: { rows: number; partitionRows: number; files: number; bytes: number; warnings: string[]; removed: number; publishWindowMs: number },
  started: number,
): ValidateResult {
  return {
    runId: write.runId,
    date: day.iso,
    verdict: 'passed',
    sourceCount: write.sourceCount,
    rows: published.rows,
    partitionRows: published.partitionRows,
    files: published.files,
    bytes: published.bytes,
    quarantined: write.metrics.quarantined,
    warnings: published.warnings,
    reportKey: reportKey(day, write.runId),
    removed: published.removed,
    publishWindowMs: published.publishWindowMs,
    seconds: (performance.now() - started) / 1000,
  };
}

/**
 * `manifest` with every run's snapshot moved forward to `snapshotAt`, for an append that read every
 * source row of the day changed after the partition's snapshot (`extract/append-bound.ts`) and found
 * none of the published ones among them: the partition then holds the source's day as of its own
 * snapshot, which is what the one rule for "current" (`dayCurrency`) measures changes from.
 */
function confirmedThrough(manifest: PartitionManifest, snapshotAt: string): PartitionManifest {
  return { ...manifest, runs: manifest.runs.map((run) => (run.sourceSnapshotAt < snapshotAt ? { ...run, sourceSnapshotAt: snapshotAt } : run)) };
}

/** Checks the run's files, writes the report and, when every error-level check passes, publishes. */
export async function validateAndPublish(request: ValidateRequest): Promise<ValidateResult> {
  const started = performance.now();
  const { store, day, thresholds, publication } = request;
  const table = request.table ?? RENTALS;
  const write = combineRanges(request.run, request.written);
  // The run holds the day, so no one else publishes it meanwhile: the manifest read now is the one
  // the commit builds on (and the commit's conditional write would refuse if someone had).
  const current = await readManifest(store, day);
  const publishedRun = current?.manifest.runs.find((r) => r.runId === write.runId);
  if (current && publishedRun) {
    // A retry of a validate that published already (its answer was lost: a timeout after the
    // commit): the staged files are gone, the manifest names the run; answer from it. Its staging
    // may be left if the answer was lost before the clean-up: swept if the day is still the run's.
    if (
      await publication.confirm().then(
        () => true,
        () => false,
      )
    )
      await publication.sweep([write.runId]);
    const files = current.manifest.files.filter((f) => f.runId === write.runId);
    const bytes = files.reduce((s, f) => s + f.bytes, 0);
    const answer = { rows: publishedRun.rows, partitionRows: current.manifest.rows, files: files.length, bytes, warnings: [], removed: 0, publishWindowMs: 0 };
    return publishedResult(day, write, answer, started);
  }
  await publication.confirm();
  const footers = await summariseFooters(table, store, write.files);
  // The day before as the source holds it (extract's snapshot), not its manifest: that one may be
  // mid-publish by another run at this moment, and the check must not depend on scheduling. A day
  // before without rows (the source's first day) has nothing to compare with.
  const previousRows = write.previousDayCount === 0 ? undefined : write.previousDayCount;
  // An append is judged on the partition it publishes: the published rows' measures and its own.
  const appendsTo = write.mode === 'append' ? current?.manifest : undefined;
  const partition = appendsTo ? partitionMeasures(await publishedMeasures(store, day, appendsTo), write.metrics) : undefined;
  const checks = [
    ...qualityChecks(table, write, footers, thresholds, previousRows, partition),
    ...sourceChecks(write, write.metrics.rows + (write.metrics.alreadyPublished ?? 0), thresholds),
  ];
  const failed = checks.filter((c) => !c.passed && c.severity === 'error');
  const warnings = checks.filter((c) => !c.passed && c.severity === 'warning');
  const bytes = write.files.reduce((s, f) => s + f.bytes, 0);
  const report: ValidationReport = {
    table: table.name,
    date: day.iso,
    runId: write.runId,
    kind: 'publish',
    verdict: failed.length === 0 ? 'passed' : 'failed',
    checkedAt: new Date().toISOString(),
    sourceCount: write.sourceCount,
    rows: footers.rows,
    files: write.files.length,
    bytes,
    quarantined: write.metrics.quarantined,
    metrics: write.metrics,
    ...(partition ? { partition } : {}),
    checks,
  };
  const key = reportKey(day, write.runId);
  await writeReport(store, key, report);
  for (const w of warnings) request.log?.warn('quality warning', { check: w.check, expected: w.expected, actual: w.actual });
  if (failed.length > 0) {
    await discardRun(store, write);
    request.log?.error('validation failed', { checks: failed.map((c) => c.check), report: key });
    throw new ValidationBreachError(failed, key);
  }

  const appended = nextManifest(current?.manifest, {
    table: table.name,
    date: day.iso,
    runId: write.runId,
    mode: write.mode,
    schemaFingerprint: write.schemaFingerprint,
    files: write.files.map((f) => ({ ...f, key: publishedKeyOf(write.runId, f.key) })),
    rows: footers.rows,
    quarantine: write.quarantineKeys,
    // The source rows this run stands for: an append's are those it added (the rest were
    // published by the runs before it), so the runs' counts add up to the day's.
    sourceCount: write.sourceCount - (write.metrics.alreadyPublished ?? 0),
    sourceSnapshotAt: write.snapshotAt,
    quarantined: write.metrics.quarantined,
    signal: write.signal,
  });
  const next = appendsTo && (write.metrics.changedSincePublish ?? 0) === 0 ? confirmedThrough(appended, write.snapshotAt) : appended;
  await publication.confirm();
  let outcome: Awaited<ReturnType<DayPublication['publish']>>;
  try {
    outcome = await publication.publish({ staged: write.files.map((f) => f.key), next, current });
  } catch (error) {
    // A retry may still publish these files; a terminal failure never will.
    if (!isRetryable(error)) await discardRun(store, write);
    throw error;
  }
  const result = publishedResult(
    day,
    write,
    {
      rows: footers.rows,
      partitionRows: next.rows,
      files: write.files.length,
      bytes,
      warnings: warnings.map((w) => `${w.check}: expected ${w.expected}, got ${w.actual}`),
      removed: outcome.removed.length,
      publishWindowMs: Math.round(outcome.windowMs * 10) / 10,
    },
    started,
  );
  request.log?.info('published', { rows: result.rows, partition_rows: next.rows, files: result.files, removed: result.removed, report: key });
  const compaction = request.compaction;
  if (!compaction || write.mode !== 'append' || next.files.length <= compaction.aboveFiles) return result;
  // The append is published whatever the compaction does: one that fails leaves the files as
  // they are (the next append, the nightly run or `etl compact` tries again).
  try {
    const compacted = await compaction.run();
    return { ...result, compacted: { filesBefore: compacted.filesBefore, filesAfter: compacted.filesAfter, runId: compacted.runId } };
  } catch (error) {
    request.log?.warn('compaction failed', { error: error instanceof Error ? error.message : String(error) });
    return { ...result, warnings: [...result.warnings, `compaction after the append failed: ${error instanceof Error ? error.message : String(error)}`] };
  }
}
