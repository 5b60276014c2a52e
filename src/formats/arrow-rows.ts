/**
 * Row-level access to Arrow data: a column's validity read straight from its bitmap, and a batch
 * with some of its rows left out (as slices, no copy).
 */
import type { Data, RecordBatch } from 'apache-arrow';

/** Reads a column's validity bit by bit straight from its bitmap (no per-row method call). */
export function validity(data: Data): (row: number) => boolean {
  const bitmap = data.nullBitmap;
  if (data.nullCount === 0 || !bitmap || bitmap.length === 0) return () => true;
  const offset = data.offset;
  return (row) => ((bitmap[(offset + row) >> 3] >> ((offset + row) & 7)) & 1) === 1;
}

/** The parts of `batch` between the rows left out (ascending row numbers; all of it when none). */
export function withoutRows(batch: RecordBatch, rows: readonly number[]): RecordBatch[] {
  if (rows.length === 0) return [batch];
  const parts: RecordBatch[] = [];
  let start = 0;
  for (const row of rows) {
    if (row > start) parts.push(batch.slice(start, row));
    start = row + 1;
  }
  if (start < batch.numRows) parts.push(batch.slice(start));
  return parts;
}
