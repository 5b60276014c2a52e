/**
 * The lineage columns of one run's lake rows (`etl_run_id`, `etl_extracted_at`): the same value on
 * every row, so they are built once for the largest batch and sliced for each batch. The caller
 * owns the object (one per transform of a range), so two runs in one process share nothing.
 */
import { type Data, type DataType, makeData, type TimestampMicrosecond, Utf8 } from 'apache-arrow';

/** The lineage columns of one run read at one snapshot time. */
export class LineageColumns {
  private runIds: Data<Utf8> | undefined;
  private extractedAt: Data | undefined;

  constructor(
    private readonly runId: string,
    private readonly extractedAtMicros: bigint,
  ) {}

  /** `length` copies of the run id. */
  runIdColumn(length: number): Data<Utf8> {
    if (!this.runIds || this.runIds.length < length) {
      const bytes = Buffer.from(this.runId, 'utf8');
      const data = new Uint8Array(bytes.length * length);
      for (let i = 0; i < length; i++) data.set(bytes, i * bytes.length);
      const valueOffsets = new Int32Array(length + 1);
      for (let i = 0; i <= length; i++) valueOffsets[i] = i * bytes.length;
      this.runIds = makeData({ type: new Utf8(), length, nullCount: 0, data, valueOffsets });
    }
    return this.runIds.length === length ? this.runIds : this.runIds.slice(0, length);
  }

  /** `length` copies of the extraction time, as `type` (the lake schema's timestamp). */
  extractedAtColumn(type: DataType, length: number): Data {
    if (!this.extractedAt || this.extractedAt.length < length) {
      this.extractedAt = makeData({ type: type as TimestampMicrosecond, length, nullCount: 0, data: new BigInt64Array(length).fill(this.extractedAtMicros) });
    }
    return this.extractedAt.length === length ? this.extractedAt : this.extractedAt.slice(0, length);
  }
}
