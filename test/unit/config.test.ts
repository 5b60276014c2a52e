import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, loadSourceSettings, parseDatabaseUrl, parseLakeUri, requireDatabaseUrl, VARIABLES } from '../../src/core/config.js';
import { ConfigError } from '../../src/core/errors.js';
import { thrownBy } from '../support/outcomes.js';

/** The error `act` threw, checked to be a `ConfigError` naming `field`. */
function configErrorOf(act: () => unknown, field: string): ConfigError {
  const error = thrownBy(act);
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as ConfigError).field).toBe(field);
  expect((error as Error).message.startsWith(`${field}: expected `)).toBe(true);
  return error as ConfigError;
}

const LAKE = { LAKE_URI: 's3://lake-bucket/etl' };

describe('loadConfig', () => {
  it('fills every setting with its default when only the lake is given', () => {
    // Act
    const config = loadConfig({}, { lakeUri: '/tmp/lake' });

    // Assess
    expect(config).toEqual({
      databaseUrl: undefined,
      lake: { kind: 'fs', root: '/tmp/lake', uri: '/tmp/lake' },
      region: undefined,
      endpoint: undefined,
      timeZone: 'UTC',
      batchRows: 32_768,
      rowsPerFile: 4_194_304,
      rowGroupRows: 131_072,
      maxRowsPerRange: 20_000_000,
      compactAboveFiles: 8,
      openRentalMaxMinutes: 720,
      thresholds: {
        maxQuarantineRate: 0.05,
        maxNullRate: 0.1,
        maxNegativeDurationRate: 0.01,
        maxNegativeCostRate: 0.01,
        maxDuplicateIds: 0,
        maxDayOverDayChange: undefined,
      },
      lockTtlMs: 120_000,
      republishLookbackDays: 7,
      glueDatabase: undefined,
      keepSupersededMs: 0,
    });
  });

  it('prefers LAKE_URI from the environment over the default', () => {
    // Act
    const config = loadConfig(LAKE, { lakeUri: '/tmp/lake' });

    // Assess
    expect(config.lake).toEqual({ kind: 's3', bucket: 'lake-bucket', prefix: 'etl', uri: 's3://lake-bucket/etl' });
  });

  it('reads every variable it is given', () => {
    // Prepare
    const env = {
      ...LAKE,
      DATABASE_URL: 'postgresql://etl:secret@db.internal:5432/bikes',
      AWS_DEFAULT_REGION: 'eu-central-1',
      AWS_ENDPOINT_URL: 'http://localhost:4566',
      PARTITION_TIMEZONE: 'Europe/Berlin',
      BATCH_ROWS: '1000',
      ROW_GROUP_ROWS: '2048',
      ROWS_PER_FILE: '8192',
      RANGE_MAX_ROWS: '5000000',
      COMPACT_ABOVE_FILES: '4',
      OPEN_RENTAL_MAX_MINUTES: '90',
      QUALITY_MAX_QUARANTINE_RATE: '0.2',
      QUALITY_MAX_NULL_RATE: '1',
      QUALITY_MAX_NEGATIVE_DURATION_RATE: '0',
      QUALITY_MAX_NEGATIVE_COST_RATE: '0.5',
      QUALITY_MAX_DUPLICATE_IDS: '3',
      QUALITY_MAX_DAY_OVER_DAY_CHANGE: '0.25',
      PARTITION_LOCK_TTL_SECONDS: '900',
      REPUBLISH_LOOKBACK_DAYS: '0',
      GLUE_DATABASE: 'pg_lake_etl',
      ICEBERG_KEEP_SUPERSEDED_HOURS: '24',
    };

    // Act
    const config = loadConfig(env);

    // Assess
    expect(config).toEqual({
      databaseUrl: 'postgresql://etl:secret@db.internal:5432/bikes',
      lake: { kind: 's3', bucket: 'lake-bucket', prefix: 'etl', uri: 's3://lake-bucket/etl' },
      region: 'eu-central-1',
      endpoint: 'http://localhost:4566',
      timeZone: 'Europe/Berlin',
      batchRows: 1000,
      rowsPerFile: 8192,
      rowGroupRows: 2048,
      maxRowsPerRange: 5_000_000,
      compactAboveFiles: 4,
      openRentalMaxMinutes: 90,
      thresholds: {
        maxQuarantineRate: 0.2,
        maxNullRate: 1,
        maxNegativeDurationRate: 0,
        maxNegativeCostRate: 0.5,
        maxDuplicateIds: 3,
        maxDayOverDayChange: 0.25,
      },
      lockTtlMs: 900_000,
      republishLookbackDays: 0,
      glueDatabase: 'pg_lake_etl',
      keepSupersededMs: 24 * 3_600_000,
    });
  });

  it('refuses a GLUE_DATABASE Glue and Athena would not take as it is', () => {
    expect(() => loadConfig({ ...LAKE, GLUE_DATABASE: 'My-Lake' })).toThrow(/GLUE_DATABASE: expected lowercase letters, digits and underscores/);
  });

  it('prefers AWS_REGION over AWS_DEFAULT_REGION and AWS_ENDPOINT_URL_S3 over AWS_ENDPOINT_URL', () => {
    // Prepare
    const env = {
      ...LAKE,
      AWS_REGION: 'us-west-2',
      AWS_DEFAULT_REGION: 'eu-central-1',
      AWS_ENDPOINT_URL_S3: 'https://s3.example.test',
      AWS_ENDPOINT_URL: 'http://localhost:4566',
    };

    // Act
    const config = loadConfig(env);

    // Assess
    expect(config.region).toBe('us-west-2');
    expect(config.endpoint).toBe('https://s3.example.test');
  });

  it('treats a blank number as unset', () => {
    // Act
    const config = loadConfig({ ...LAKE, BATCH_ROWS: '  ', QUALITY_MAX_DAY_OVER_DAY_CHANGE: '' });

    // Assess
    expect(config.batchRows).toBe(32_768);
    expect(config.thresholds.maxDayOverDayChange).toBeUndefined();
  });

  it('fails without LAKE_URI and without a default, naming LAKE_URI', () => {
    // Act
    const error = configErrorOf(() => loadConfig({}), 'LAKE_URI');

    // Assess
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('s3://bucket');
  });

  it('fails on an empty LAKE_URI rather than falling back to the default', () => {
    // Act
    const error = configErrorOf(() => loadConfig({ LAKE_URI: '' }, { lakeUri: '/tmp/lake' }), 'LAKE_URI');

    // Assess
    expect(error.actual).toBe('');
  });

  it.each([
    ['QUALITY_MAX_QUARANTINE_RATE', '1.5'],
    ['QUALITY_MAX_QUARANTINE_RATE', 'abc'],
    ['QUALITY_MAX_QUARANTINE_RATE', '-0.1'],
    ['QUALITY_MAX_NULL_RATE', 'NaN'],
    ['QUALITY_MAX_NEGATIVE_DURATION_RATE', 'Infinity'],
    ['QUALITY_MAX_NEGATIVE_COST_RATE', '5%'],
    ['QUALITY_MAX_DUPLICATE_IDS', '-1'],
    ['QUALITY_MAX_DUPLICATE_IDS', '1.5'],
    ['QUALITY_MAX_DAY_OVER_DAY_CHANGE', '-1'],
    ['BATCH_ROWS', '0'],
    ['BATCH_ROWS', '2000000'],
    ['ROW_GROUP_ROWS', '1023'],
    ['RANGE_MAX_ROWS', '0'],
    ['RANGE_MAX_ROWS', '1e6.5'],
    ['REPUBLISH_LOOKBACK_DAYS', '-1'],
    ['REPUBLISH_LOOKBACK_DAYS', '367'],
    ['REPUBLISH_LOOKBACK_DAYS', '2.5'],
  ])('rejects %s=%s naming the variable', (name, value) => {
    // Act
    const error = configErrorOf(() => loadConfig({ ...LAKE, [name]: value }), name);

    // Assess
    expect(error.actual).toBe(value);
    expect(error.message).toMatch(/(a number|an integer) from /);
  });

  describe('the bounds each variable declares', () => {
    const bounded = VARIABLES.filter((v) => v.bounds !== undefined);
    /** The loader that reads `name`, with `value` set, and the variable its bounds name set to its own minimum. */
    const load = (variable: (typeof bounded)[number], value: string) => {
      const atLeast = variable.bounds?.atLeast;
      const floor = atLeast === undefined ? {} : { [atLeast]: String(VARIABLES.find((v) => v.name === atLeast)?.bounds?.min) };
      const env = { ...LAKE, ...floor, [variable.name]: value };
      return variable.field === 'databaseUrl' ? loadSourceSettings(env) : loadConfig(env);
    };

    it('are declared for every numeric variable', () => {
      // Assess
      expect(bounded.map((v) => v.name)).toEqual([
        'DATABASE_PORT',
        'QUALITY_MAX_QUARANTINE_RATE',
        'QUALITY_MAX_NULL_RATE',
        'QUALITY_MAX_NEGATIVE_DURATION_RATE',
        'QUALITY_MAX_NEGATIVE_COST_RATE',
        'QUALITY_MAX_DUPLICATE_IDS',
        'QUALITY_MAX_DAY_OVER_DAY_CHANGE',
        'QUALITY_MIN_DAY_ROWS',
        'PARTITION_LOCK_TTL_SECONDS',
        'REPUBLISH_LOOKBACK_DAYS',
        'BATCH_ROWS',
        'ROW_GROUP_ROWS',
        'ROWS_PER_FILE',
        'COMPACT_ABOVE_FILES',
        'OPEN_RENTAL_MAX_MINUTES',
        'RANGE_MAX_ROWS',
        'ICEBERG_KEEP_SUPERSEDED_HOURS',
      ]);
    });

    it.each(bounded.map((v) => [v.name, v] as const))('%s: a value just outside its bounds fails naming it and the bounds', (name, variable) => {
      // Prepare
      const { min, max, integer } = variable.bounds!;
      const form = `${integer ? 'an integer' : 'a number'} from ${min} to ${max}`;

      // Act
      const below = configErrorOf(() => load(variable, String(min - 1)), name);
      const above = configErrorOf(() => load(variable, String(max + 1)), name);

      // Assess
      expect(below.message).toContain(form);
      expect(above.message).toContain(form);
    });

    it.each(bounded.map((v) => [v.name, v] as const))('%s: a value at either bound is taken', (name, variable) => {
      // Prepare
      const { min, max } = variable.bounds!;

      // Act / Assess
      expect(() => load(variable, String(min)), `${name}=${min}`).not.toThrow();
      expect(() => load(variable, String(max)), `${name}=${max}`).not.toThrow();
    });
  });

  it('rejects ROWS_PER_FILE below ROW_GROUP_ROWS naming ROWS_PER_FILE', () => {
    // Act
    const error = configErrorOf(() => loadConfig({ ...LAKE, ROW_GROUP_ROWS: '4096', ROWS_PER_FILE: '4095' }), 'ROWS_PER_FILE');

    // Assess
    expect(error.message).toContain('from 4096');
  });

  it('accepts ROWS_PER_FILE equal to ROW_GROUP_ROWS', () => {
    // Act
    const config = loadConfig({ ...LAKE, ROW_GROUP_ROWS: '4096', ROWS_PER_FILE: '4096' });

    // Assess
    expect(config.rowsPerFile).toBe(4096);
  });

  it.each(['mysql://x', 'http://db:5432/bikes', 'not a url'])('rejects DATABASE_URL=%s', (url) => {
    // Act
    const error = configErrorOf(() => loadConfig({ ...LAKE, DATABASE_URL: url }), 'DATABASE_URL');

    // Assess
    expect(error.message).toContain('postgres://');
  });

  it('does not echo the password of a rejected DATABASE_URL', () => {
    // Act
    const error = configErrorOf(() => parseDatabaseUrl('mysql://etl:hunter2@db/bikes'), 'DATABASE_URL');

    // Assess
    expect(error.message).not.toContain('hunter2');
  });

  it.each(['postgres://etl:secret@localhost:5432/bikes', 'postgresql://localhost/bikes'])('accepts DATABASE_URL=%s', (url) => {
    // Act
    const config = loadConfig({ ...LAKE, DATABASE_URL: url });

    // Assess
    expect(requireDatabaseUrl(config)).toBe(url);
  });

  it('makes requireDatabaseUrl fail naming DATABASE_URL when it is unset', () => {
    // Prepare
    const config = loadConfig(LAKE);

    // Act
    const error = configErrorOf(() => requireDatabaseUrl(config), 'DATABASE_URL');

    // Assess
    expect(error.retryable).toBe(false);
  });

  it.each(['localhost:4566', 'ftp://localhost:4566', 'http://'])('rejects AWS_ENDPOINT_URL=%s', (endpoint) => {
    // Act
    const error = configErrorOf(() => loadConfig({ ...LAKE, AWS_ENDPOINT_URL: endpoint }), 'AWS_ENDPOINT_URL');

    // Assess
    expect(error.actual).toBe(endpoint);
  });

  it('names AWS_ENDPOINT_URL_S3 when that is the malformed variable', () => {
    // Act
    const error = thrownBy(() => loadConfig({ ...LAKE, AWS_ENDPOINT_URL_S3: 'localhost:4566' }));

    // Assess
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).field).toBe('AWS_ENDPOINT_URL_S3');
  });

  it('rejects PARTITION_TIMEZONE=Nowhere/Else naming the variable', () => {
    // Act
    const error = configErrorOf(() => loadConfig({ ...LAKE, PARTITION_TIMEZONE: 'Nowhere/Else' }), 'PARTITION_TIMEZONE');

    // Assess
    expect(error.actual).toBe('Nowhere/Else');
  });
});

describe('parseLakeUri', () => {
  it.each([
    ['s3://bucket', { kind: 's3', bucket: 'bucket', prefix: '', uri: 's3://bucket' }],
    ['s3://bucket/', { kind: 's3', bucket: 'bucket', prefix: '', uri: 's3://bucket' }],
    ['s3://bucket/a/b/', { kind: 's3', bucket: 'bucket', prefix: 'a/b', uri: 's3://bucket/a/b' }],
    ['s3://my.lake-01/raw', { kind: 's3', bucket: 'my.lake-01', prefix: 'raw', uri: 's3://my.lake-01/raw' }],
    ['S3://bucket/x', { kind: 's3', bucket: 'bucket', prefix: 'x', uri: 's3://bucket/x' }],
    ['  s3://bucket/x  ', { kind: 's3', bucket: 'bucket', prefix: 'x', uri: 's3://bucket/x' }],
    ['s3://abc', { kind: 's3', bucket: 'abc', prefix: '', uri: 's3://abc' }],
  ])('reads %j', (uri, expected) => {
    // Act
    const location = parseLakeUri(uri);

    // Assess
    expect(location).toEqual(expected);
  });

  it.each([
    ['s3://Bad_Bucket', 'upper case and underscore'],
    ['s3://b', 'a one-character bucket'],
    ['s3://ab', 'a two-character bucket'],
    [`s3://${'a'.repeat(64)}`, 'a 64-character bucket'],
    ['s3://-bucket', 'a bucket starting with a hyphen'],
    ['s3://bucket-', 'a bucket ending with a hyphen'],
    ['s3://my..bucket', 'two dots in a row'],
    ['s3://', 'no bucket'],
    ['s3:///prefix', 'an empty bucket'],
    ['s3://bucket/../x', 'a ".." segment'],
    ['s3://bucket/./x', 'a "." segment'],
    ['s3://bucket/a//b', 'an empty segment'],
    ['s3://bucket//', 'an empty last segment'],
    ['gs://x', 'another scheme'],
    ['https://bucket.s3.amazonaws.com/x', 'an https URL'],
    ['', 'an empty string'],
    ['   ', 'only blanks'],
    ['s3:/my-bucket/lake', 'an s3 URL with one slash'],
    ['s3//my-bucket/lake', 'an s3 URL without its colon'],
    ['s3:my-bucket/lake', 'an s3 URL without slashes'],
    ['::://%%', 'a broken URL'],
    ['file:lake', 'a file URL without slashes'],
    ['lake/s3://bucket', 'a URL inside a path'],
  ])('rejects %j (%s) naming LAKE_URI', (uri) => {
    // Act
    const error = configErrorOf(() => parseLakeUri(uri), 'LAKE_URI');

    // Assess
    expect(error.actual).toBe(uri);
  });

  it('names the given field in its error', () => {
    // Act
    const error = thrownBy(() => parseLakeUri('gs://x', '--lake'));

    // Assess
    expect((error as ConfigError).field).toBe('--lake');
  });

  it('reads file:///tmp/lake as the directory /tmp/lake', () => {
    // Act
    const location = parseLakeUri('file:///tmp/lake');

    // Assess
    expect(location).toEqual({ kind: 'fs', root: '/tmp/lake', uri: '/tmp/lake' });
  });

  it('decodes percent-escapes in a file: URI', () => {
    // Act
    const location = parseLakeUri('file:///tmp/my%20lake');

    // Assess
    expect(location).toEqual({ kind: 'fs', root: '/tmp/my lake', uri: '/tmp/my lake' });
  });

  it('resolves a relative path against the working directory', () => {
    // Act
    const location = parseLakeUri('lake/data');

    // Assess
    expect(location).toEqual({ kind: 'fs', root: resolve(process.cwd(), 'lake/data'), uri: resolve(process.cwd(), 'lake/data') });
    expect(location.kind === 'fs' && location.root.startsWith('/')).toBe(true);
  });

  it('normalises an absolute path', () => {
    // Act
    const location = parseLakeUri('/tmp/lake/../lake2/');

    // Assess
    expect(location).toEqual({ kind: 'fs', root: '/tmp/lake2', uri: '/tmp/lake2' });
  });
});
