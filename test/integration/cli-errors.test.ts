/**
 * Bad input at the command line: a one-line error naming the field and the expected form, exit
 * code 2, and nothing written to the lake.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMain } from '../support/capture.js';
import { createTestDatabase } from '../support/databases.js';

describe('etl with bad input', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let root: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    root = await mkdtemp(join(tmpdir(), 'cli-'));
  });
  afterAll(async () => {
    await database?.drop();
    await rm(root, { recursive: true, force: true });
  });

  const cases: Array<[string, string[], Record<string, string>, RegExp]> = [
    ['an impossible date', ['run', '--date', '2025-02-30'], {}, /^etl: date: expected a calendar date as YYYY-MM-DD that exists/],
    ['an unpadded date', ['run', '--date', '2025-2-3'], {}, /^etl: date: expected a calendar date as YYYY-MM-DD/],
    ['a word for a date', ['run', '--date', 'tomorrow'], {}, /^etl: date: expected/],
    ['a bare run', ['run'], {}, /^etl: date: expected either --date YYYY-MM-DD \(one day\) or --scheduled \[--at TIMESTAMP\]/],
    ['a date given twice', ['run', '--date', '2025-03-01', '--date', '2025-03-02'], {}, /^etl: date: expected --date once, not twice/],
    [
      'a flag given twice as --flag=value',
      ['backfill', '--from=2025-03-01', '--to', '2025-03-02', '--from', '2025-03-01'],
      {},
      /^etl: from: expected --from once/,
    ],
    [
      'a report into a missing folder',
      ['report', '--out', '/nonexistent/x.html'],
      {},
      /^etl: out: expected a file in an existing, writable folder, got "\/nonexistent\/x\.html \(\/nonexistent: no such folder\)"$/,
    ],
    ['no day at all to read', ['read'], {}, /^etl: date: expected either --date YYYY-MM-DD or --from YYYY-MM-DD --to YYYY-MM-DD$/],
    [
      'a negative number of rentals',
      ['seed', '--from', '2025-03-01', '--to', '2025-03-01', '--rentals-per-day', '-5'],
      {},
      /^etl: rentals-per-day: expected an integer from 0 to 10000000, got "-5"$/,
    ],
    ['a day in the future', ['run', '--date', '2999-01-01'], {}, /^etl: date: expected a day no later than today/],
    ['a reversed range', ['backfill', '--from', '2025-03-02', '--to', '2025-03-01'], {}, /^etl: to: expected a date on or after from \(2025-03-02\)/],
    ['a range over the maximum', ['backfill', '--from', '1990-01-01', '--to', '2025-01-01'], {}, /^etl: to: expected a range of at most 3660 days/],
    ['an unknown mode', ['run', '--date', '2025-03-01', '--mode', 'sideways'], {}, /^etl: mode: expected one of overwrite, append, got "sideways"/],
    [
      'a zero concurrency',
      ['backfill', '--from', '2025-03-01', '--to', '2025-03-02', '--concurrency', '0'],
      {},
      /^etl: concurrency: expected an integer from 1 to 64/,
    ],
    [
      'an unknown time zone',
      ['run', '--date', '2025-03-01'],
      { PARTITION_TIMEZONE: 'Mars/Olympus_Mons' },
      /^etl: PARTITION_TIMEZONE: expected an IANA time zone/,
    ],
    [
      'an unparsable LAKE_URI',
      ['run', '--date', '2025-03-01'],
      { LAKE_URI: 's3://' },
      /^etl: LAKE_URI: expected s3:\/\/bucket\[\/prefix\] with a valid bucket name/,
    ],
    [
      'a mistyped s3 LAKE_URI (written as a local folder before)',
      ['run', '--date', '2025-03-01'],
      { LAKE_URI: 's3:/my-bucket/lake' },
      /^etl: LAKE_URI: expected s3:\/\/bucket\[\/prefix\] or a directory path \(this looks like a mistyped URL\), got "s3:\/my-bucket\/lake"/,
    ],
    [
      'a LAKE_URI escaping its prefix',
      ['run', '--date', '2025-03-01'],
      { LAKE_URI: 's3://bucket/lake/../other' },
      /^etl: LAKE_URI: expected s3:\/\/bucket\/prefix with no empty, "\." or "\.\." segments/,
    ],
    [
      'a threshold out of range',
      ['run', '--date', '2025-03-01'],
      { QUALITY_MAX_NULL_RATE: '1.5' },
      /^etl: QUALITY_MAX_NULL_RATE: expected a number from 0 to 1, got "1.5"/,
    ],
    [
      'an unreachable database',
      ['run', '--date', '2025-03-01'],
      { DATABASE_URL: 'postgres://etl:hunter2@127.0.0.1:1/nowhere' },
      /^etl: DATABASE_URL: expected a reachable Postgres .* got "127\.0\.0\.1:1\/nowhere: (?!.*hunter2)/,
    ],
    [
      'a non-Postgres DATABASE_URL',
      ['run', '--date', '2025-03-01'],
      { DATABASE_URL: 'mysql://x@y/z' },
      /^etl: DATABASE_URL: expected postgres:\/\/user:password@host:port\/database, got "mysql:"/,
    ],
    [
      'an unknown command',
      ['explode'],
      {},
      /^etl: command: expected one of db, seed, run, backfill, validate, verify, compact, read, status, report, unlock, clean, start, remote, got "explode"/,
    ],
    ['an unknown flag', ['run', '--dat', '2025-03-01'], {}, /^etl: Unknown option '--dat'/],
    [
      'a bad seed size',
      ['seed', '--from', '2025-03-01', '--to', '2025-03-01', '--rentals-per-day', 'many'],
      {},
      /^etl: rentals-per-day: expected an integer from 0 to 10000000/,
    ],
  ];

  it.each(cases)('rejects %s with exit code 2 and writes nothing', async (_name, argv, overrides, message) => {
    // Prepare
    const lake = join(root, `lake-${Math.random().toString(36).slice(2)}`);
    const env = { DATABASE_URL: database.url, LAKE_URI: lake, ...overrides };

    // Act
    const { code, err } = await runMain(argv, env);

    // Assess
    expect(code).toBe(2);
    expect(err[0]).toMatch(message);
    expect(err[0].split('\n')[0]).not.toMatch(/\n\s+at /);
    await expect(readdir(lake)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('answers an unknown option with the error and one hint line: the forms of that command', async () => {
    // Act
    const { code, out, err } = await runMain(['run', '--dat', '2025-03-01'], { DATABASE_URL: database.url, LAKE_URI: join(root, 'unused') });

    // Assess
    expect(code).toBe(2);
    expect(out).toEqual([]);
    expect(err.join('\n').split('\n')).toEqual([
      "etl: Unknown option '--dat'",
      'usage: etl run --date D [--mode overwrite|append] | etl run --scheduled [--at TIMESTAMP]   (all commands: etl --help)',
    ]);
  });
});
