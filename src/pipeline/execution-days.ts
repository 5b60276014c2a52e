/**
 * What a local execution learns of each day from its stages' answers (source rows, what each range
 * wrote, what validate published) and from the plan, put together as the day's outcome: the CLI's
 * progress lines, its summary table and `--json` read it.
 */
import type { RunPlan, RunReason, SkipReason, TransformOutput, ValidateOutput } from './contracts.js';
import { causeMessage } from './definition.js';

/** How one day of an execution went, as the CLI's progress lines and summary table show it. */
export interface DayOutcome {
  readonly date: string;
  readonly verdict: 'passed' | 'failed' | 'skipped';
  readonly sourceRows?: number;
  readonly writtenRows?: number;
  readonly quarantined?: number;
  readonly files?: number;
  readonly bytes?: number;
  /** From the day's first stage starting to its last one ending; unknown for a remote execution (printed as -). */
  readonly seconds?: number;
  readonly error?: string;
  readonly note?: string;
  /** How long the publish let a glob reader see old and new files together (`DayPublication.publish`). */
  readonly publishWindowMs?: number;
  /** Why the day ran, or was left alone (a day of the schedule's lookback that is current), from the plan. */
  readonly reason?: { readonly kind: RunReason | SkipReason; readonly detail?: string };
}

/** A day's entry in the execution's output (`DayPassed`/`DayFailed`), with the error a failed one failed with. */
export type DayResult = { date: string; status: 'passed' | 'failed'; error?: string; cause?: string };

/** What the day's stages returned so far, by the first hour of each range (a retry replaces its range's entry). */
interface DayRecord {
  started: number;
  finished?: number;
  sourceRows: Map<number, number>;
  written: Map<number, TransformOutput>;
  validate?: ValidateOutput;
}

function sum(values: Iterable<number>): number | undefined {
  let total: number | undefined;
  for (const value of values) total = (total ?? 0) + value;
  return total;
}

const byDate = (a: { date: string }, b: { date: string }) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0);

/** The days of one execution, as its stages report them. */
export class ExecutionDays {
  readonly #records = new Map<string, DayRecord>();
  /** The plan's answer, once Plan has run. */
  plan: RunPlan | undefined;

  #record(date: string): DayRecord {
    let r = this.#records.get(date);
    if (!r) {
      r = { started: performance.now(), sourceRows: new Map(), written: new Map() };
      this.#records.set(date, r);
    }
    return r;
  }

  /** The dates any stage has run for. */
  get dates(): string[] {
    return [...this.#records.keys()];
  }

  started(date: string): void {
    this.#record(date).started = performance.now();
  }

  extracted(date: string, fromHour: number, sourceCount: number): void {
    this.#record(date).sourceRows.set(fromHour, sourceCount);
  }

  wrote(date: string, written: TransformOutput): void {
    this.#record(date).written.set(written.hours.from, written);
  }

  validated(date: string, published: ValidateOutput): void {
    this.#record(date).validate = published;
  }

  finished(date: string): void {
    const r = this.#records.get(date);
    if (r && r.finished === undefined) r.finished = performance.now();
  }

  /** The outcome of a day from its entry in the output and what its stages returned. */
  outcomeOf(day: DayResult): DayOutcome {
    const r = this.#records.get(day.date);
    const v = r?.validate;
    const written = [...(r?.written.values() ?? [])];
    const planned = this.plan?.reasons?.find((p) => p.date === day.date);
    return {
      date: day.date,
      verdict: day.status,
      sourceRows: v?.sourceCount ?? sum(r?.sourceRows.values() ?? []),
      writtenRows: v?.rows ?? sum(written.map((w) => w.metrics.rows)),
      quarantined: v?.quarantined ?? sum(written.map((w) => w.metrics.quarantined)),
      files: v?.files ?? sum(written.map((w) => w.files.length)),
      bytes: v?.bytes,
      seconds: r ? ((r.finished ?? performance.now()) - r.started) / 1000 : 0,
      error: day.status === 'failed' ? `${day.error}: ${causeMessage(day.cause)}` : undefined,
      note: v && v.warnings.length > 0 ? `${v.warnings.length} warning(s)` : undefined,
      publishWindowMs: v?.publishWindowMs,
      reason: planned ? { kind: planned.kind, detail: planned.detail } : { kind: 'requested' },
    };
  }

  /** The outcomes of `days`, with the days of the schedule's lookback the plan left alone beside them, in date order. */
  outcomes(days: readonly DayResult[]): DayOutcome[] {
    const skipped = (this.plan?.skipped ?? []).map((s): DayOutcome => ({ date: s.date, verdict: 'skipped', reason: { kind: s.kind, detail: s.detail } }));
    return [...days.map((day) => this.outcomeOf(day)), ...skipped].sort(byDate);
  }
}
