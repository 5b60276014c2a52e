/**
 * `COPY ... TO STDOUT` read off the socket (`src/source/copy-out.ts`) against the real Postgres: the
 * rows decode whole, the server's errors reach the reader, notices in the middle of a COPY are
 * skipped, and the connection is pg's again afterwards, whether the COPY ended, failed or was dropped.
 */
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeCopyBinary } from '../../src/source/copy-binary.js';
import { copyOut } from '../../src/source/copy-out.js';
import { NUMBERS } from '../support/copy-table.js';
import { rejectionOf } from '../support/outcomes.js';

const databaseUrl = process.env.TEST_DATABASE_URL!;

const numbersSql = (rows: number, value = 'i') =>
  `COPY (SELECT (${value})::int8 AS n, CASE WHEN i % 7 = 0 THEN NULL ELSE repeat('x', i % 50) END AS label FROM generate_series(1, ${rows}) AS i) TO STDOUT (FORMAT binary)`;

async function decodedRows(client: pg.Client, sql: string): Promise<{ n: bigint[]; labels: (string | null)[] }> {
  const n: bigint[] = [];
  const labels: (string | null)[] = [];
  for await (const batch of decodeCopyBinary(copyOut(client, sql), NUMBERS, 4_096)) {
    for (let row = 0; row < batch.numRows; row++) {
      n.push(batch.getChild('n')!.get(row) as bigint);
      const label = batch.getChild('label')!.get(row) as Uint8Array | string | null;
      labels.push(label === null ? null : typeof label === 'string' ? label : Buffer.from(label).toString());
    }
  }
  return { n, labels };
}

describe('COPY read off the socket', () => {
  let client: pg.Client;

  beforeEach(async () => {
    client = new pg.Client(databaseUrl);
    await client.connect();
  });

  afterEach(async () => {
    await client.end();
  });

  it('decodes every row, across many socket chunks, and leaves the connection to pg', async () => {
    // Act
    const copy = copyOut(client, numbersSql(50_000));
    const rows: bigint[] = [];
    for await (const batch of decodeCopyBinary(copy, NUMBERS, 4_096)) for (let r = 0; r < batch.numRows; r++) rows.push(batch.getChild('n')!.get(r) as bigint);
    const next = await client.query<{ ok: number }>('SELECT 1 AS ok');

    // Assess
    expect(rows).toHaveLength(50_000);
    expect(rows.every((value, i) => value === BigInt(i + 1))).toBe(true);
    expect(copy.rowCount).toBe(50_000);
    expect(next.rows).toEqual([{ ok: 1 }]);
  });

  it('keeps NULLs and text as the server sent them', async () => {
    // Act
    const { labels } = await decodedRows(client, numbersSql(100));

    // Assess
    expect(labels.slice(0, 8)).toEqual(['x', 'xx', 'xxx', 'xxxx', 'xxxxx', 'xxxxxx', null, 'xxxxxxxx']);
  });

  it("fails with the server's error half-way through, and the connection takes the next query", async () => {
    // Act: division by zero at row 30,000, after many rows were sent.
    const error = await rejectionOf(decodedRows(client, numbersSql(60_000, '1000000 / (i - 30000)')));
    const next = await client.query<{ ok: number }>('SELECT 1 AS ok');

    // Assess
    expect(String(error)).toMatch(/division by zero/);
    expect(next.rows).toEqual([{ ok: 1 }]);
  });

  it('skips the notices the server sends between rows', async () => {
    // Prepare
    await client.query(
      `CREATE FUNCTION pg_temp.noisy(i int) RETURNS int8 AS $$ BEGIN IF i % 1000 = 0 THEN RAISE NOTICE 'row %', i; END IF; RETURN i; END $$ LANGUAGE plpgsql`,
    );

    // Act
    const { n } = await decodedRows(client, numbersSql(20_000, 'pg_temp.noisy(i)'));

    // Assess
    expect(n).toHaveLength(20_000);
    expect(n.every((value, i) => value === BigInt(i + 1))).toBe(true);
  });

  it('drops the rest of a COPY its reader gave up on, then gives the connection back', async () => {
    // Act
    const copy = copyOut(client, numbersSql(200_000));
    for await (const chunk of copy) {
      expect(chunk.payloads.length).toBeGreaterThan(0);
      break;
    }
    const next = await client.query<{ ok: number }>('SELECT 1 AS ok');

    // Assess
    expect(copy.destroyed).toBe(true);
    expect(next.rows).toEqual([{ ok: 1 }]);
  });
});
