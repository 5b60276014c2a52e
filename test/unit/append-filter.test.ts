import { Field, Int64, makeData, RecordBatch, Schema, Struct, TimeUnit, Timestamp } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { RENTALS } from '../../src/core/tables.js';
import { newRows } from '../../src/pipeline/transform-write/append-filter.js';
import type { PublishedRows } from '../../src/pipeline/transform-write/published-rows.js';

const READ_AT_MS = Date.parse('2025-03-02T00:00:00Z');

/** A staged batch of rentals holding only what the filter reads: the key and the change time. */
function staged(rows: readonly { id: number; updatedAtMs: number }[]): RecordBatch {
  const schema = new Schema([new Field('rental_id', new Int64(), false), new Field('updated_at', new Timestamp(TimeUnit.MICROSECOND, 'UTC'), false)]);
  const ids = makeData({ type: new Int64(), length: rows.length, nullCount: 0, data: BigInt64Array.from(rows, (r) => BigInt(r.id)) });
  const updatedAt = makeData({
    type: schema.fields[1].type,
    length: rows.length,
    nullCount: 0,
    data: BigInt64Array.from(rows, (r) => BigInt(r.updatedAtMs) * 1000n),
  });
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: rows.length, children: [ids, updatedAt] }));
}

function published(ids: readonly number[]): PublishedRows {
  return { readAt: new Map(ids.map((id) => [BigInt(id), READ_AT_MS])), duplicates: 0 };
}

function idsOf(batches: readonly RecordBatch[]): number[] {
  return batches.flatMap((batch) => Array.from(batch.getChild('rental_id')!.toArray() as BigInt64Array, Number));
}

describe('newRows (the append filter)', () => {
  it('keeps the rows whose key is not published and counts the others, changed ones apart', () => {
    // Prepare
    const raw = staged([
      { id: 1, updatedAtMs: READ_AT_MS - 1 },
      { id: 2, updatedAtMs: READ_AT_MS - 1 },
      { id: 3, updatedAtMs: READ_AT_MS + 1 },
      { id: 4, updatedAtMs: READ_AT_MS + 1 },
      { id: 5, updatedAtMs: READ_AT_MS },
      { id: 6, updatedAtMs: READ_AT_MS - 1 },
    ]);

    // Act
    const result = newRows(raw, RENTALS, published([1, 3, 5, 6]));

    // Assess
    expect(idsOf(result.batches)).toEqual([2, 4]);
    expect(result.alreadyPublished).toBe(4);
    expect(result.changedSincePublish).toBe(1);
  });

  it('hands the staged batch back whole when nothing of it is published', () => {
    // Prepare
    const raw = staged([
      { id: 7, updatedAtMs: READ_AT_MS },
      { id: 8, updatedAtMs: READ_AT_MS },
    ]);

    // Act
    const result = newRows(raw, RENTALS, published([1, 2]));

    // Assess
    expect(result.batches).toEqual([raw]);
    expect(result).toMatchObject({ alreadyPublished: 0, changedSincePublish: 0 });
  });
});
