/**
 * A content digest of a stream of rows: one SHA-256 per column over its values in row order (each
 * row's validity, then its value's bytes; a string's length, then its bytes), whatever the batches'
 * boundaries, and the column's Arrow type (150 means 1.50 at a decimal scale of 2, 15.0 at 1; a
 * timestamp's integer means nothing without its unit). Two streams holding the same rows in the same
 * order digest the same; the digest depends on the order, and compaction keeps the rows' order, so
 * the digest of the files it read and of the files it wrote must agree.
 */
import { createHash, type Hash } from 'node:crypto';
import { type Data, DataType, type RecordBatch } from 'apache-arrow';
import { validity } from '../../formats/arrow-rows.js';

/** The running hashes of one column. */
interface ColumnHashes {
  /** The column's Arrow types (one, unless batches disagree). */
  readonly types: Set<string>;
  readonly valid: Hash;
  readonly values: Hash;
  readonly lengths: Hash;
}

/** The digest of rows added batch by batch (`add`), then read once (`digest`). */
export class ContentDigest {
  private readonly columns = new Map<string, ColumnHashes>();
  /** Rows added so far. */
  rows = 0;

  /** Adds the rows of `batch`, column by column. */
  add(batch: RecordBatch): void {
    for (const [i, field] of batch.schema.fields.entries()) {
      let hashes = this.columns.get(field.name);
      if (!hashes) {
        hashes = { types: new Set(), valid: createHash('sha256'), values: createHash('sha256'), lengths: createHash('sha256') };
        this.columns.set(field.name, hashes);
      }
      hashes.types.add(String(field.type));
      addColumn(hashes, batch.data.children[i] as Data);
    }
    this.rows += batch.numRows;
  }

  /** The digest: the columns' types and hashes, by name, hashed together (hex). Read once. */
  digest(): string {
    const all = createHash('sha256');
    for (const name of [...this.columns.keys()].sort()) {
      const { types, valid, values, lengths } = this.columns.get(name)!;
      all.update(`${name}:${[...types].join('|')}:${valid.digest('hex')}:${values.digest('hex')}:${lengths.digest('hex')};`);
    }
    return all.update(`rows=${this.rows}`).digest('hex');
  }
}

function addColumn(hashes: ColumnHashes, data: Data): void {
  const length = data.length;
  const isValid = validity(data);
  const flags = new Uint8Array(length).fill(1);
  if (data.nullCount > 0) for (let row = 0; row < length; row++) flags[row] = isValid(row) ? 1 : 0;
  hashes.valid.update(flags);
  const type = data.type;
  if (DataType.isUtf8(type) || DataType.isBinary(type)) {
    const offsets = data.valueOffsets as Int32Array;
    const bytes = data.values as Uint8Array;
    const lengths = new Int32Array(length);
    for (let row = 0; row < length; row++) {
      if (flags[row] === 0) continue;
      lengths[row] = offsets[row + 1] - offsets[row];
      if (lengths[row] > 0) hashes.values.update(bytes.subarray(offsets[row], offsets[row + 1]));
    }
    hashes.lengths.update(new Uint8Array(lengths.buffer));
    return;
  }
  if (DataType.isBool(type)) {
    const bits = data.values as Uint8Array;
    const out = new Uint8Array(length);
    for (let row = 0; row < length; row++) {
      const at = data.offset + row;
      out[row] = flags[row] === 1 ? (bits[at >> 3] >> (at & 7)) & 1 : 0;
    }
    hashes.values.update(out);
    return;
  }
  if (DataType.isDictionary(type)) throw new Error(`content digest: dictionary column ${String(type)} (read it as plain values)`);
  // Fixed width: the values of this slice, a NULL's slot zeroed (its bytes mean nothing).
  const values = data.values as ArrayBufferView & { readonly BYTES_PER_ELEMENT: number };
  const stride = values.BYTES_PER_ELEMENT * data.stride;
  let bytes = new Uint8Array(values.buffer, values.byteOffset, length * stride);
  if (data.nullCount > 0) {
    bytes = bytes.slice();
    for (let row = 0; row < length; row++) if (flags[row] === 0) bytes.fill(0, row * stride, (row + 1) * stride);
  }
  hashes.values.update(bytes);
}
