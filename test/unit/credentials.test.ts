import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { databaseUrlFromSecret, databaseUrlSource } from '../../src/source/credentials.js';
import { ConfigError, SourceUnavailableError } from '../../src/core/errors.js';

const secrets = mockClient(SecretsManagerClient);

describe('database credentials', () => {
  beforeEach(() => secrets.reset());

  it('builds a connection string from an RDS secret, escaping the password', () => {
    // Act
    const url = databaseUrlFromSecret(
      JSON.stringify({ username: 'etl', password: 'p@ss/w:rd', host: 'db.internal', port: 5433, dbname: 'rentals' }),
      'require',
    );

    // Assess
    expect(url).toBe('postgres://etl:p%40ss%2Fw%3Ard@db.internal:5433/rentals?sslmode=require');
  });

  it('names the missing field of a malformed secret', () => {
    // Act + Assess
    expect(() => databaseUrlFromSecret('{"username":"etl","host":"h"}', undefined)).toThrow(
      /DATABASE_SECRET_ARN: expected a secret with a non-empty "password"/,
    );
    expect(() => databaseUrlFromSecret('nope', undefined)).toThrow(ConfigError);
  });

  it('reads the secret once per container and caches it', async () => {
    // Prepare
    secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ username: 'u', password: 'p', host: 'h' }) });
    const source = databaseUrlSource(
      { DATABASE_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:1:secret:db' },
      undefined,
      new SecretsManagerClient({ region: 'us-east-1' }),
    );

    // Act
    const first = await source();
    const second = await source();

    // Assess
    expect(first).toBe('postgres://u:p@h:5432/postgres?sslmode=require');
    expect(second).toBe(first);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('turns a Secrets Manager outage into a transient error and tries again next time', async () => {
    // Prepare
    secrets.on(GetSecretValueCommand).rejectsOnce(new Error('throttled')).resolves({ SecretString: '{"username":"u","password":"p","host":"h"}' });
    const source = databaseUrlSource({ DATABASE_SECRET_ARN: 'arn:x' }, undefined, new SecretsManagerClient({ region: 'us-east-1' }));

    // Act
    const failed = await source().catch((e: unknown) => e);
    const retried = await source();

    // Assess
    expect(failed).toBeInstanceOf(SourceUnavailableError);
    expect(retried).toMatch(/^postgres:\/\/u:p@h/);
  });

  it('fails at cold start when neither DATABASE_URL nor DATABASE_SECRET_ARN is set', () => {
    // Act + Assess
    expect(() => databaseUrlSource({}, undefined)).toThrow(/^DATABASE_URL: expected/);
  });
});
