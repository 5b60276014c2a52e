/**
 * The table as data: a declaration is checked when it is made, the lake schema of `rentals` derives
 * from its declaration unchanged, and the stages read whatever table they are given. A table
 * declared otherwise (`"Trips"`, with a reserved word for a column, its own cast, measures,
 * lineage and snapshot table) runs through the SQL builders, plan-day, extract, transform-write,
 * the validator's footer check and the re-check; none of them may name a column or table of
 * `rentals`, which they would if a stage hard-wired one again.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeData, RecordBatch, Struct, tableToIPC, Table, Utf8, vectorFromArray, type Data, type Schema } from 'apache-arrow';
import type pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseLakeUri } from '../../src/core/config.js';
import { addDays, dayWindow, parseDay } from '../../src/core/day.js';
import { ConfigError } from '../../src/core/errors.js';
import { columnsWithoutDictionary, lakeSchema, rentalsSchemaMarkdown, schemaFingerprint, stagingSchema } from '../../src/core/schema.js';
import { column, declareFactTable, declareSnapshotTable, RENTALS, type FactTable } from '../../src/core/tables.js';
import { expectedParquetColumns, footerColumns, readFooter } from '../../src/formats/parquet-footer.js';
import { FsStore } from '../../src/lake/fs-store.js';
import { newRunId, stagingKey } from '../../src/lake/layout.js';
import { extractDay } from '../../src/pipeline/extract/extract.js';
import { planDay } from '../../src/pipeline/plan-day/plan-day.js';
import { transformDay } from '../../src/pipeline/transform-write/transform.js';
import { summariseFooters } from '../../src/pipeline/validate/validate.js';
import {
  copyRangeSql,
  copySnapshotSql,
  countInSnapshotSql,
  countRowsQuery,
  countRowsUpToQuery,
  duplicateKeysQuery,
  keyIsUniqueQuery,
  rowsByHourQuery,
  sourceDayStatesQuery,
} from '../../src/source/queries.js';
import { sourceDayState } from '../../src/source/day-state.js';
import { thrownBy } from '../support/outcomes.js';

const STATIONS = declareSnapshotTable({
  name: 'stations',
  key: 'code',
  columns: [column('code', 'text', false, 'Station code'), column('label', 'text', true, 'Its name')],
});

const TRIPS = declareFactTable({
  name: 'Trips',
  columns: [
    column('trip_id', 'int64', false, 'Trip'),
    column('begin', 'timestamptz', false, 'Departure'),
    column('end', 'timestamptz', true, 'Arrival'),
    column('fare', 'text', true, 'Fare', { cast: { to: 'decimal', precision: 6, scale: 3 } }),
    column('from_station', 'text', true, 'Where it began'),
    column('changed', 'timestamptz', false, 'Last change'),
  ],
  key: 'trip_id',
  partition: 'begin',
  changedAt: 'changed',
  order: ['begin', 'trip_id'],
  measures: {
    negativeInterval: { name: 'time_travel', start: 'begin', end: 'end' },
    negativeValue: { name: 'refund', column: 'fare' },
  },
  lineage: [
    { name: 'loaded_by', value: 'run_id', description: 'Run that loaded the trip' },
    { name: 'loaded_at', value: 'extracted_at', description: 'When the source was read' },
  ],
  snapshots: [STATIONS],
});

/** What no SQL for `Trips` may contain: the names of `rentals` and its snapshot tables. */
const RENTALS_NAMES = /\b(rentals?|rent_\w+|updated_at|users|bikes|user_id|bike_id)\b/i;

const DAY = parseDay('2025-06-02');
const WINDOW = dayWindow(DAY, 'UTC');

describe('declareFactTable', () => {
  const valid = {
    name: 't',
    columns: [column('id', 'int64', false, ''), column('at', 'timestamptz', false, ''), column('price', 'text', true, '')],
    key: 'id',
    partition: 'at',
    changedAt: 'at',
    order: ['at'],
    measures: {},
    lineage: [],
    snapshots: [],
  } satisfies FactTable;

  it('accepts a declaration whose names all refer to its columns', () => {
    // Act
    const declared = declareFactTable(valid);

    // Assess
    expect(declared).toBe(valid);
  });

  it.each([
    ['a key that is no column', { key: 'ID' }, 't.key'],
    ['a partition column that is no timestamp', { partition: 'id' }, 't.partition'],
    ['a change-tracking column that is no column', { changedAt: 'modified' }, 't.changedAt'],
    ['an order by an unknown column', { order: ['at', 'nope'] }, 't.order[1]'],
    [
      'a cast of a non-text column',
      { columns: [...valid.columns.slice(0, 2), column('price', 'int64', true, '', { cast: { to: 'decimal', precision: 6, scale: 2 } })] },
      't.price.cast',
    ],
    [
      'a decimal too wide for a number',
      { columns: [...valid.columns.slice(0, 2), column('price', 'text', true, '', { cast: { to: 'decimal', precision: 16, scale: 2 } })] },
      't.price.cast.precision',
    ],
    [
      'a scale above the precision',
      { columns: [...valid.columns.slice(0, 2), column('price', 'text', true, '', { cast: { to: 'decimal', precision: 4, scale: 5 } })] },
      't.price.cast.scale',
    ],
    ['two columns of one name', { columns: [...valid.columns, column('id', 'text', true, '')] }, 't.columns'],
    ['a negative-value measure of an uncast text', { measures: { negativeValue: { name: 'n', column: 'price' } } }, 't.measures.negativeValue.column'],
    ['an interval ending at a non-timestamp', { measures: { negativeInterval: { name: 'n', start: 'at', end: 'id' } } }, 't.measures.negativeInterval.end'],
    ['a lineage column named like a source column', { lineage: [{ name: 'price', value: 'run_id', description: '' }] }, 't.lineage'],
    ['a snapshot table of the same name', { snapshots: [{ name: 't', key: 'id', columns: [column('id', 'int64', false, '')] }] }, 't.snapshots'],
  ] as const)('refuses %s, naming the field', (_name, change, field) => {
    // Act
    const error = thrownBy(() => declareFactTable({ ...valid, ...change }));

    // Assess
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).field).toBe(field);
  });
});

describe('the declaration of rentals', () => {
  it('derives the lake schema of the lake contract', () => {
    // Act
    const schema = lakeSchema(RENTALS);

    // Assess
    expect(schema.fields.map((f) => `${f.name} ${String(f.type)}${f.nullable ? '' : ' NOT NULL'}`)).toEqual([
      'rental_id Int64 NOT NULL',
      'user_id Int64 NOT NULL',
      'bike_id Int64 NOT NULL',
      'rent_start Timestamp<MICROSECOND, UTC> NOT NULL',
      'rent_end Timestamp<MICROSECOND, UTC>',
      'start_station Utf8',
      'end_station Utf8',
      'rent_cost Decimal[12e+2]',
      'updated_at Timestamp<MICROSECOND, UTC> NOT NULL',
      'etl_run_id Utf8 NOT NULL',
      'etl_extracted_at Timestamp<MICROSECOND, UTC> NOT NULL',
    ]);
    // The fingerprint in every footer and manifest written so far.
    expect(schemaFingerprint(schema)).toBe('3218af7b3a713f12');
    expect(rentalsSchemaMarkdown()).toContain('| `rent_cost` | DECIMAL(12,2) | yes | Price charged; text in the source, a decimal in the lake |');
  });

  it('writes the key and the timestamps without dictionary encoding', () => {
    // Act
    const plain = columnsWithoutDictionary(RENTALS);

    // Assess
    expect(plain).toEqual(['rental_id', 'rent_start', 'rent_end', 'updated_at']);
  });
});

describe('the SQL of a table declared otherwise', () => {
  it('copies a range in the declared order, every name quoted', () => {
    // Act
    const sql = copyRangeSql(TRIPS, WINDOW);

    // Assess
    expect(sql).toBe(
      'COPY (SELECT "trip_id", "begin", "end", "fare", "from_station", "changed" FROM "Trips" ' +
        `WHERE "begin" >= '2025-06-02T00:00:00.000Z'::timestamptz AND "begin" < '2025-06-03T00:00:00.000Z'::timestamptz ` +
        'ORDER BY "begin", "trip_id") TO STDOUT (FORMAT binary)',
    );
  });

  it('copies a snapshot table in key order', () => {
    // Act
    const sql = copySnapshotSql(STATIONS);

    // Assess
    expect(sql).toBe('COPY (SELECT "code", "label" FROM "stations" ORDER BY "code") TO STDOUT (FORMAT binary)');
  });

  it('counts, groups and checks by the declared partition column, key and change column', () => {
    // Act
    const queries = {
      counted: countRowsQuery(TRIPS, WINDOW),
      byHour: rowsByHourQuery(TRIPS, WINDOW),
      unique: keyIsUniqueQuery(TRIPS),
      duplicates: duplicateKeysQuery(TRIPS, WINDOW),
      state: sourceDayStatesQuery(TRIPS, WINDOW, 'UTC'),
    };

    // Assess
    expect(queries.counted).toEqual({ text: 'SELECT count(*) AS n FROM "Trips" WHERE "begin" >= $1 AND "begin" < $2', values: [WINDOW.start, WINDOW.end] });
    expect(queries.byHour.text).toBe(
      'SELECT floor(extract(epoch FROM "begin" - $1::timestamptz) / 3600)::int AS hour, count(*) AS n FROM "Trips" WHERE "begin" >= $1 AND "begin" < $2 GROUP BY 1',
    );
    expect(queries.unique.values).toEqual(['"Trips"', 'trip_id']);
    expect(queries.duplicates.text).toBe('SELECT count(*) - count(DISTINCT "trip_id") AS n FROM "Trips" WHERE "begin" >= $1 AND "begin" < $2');
    expect(queries.state.text).toBe(
      `SELECT to_char(day, 'YYYY-MM-DD') AS day, n, digest, last_change FROM (\n       SELECT ("begin" AT TIME ZONE $3)::date AS day, count(*) AS n, coalesce(sum(hashtextextended("trip_id"::text || ':' || xmin::text, 0)), 0)::text AS digest, max("changed") AS last_change\n       FROM "Trips" WHERE "begin" >= $1 AND "begin" < $2 GROUP BY 1) AS days`,
    );
    expect(countInSnapshotSql(TRIPS, WINDOW)).toMatch(
      /^SELECT count\(\*\) AS n, coalesce\(sum\(hashtextextended\("trip_id"::text \|\| ':' \|\| xmin::text, 0\)\), 0\)::text AS digest, now\(\) AS snapshot_at FROM "Trips" WHERE "begin" >= '/,
    );
    for (const query of Object.values(queries)) expect(query.text).not.toMatch(RENTALS_NAMES);
  });
});

/** The binary COPY stream of a table without rows: the header, then the trailer. */
const EMPTY_COPY = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8), Buffer.from([0xff, 0xff])]);

const SOURCE_TYPE = { int64: 'bigint', int32: 'integer', bool: 'boolean', date: 'date', timestamptz: 'timestamp with time zone', text: 'text' } as const;

/**
 * A pg client that records what it is sent and answers like a source holding `Trips` and
 * `stations` (10 trips on the day, 2 of them repeating an id, no unique index; empty COPY streams).
 */
function recordingClient(): { client: pg.Client; sent: { text: string; values?: unknown[] }[] } {
  const sent: { text: string; values?: unknown[] }[] = [];
  const answer = (text: string): Record<string, unknown>[] => {
    if (text.includes('information_schema.columns')) {
      return [TRIPS, STATIONS].flatMap((t) => t.columns.map((c) => ({ table_name: t.name, column_name: c.name, data_type: SOURCE_TYPE[c.kind] })));
    }
    if (text.includes('AS hour'))
      return [
        { hour: 0, n: '6' },
        { hour: 20, n: '4' },
      ];
    if (text.includes('AS unique')) return [{ unique: false }];
    if (text.includes('count(DISTINCT')) return [{ n: '2' }];
    if (text.includes('last_change')) return [{ day: DAY.iso, n: '10', digest: '-77', last_change: new Date('2025-06-02T23:00:00Z') }];
    if (text.includes('now() AS at')) return [{ at: new Date('2025-06-03T01:00:00Z') }];
    if (text.includes('snapshot_at')) return [{ n: '0', digest: '0', snapshot_at: new Date('2025-06-03T01:00:00Z') }];
    if (text.includes('count(*)')) return [{ n: '10' }];
    return [];
  };
  const query = (config: string | { text: string; values?: unknown[]; submit?: unknown; push?: (chunk: Buffer | null) => void }, values?: unknown[]) => {
    if (typeof config === 'object' && typeof config.submit === 'function') {
      // A COPY TO stream (pg-copy-streams): hand it a stream without rows.
      sent.push({ text: config.text });
      config.push!(EMPTY_COPY);
      config.push!(null);
      return config;
    }
    const text = typeof config === 'string' ? config : config.text;
    sent.push({ text, values: typeof config === 'string' ? values : config.values });
    return Promise.resolve({ rows: answer(text) });
  };
  return { client: { query } as unknown as pg.Client, sent };
}

/** What was sent besides transaction control. */
const statements = (sent: readonly { text: string }[]) => sent.map((s) => s.text).filter((t) => !/^(BEGIN|COMMIT|ROLLBACK)/.test(t));

/** A staged batch of `schema` from columns of values (64-bit integers and timestamps as bigint µs). */
function batchOf(schema: Schema, values: Record<string, readonly (bigint | string | null)[]>): RecordBatch {
  const length = Object.values(values)[0].length;
  const children = schema.fields.map((field): Data => {
    const column = values[field.name];
    if (field.type instanceof Utf8) return vectorFromArray(column as (string | null)[], new Utf8()).data[0];
    const nullBitmap = new Uint8Array((length + 7) >> 3);
    column.forEach((v, i) => {
      if (v !== null) nullBitmap[i >> 3] |= 1 << (i & 7);
    });
    const nullCount = column.filter((v) => v === null).length;
    return makeData({ type: field.type, length, nullCount, nullBitmap, data: BigInt64Array.from(column as (bigint | null)[], (v) => v ?? 0n) } as never);
  });
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length, children }));
}

const T0 = BigInt(WINDOW.start.getTime()) * 1000n;
const MINUTE = 60_000_000n;

describe('the stages, run for a table declared otherwise', () => {
  let lakeDir: string;
  let store: FsStore;

  beforeEach(async () => {
    lakeDir = await mkdtemp(join(tmpdir(), 'table-declaration-'));
    store = new FsStore(parseLakeUri(lakeDir));
  });

  afterEach(async () => {
    await rm(lakeDir, { recursive: true, force: true });
  });

  it('plan-day counts, cuts and checks the ids of the declared table', async () => {
    // Prepare
    const { client, sent } = recordingClient();

    // Act
    const cut = await planDay({ client, day: DAY, timeZone: 'UTC', maxRowsPerRange: 5, table: TRIPS });

    // Assess
    expect(cut).toEqual({
      plannedRows: 10,
      sourceDuplicateIds: 2,
      ranges: [
        { from: 0, to: 1, rows: 6 },
        { from: 1, to: 24, rows: 4 },
      ],
    });
    expect(statements(sent)).toEqual([
      countRowsUpToQuery(TRIPS, WINDOW, 5).text,
      rowsByHourQuery(TRIPS, WINDOW).text,
      keyIsUniqueQuery(TRIPS).text,
      duplicateKeysQuery(TRIPS, WINDOW).text,
    ]);
    expect(sent.find((s) => s.text.includes('AS unique'))?.values).toEqual(['"Trips"', 'trip_id']);
    for (const text of statements(sent)) expect(text).not.toMatch(RENTALS_NAMES);
  });

  it("extract checks, counts and copies the declared table (its snapshot tables are the snapshot stage's)", async () => {
    // Prepare
    const { client, sent } = recordingClient();
    const runId = newRunId();

    // Act
    const result = await extractDay({ client, store, day: DAY, timeZone: 'UTC', runId, batchRows: 100, table: TRIPS });

    // Assess
    expect(statements(sent)).toEqual([
      expect.stringContaining('information_schema.columns'),
      'SELECT now() AS at',
      copyRangeSql(TRIPS, WINDOW),
      // Counted after the rows, in the same snapshot.
      countInSnapshotSql(TRIPS, WINDOW),
      // The day before, in the same snapshot, for the day-over-day check.
      countRowsQuery(TRIPS, dayWindow(addDays(DAY, -1), 'UTC')).text,
    ]);
    expect(sent.find((s) => s.text.includes('information_schema'))?.values).toEqual([['Trips']]);
    expect(result.staging).toEqual({ rentals: { key: stagingKey(runId, 'Trips'), rows: 0, bytes: expect.any(Number) } });
    for (const text of statements(sent)) expect(text).not.toMatch(RENTALS_NAMES);
  });

  it('the re-check counts the declared table and reads its change column', async () => {
    // Prepare
    const { client, sent } = recordingClient();

    // Act
    const state = await sourceDayState(client, DAY, 'UTC', TRIPS);

    // Assess
    expect(state).toEqual({ count: 10, digest: '-77', lastChange: '2025-06-02T23:00:00.000Z' });
    expect(statements(sent)).toEqual([sourceDayStatesQuery(TRIPS, WINDOW, 'UTC').text]);
  });

  it('transform-write casts, quarantines, measures and writes as the declaration says', async () => {
    // Prepare
    const runId = newRunId();
    const trips = batchOf(stagingSchema(TRIPS), {
      trip_id: [1n, 2n, 3n, 4n, 5n, 6n],
      begin: [T0, T0 + MINUTE, T0 + 2n * MINUTE, T0 + 3n * MINUTE, T0 + 4n * MINUTE, T0 + 5n * MINUTE],
      end: [T0 + 9n * MINUTE, T0 + 9n * MINUTE, null, T0 + 9n * MINUTE, T0 + 3n * MINUTE, T0 + 9n * MINUTE],
      fare: ['1.250', '-0.5', '1.2345', 'free', null, '-3'],
      from_station: ['A', 'A', 'B', null, 'B', 'A'],
      changed: [T0, T0, T0, T0, T0, null],
    });
    const staged = async (name: string, batch: RecordBatch) => {
      const key = stagingKey(runId, name);
      const body = tableToIPC(new Table([batch]), 'stream');
      await store.putObject(key, body);
      return { key, rows: batch.numRows, bytes: body.byteLength };
    };
    const staging = { rentals: await staged('Trips', trips) };

    // Act
    const written = await transformDay({
      store,
      day: DAY,
      extract: { runId, hours: { from: 0, to: 24 }, snapshotAt: '2025-06-03T01:00:00.000Z', staging },
      timeZone: 'UTC',
      rowsPerFile: 1_000,
      rowGroupRows: 1_000,
      table: TRIPS,
    });

    // Assess
    expect(written.metrics).toEqual({
      rows: 5,
      nullCounts: { trip_id: 0, begin: 0, end: 1, fare: 3, from_station: 1, changed: 0, loaded_by: 0, loaded_at: 0 },
      negativeDurations: 1,
      negativeCosts: 1,
      quarantined: 3,
      excluded: 1,
      rejectReasons: { fare_too_precise: 1, fare_not_numeric: 1, required_value_null: 1 },
      alreadyPublished: 0,
      changedSincePublish: 0,
      publishedDuplicateIds: 0,
    });
    const quarantined = Buffer.from((await store.getObject(written.quarantineKey!))!.body)
      .toString('utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(quarantined.map((q) => [q.reason, q.column, q.row.trip_id])).toEqual([
      ['fare_too_precise', 'fare', '3'],
      ['fare_not_numeric', 'fare', '4'],
      ['required_value_null', 'changed', '6'],
    ]);
    expect(Object.keys(quarantined[0].row)).toEqual(TRIPS.columns.map((c) => c.name));

    const [file] = written.files;
    const footer = await readFooter(store, file.key, file.bytes);
    expect(footerColumns(footer)).toEqual(expectedParquetColumns(lakeSchema(TRIPS)));
    expect(footerColumns(footer)).toContain('fare INT32/DECIMAL(6,3) OPTIONAL');
    expect(footer.key_value_metadata?.find((kv) => kv.key === 'etl.schema_fingerprint')?.value).toBe(schemaFingerprint(lakeSchema(TRIPS)));
    const dictionaryEncoded = Object.fromEntries(
      footer.row_groups[0].columns.map((c) => [c.meta_data!.path_in_schema.join('.'), c.meta_data!.encodings.some((e) => e.endsWith('DICTIONARY'))]),
    );
    expect(dictionaryEncoded).toMatchObject({ trip_id: false, begin: false, end: false, changed: false, from_station: true, loaded_by: true });
  });

  it('the validator expects the lake columns of the declared table', async () => {
    // Prepare
    const runId = newRunId();
    const trips = batchOf(stagingSchema(TRIPS), {
      trip_id: [1n],
      begin: [T0],
      end: [null],
      fare: ['2'],
      from_station: ['A'],
      changed: [T0],
    });
    const key = stagingKey(runId, 'Trips');
    const body = tableToIPC(new Table([trips]), 'stream');
    await store.putObject(key, body);
    const written = await transformDay({
      store,
      day: DAY,
      extract: {
        runId,
        hours: { from: 0, to: 24 },
        snapshotAt: '2025-06-03T01:00:00.000Z',
        staging: { rentals: { key, rows: 1, bytes: body.byteLength } },
      },
      timeZone: 'UTC',
      rowsPerFile: 1_000,
      rowGroupRows: 1_000,
      table: TRIPS,
    });

    // Act
    const asTrips = await summariseFooters(TRIPS, store, written.files);
    const asRentals = await summariseFooters(RENTALS, store, written.files);

    // Assess
    expect(asTrips).toEqual({ rows: 1, nullCounts: expect.objectContaining({ end: 1, fare: 0 }), schemaMismatches: [], missing: [] });
    expect(asRentals.schemaMismatches).toHaveLength(1);
  });
});
