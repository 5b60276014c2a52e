import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { loadSourceSettings, type SourceSettings } from '../../src/core/config.js';
import { ConfigError, SourceUnavailableError } from '../../src/core/errors.js';
import { connectionFromSecret, sourceCredentials } from '../../src/source/credentials.js';

const secrets = mockClient(SecretsManagerClient);
const ARN = 'arn:aws:secretsmanager:us-east-1:1:secret:db';
const settings = (env: Record<string, string> = {}): SourceSettings => loadSourceSettings({ DATABASE_SECRET_ARN: ARN, ...env });

describe('database credentials', () => {
  beforeEach(() => secrets.reset());

  it('builds a verify-full connection from an RDS secret, escaping the password', () => {
    // Act
    const connection = connectionFromSecret(
      JSON.stringify({ username: 'etl', password: 'p@ss/w:rd', host: 'db.internal', port: 5433, dbname: 'rentals' }),
      settings(),
    );

    // Assess
    expect(connection).toEqual({ url: 'postgres://etl:p%40ss%2Fw%3Ard@db.internal:5433/rentals', ssl: {} });
  });

  it("accepts RDS's managed secret (username and password) with host, port and database from the configuration", () => {
    // Act
    const connection = connectionFromSecret(
      JSON.stringify({ username: 'etl', password: 'pw' }),
      settings({ DATABASE_HOST: 'db.abc.eu-west-1.rds.amazonaws.com', DATABASE_PORT: '5433', DATABASE_NAME: 'rentals' }),
    );

    // Assess
    expect(connection.url).toBe('postgres://etl:pw@db.abc.eu-west-1.rds.amazonaws.com:5433/rentals');
  });

  it("lets the configured host win over the secret's (an RDS Proxy endpoint) and turns TLS off only when told", () => {
    // Act
    const connection = connectionFromSecret(
      JSON.stringify({ username: 'u', password: 'p', host: 'instance.internal', dbname: 'd' }),
      settings({ DATABASE_HOST: 'proxy.internal', DATABASE_SSLMODE: 'disable' }),
    );

    // Assess
    expect(connection).toEqual({ url: 'postgres://u:p@proxy.internal:5432/d', ssl: false });
  });

  it('names DATABASE_HOST when neither the secret nor the configuration says where the database is', () => {
    // Act
    const act = () => connectionFromSecret(JSON.stringify({ username: 'etl', password: 'pw' }), settings());

    // Assess
    expect(act).toThrow(ConfigError);
    expect(act).toThrow(/^DATABASE_HOST: expected the database's host name: the secret has no "host"/);
  });

  it('names the missing field of a malformed secret', () => {
    // Act + Assess
    expect(() => connectionFromSecret('{"username":"etl","host":"h"}', settings())).toThrow(
      /DATABASE_SECRET_ARN: expected a secret with a non-empty "password"/,
    );
    expect(() => connectionFromSecret('nope', settings())).toThrow(ConfigError);
  });

  it('reads the secret once per container and caches it', async () => {
    // Prepare
    secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ username: 'u', password: 'p', host: 'h' }) });
    const credentials = sourceCredentials(undefined, settings(), new SecretsManagerClient({ region: 'us-east-1' }));

    // Act
    const first = await credentials.current();
    const second = await credentials.current();

    // Assess
    expect(first.url).toBe('postgres://u:p@h:5432/postgres');
    expect(second).toBe(first);
    expect(secrets).toReceiveCommandTimes(GetSecretValueCommand, 1);
  });

  it('turns a Secrets Manager outage into a transient error and tries again next time', async () => {
    // Prepare
    secrets.on(GetSecretValueCommand).rejectsOnce(new Error('throttled')).resolves({ SecretString: '{"username":"u","password":"p","host":"h"}' });
    const credentials = sourceCredentials(undefined, settings(), new SecretsManagerClient({ region: 'us-east-1' }));

    // Act
    const failed = await credentials.current().catch((e: unknown) => e);
    const retried = await credentials.current();

    // Assess
    expect(failed).toBeInstanceOf(SourceUnavailableError);
    expect(retried.url).toMatch(/^postgres:\/\/u:p@h/);
  });

  it('reads the secret again after forget(), which connectWith calls when the database refuses the password (a rotation)', async () => {
    // Prepare
    secrets
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: JSON.stringify({ username: 'u', password: 'old', host: 'h' }) })
      .resolves({ SecretString: JSON.stringify({ username: 'u', password: 'new', host: 'h' }) });
    const credentials = sourceCredentials(undefined, settings(), new SecretsManagerClient({ region: 'us-east-1' }));

    // Act
    const before = await credentials.current();
    const forgot = credentials.forget();
    const after = await credentials.current();

    // Assess
    expect(new URL(before.url).password).toBe('old');
    expect(forgot).toBe(true);
    expect(new URL(after.url).password).toBe('new');
    expect(secrets).toReceiveCommandTimes(GetSecretValueCommand, 2);
  });

  it('has nothing to read again for a DATABASE_URL: a refused password stays terminal', async () => {
    // Prepare
    const credentials = sourceCredentials('postgres://u:wrong@db.internal:5432/db', settings());

    // Act
    const forgot = credentials.forget();

    // Assess
    expect(forgot).toBe(false);
    expect(await credentials.current()).toEqual({ url: 'postgres://u:wrong@db.internal:5432/db' });
    expect(secrets).toReceiveCommandTimes(GetSecretValueCommand, 0);
  });

  it('fails at cold start when neither DATABASE_URL nor DATABASE_SECRET_ARN is set', () => {
    // Act + Assess
    expect(() => sourceCredentials(undefined, loadSourceSettings({}))).toThrow(/^DATABASE_URL: expected/);
  });

  it.each([
    [{ DATABASE_SSLMODE: 'prefer' }, 'DATABASE_SSLMODE'],
    [{ DATABASE_PORT: '70000' }, 'DATABASE_PORT'],
    [{ DATABASE_SSLROOTCERT: '/nonexistent/ca.pem' }, 'DATABASE_SSLROOTCERT'],
  ])('names a malformed setting %o', (env, field) => {
    // Act
    const error = (() => {
      try {
        loadSourceSettings(env);
      } catch (e) {
        return e;
      }
    })();

    // Assess
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).field).toBe(field);
  });
});
