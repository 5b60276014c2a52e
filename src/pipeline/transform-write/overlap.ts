/**
 * Extract and transform-write of one range at once, in a local run. The state machine runs them one
 * after the other (each a Lambda with its own staging object in between); in one process that
 * leaves Postgres idle while this process casts and encodes, and reads back what it just wrote. So
 * a local run's extract hands each batch it stages to a transform of its range started as soon as
 * the range is counted, and the TransformWrite state that follows takes that transform's result
 * instead of reading the staging object.
 *
 * Nothing is skipped: extract still stages every batch and checks their count against its
 * snapshot's; the transform is the stage's own (`transformDay`, same request, same files); the
 * TransformWrite state still runs under the day's lease and its output goes through the same
 * contract. When the transform fails, the state fails with its error and its retry reads the
 * staging object as a Lambda would; when extract fails, the transform is stopped and its files
 * removed before extract's retry.
 */
import type { RecordBatch } from 'apache-arrow';
import type { Config } from '../../core/config.js';
import type { ParquetEncoder } from '../../formats/parquet.js';
import type { Logger } from '../../core/log.js';
import type { ObjectStore } from '../../lake/store.js';
import type { RangeEvent, TransformEvent } from '../contracts.js';
import type { BatchSink } from '../extract/extract.js';
import { extractRange } from '../extract/index.js';
import type { AnyStage } from '../stage.js';
import { transformRequestOf, withCounts } from './index.js';
import { type ExtractCounts, transformDay, type TransformWritten } from './transform.js';

/** Batches extract may be ahead of the transform: it waits beyond that. */
const QUEUE_BATCHES = 2;

/** The batches extract hands over, read by the transform as they come. */
class BatchQueue implements BatchSink, AsyncIterable<RecordBatch> {
  #items: RecordBatch[] = [];
  #ended = false;
  #error: unknown;
  /** The reader stopped (the transform failed): batches are dropped, the writer never waits. */
  #abandoned = false;
  #wakeReader: (() => void) | undefined;
  #wakeWriter: (() => void) | undefined;

  async write(batch: RecordBatch): Promise<void> {
    if (this.#abandoned) return;
    this.#items.push(batch);
    this.#wake('reader');
    while (this.#items.length > QUEUE_BATCHES && !this.#abandoned) await new Promise<void>((resolve) => (this.#wakeWriter = resolve));
  }

  end(): void {
    this.#ended = true;
    this.#wake('reader');
  }

  fail(error: unknown): void {
    this.#error = error ?? new Error('extract failed');
    this.#ended = true;
    this.#wake('reader');
  }

  /** The reader is gone (its transform ended, failed half-way or not): drop what comes, never make extract wait. */
  abandon(): void {
    this.#abandoned = true;
    this.#items = [];
    this.#wake('writer');
  }

  #wake(who: 'reader' | 'writer'): void {
    const wake = who === 'reader' ? this.#wakeReader : this.#wakeWriter;
    if (who === 'reader') this.#wakeReader = undefined;
    else this.#wakeWriter = undefined;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<RecordBatch> {
    try {
      for (;;) {
        if (this.#error !== undefined) throw this.#error;
        const batch = this.#items.shift();
        if (batch) {
          this.#wake('writer');
          yield batch;
        } else if (this.#ended) return;
        else await new Promise<void>((resolve) => (this.#wakeReader = resolve));
      }
    } finally {
      this.abandon();
    }
  }
}

/** A transform started by extract: which staging object it stands for, and its result. */
interface Started {
  readonly stagingKey: string;
  readonly work: Promise<TransformWritten>;
  /** The lake it writes to (its files are removed there when no TransformWrite state takes them). */
  readonly store: ObjectStore;
}

export interface RangeOverlapOptions {
  /** The execution's configuration (the transform's slice of it). */
  readonly config: Pick<Config, 'timeZone' | 'rowsPerFile' | 'rowGroupRows' | 'openRentalMaxMinutes'>;
  /** A logger of the transform-write stage, for each transform. */
  readonly logger: () => Logger;
  /** Told of every transform started, so an interrupted execution waits for it too. */
  readonly track: (work: Promise<unknown>) => void;
  /** How the transforms make their Parquet bytes (the execution's encoding threads). */
  readonly encode?: ParquetEncoder;
}

/** A range's identity in both stages' events: its run and its hours. */
const rangeOf = (event: { runId: string; hours?: { from: number; to: number } }) => `${event.runId}/${event.hours?.from ?? 'day'}-${event.hours?.to ?? ''}`;

/** Removes what a transform nobody will take wrote. */
async function discard(store: ObjectStore, started: Started): Promise<void> {
  const output = await started.work.catch(() => undefined);
  if (!output) return;
  const keys = [...output.files.map((f) => f.key), ...(output.quarantineKey ? [output.quarantineKey] : [])];
  await store.deleteObjects(keys).catch(() => undefined);
}

/** One local execution's overlapped ranges: the extract and transform-write stages wired to share them. */
export class RangeOverlap {
  readonly #started = new Map<string, Started>();

  constructor(private readonly options: RangeOverlapOptions) {}

  /** `stage` (extract's) with its batches handed to a transform of the range as well. */
  extractStage(stage: AnyStage): AnyStage {
    return {
      ...stage,
      run: async (event: RangeEvent, context) => {
        const range = rangeOf(event);
        // A retry of the range: what its first attempt's transform wrote goes first.
        const earlier = this.#started.get(range);
        if (earlier) {
          this.#started.delete(range);
          await discard(context.store, earlier);
        }
        try {
          return await extractRange(event, context, (known) => {
            const { stagingKey, ...fields } = known;
            // Extract counts the range after its rows: the TransformWrite state's event brings the counts (`withCounts`).
            const transformEvent: Omit<TransformEvent, ExtractCounts> = {
              ...fields,
              date: event.date,
              mode: event.mode,
              owner: event.owner ?? event.runId,
              staging: { rentals: { key: stagingKey, rows: 0, bytes: 0 } },
              seconds: 0,
            };
            const queue = new BatchQueue();
            const log = this.options.logger();
            log.appendKeys({ date: event.date.iso, run_id: event.runId });
            const request = transformRequestOf(transformEvent, this.options.config, context.store, log);
            const work = transformDay({ ...request, batches: queue, encode: this.options.encode });
            // A transform that fails while writing leaves its batches unread, the queue among them.
            work.catch(() => undefined).finally(() => queue.abandon());
            this.options.track(work);
            this.#started.set(range, { stagingKey, work, store: context.store });
            return queue;
          });
        } catch (error) {
          const started = this.#started.get(range);
          this.#started.delete(range);
          if (started) await discard(context.store, started);
          throw error;
        }
      },
    };
  }

  /**
   * Removes what the transforms no TransformWrite state took wrote (their range's state never ran:
   * a sibling range failed for good, or the state failed before it asked): called once the
   * execution's stages have settled, so no staged file of a given-up day outlives the execution.
   */
  async discardUnclaimed(): Promise<void> {
    const unclaimed = [...this.#started.values()];
    this.#started.clear();
    await Promise.all(unclaimed.map((started) => discard(started.store, started)));
  }

  /** `stage` (transform-write's), taking the result of the transform its extract started when there is one. */
  transformStage(stage: AnyStage): AnyStage {
    return {
      ...stage,
      run: (event: TransformEvent, context) => {
        const range = rangeOf(event);
        const started = this.#started.get(range);
        if (!started || started.stagingKey !== event.staging.rentals.key) return stage.run(event, context);
        this.#started.delete(range);
        return started.work.then((output) => withCounts(output, event));
      },
    };
  }
}
