/**
 * TLS and credentials against a real Postgres that speaks TLS with a certificate of a CA made in the
 * test: verify-full works once the CA is trusted (DATABASE_SSLROOTCERT, sslrootcert in DATABASE_URL,
 * or NODE_EXTRA_CA_CERTS as the stack sets it in Lambda) and fails without it as a configuration
 * error that names the variable to set; after a password rotation, a warm connector reads the
 * secret (in moto's Secrets Manager) again and connects.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSourceSettings } from '../../src/core/config.js';
import { ConfigError, isRetryable } from '../../src/core/errors.js';
import { connect, SourceAuthenticationError, sourceConnector, SourceTlsError } from '../../src/source/connect.js';
import { connectionFromSecret } from '../../src/source/credentials.js';
import { s3Endpoint, s3Env } from '../support/s3.js';
import { startTlsPostgres, unusableReason, type TlsPostgres } from '../support/tls-postgres.js';

const unusable = unusableReason();
if (unusable && process.env.CI) throw new Error(`CI must run the TLS tests against the machine's Postgres, but ${unusable}`);
if (unusable) console.warn(`[source-tls] SKIPPED: ${unusable}`);

describe.skipIf(unusable !== undefined)("TLS to a Postgres whose certificate a test CA signed (the machine's PostgreSQL)", () => {
  let server: TlsPostgres;
  /** RDS's managed secret: only the credentials. */
  const managedSecret = () => JSON.stringify({ username: 'postgres', password: server.password });
  const settings = (env: Record<string, string> = {}) => loadSourceSettings({ DATABASE_HOST: 'localhost', DATABASE_PORT: String(server.port), ...env });
  const tlsInUse = 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()';

  beforeAll(async () => {
    server = await startTlsPostgres();
  });
  afterAll(() => server?.stop());

  it('connects with verify-full when DATABASE_SSLROOTCERT names the CA', async () => {
    // Prepare
    const connection = connectionFromSecret(managedSecret(), settings({ DATABASE_SSLROOTCERT: server.caFile }));

    // Act
    const client = await connect(connection);
    const { rows } = await client.query<{ ssl: boolean }>(tlsInUse);
    await client.end();

    // Assess
    expect(rows).toEqual([{ ssl: true }]);
  });

  it('without the CA, fails as a configuration error naming DATABASE_SSLROOTCERT, which no retry repeats', async () => {
    // Prepare: the default mode, verify-full, with only the runtime's CAs
    const connection = connectionFromSecret(managedSecret(), settings());

    // Act
    const error = await connect(connection).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(SourceTlsError);
    expect(error).toBeInstanceOf(ConfigError);
    expect(isRetryable(error)).toBe(false);
    expect((error as ConfigError).field).toBe('DATABASE_SSLROOTCERT');
    expect((error as Error).message).toMatch(/not signed by a CA this process trusts \(unable to verify the first certificate/);
    expect((error as Error).message).toMatch(/Set DATABASE_SSLROOTCERT to a PEM file of its CA .* NODE_EXTRA_CA_CERTS=\/var\/runtime\/ca-cert\.pem/);
  });

  it('refuses a CA that did not sign the certificate, and a host name the certificate does not hold', async () => {
    // Act
    const otherCa = await connect(connectionFromSecret(managedSecret(), settings({ DATABASE_SSLROOTCERT: server.otherCaFile }))).catch((e: unknown) => e);
    const byAddress = await connect(connectionFromSecret(managedSecret(), settings({ DATABASE_SSLROOTCERT: server.caFile, DATABASE_HOST: '127.0.0.1' }))).catch(
      (e: unknown) => e,
    );

    // Assess
    expect(otherCa).toMatchObject({ name: 'SourceTlsError', field: 'DATABASE_SSLROOTCERT' });
    expect(byAddress).toMatchObject({ name: 'SourceTlsError', field: 'DATABASE_HOST' });
    expect((byAddress as Error).message).toMatch(/does not name the host connected to .*Connect with a name the certificate holds/);
  });

  it('trusts the CA of sslrootcert in a DATABASE_URL', async () => {
    // Prepare
    const url = `postgres://postgres:${server.password}@localhost:${server.port}/postgres?sslmode=verify-full&sslrootcert=${encodeURIComponent(server.caFile)}`;

    // Act
    const client = await connect(url);
    const { rows } = await client.query<{ ssl: boolean }>(tlsInUse);
    await client.end();

    // Assess
    expect(rows).toEqual([{ ssl: true }]);
  });

  it('trusts the CAs of NODE_EXTRA_CA_CERTS, as the stack sets it for Lambda, without DATABASE_SSLROOTCERT', async () => {
    // Prepare: a process of its own, as the variable is read when Node starts
    const connection = connectionFromSecret(managedSecret(), settings());
    const script = `import pg from 'pg';
      const client = new pg.Client(JSON.parse(process.argv[1]));
      await client.connect();
      console.log(JSON.stringify((await client.query(${JSON.stringify(tlsInUse)})).rows));
      await client.end();`;
    const run = (extraCas: string | undefined) =>
      promisify(execFile)(process.execPath, ['--input-type=module', '-e', script, JSON.stringify({ connectionString: connection.url, ssl: connection.ssl })], {
        env: { ...process.env, NODE_EXTRA_CA_CERTS: extraCas },
      });

    // Act
    const trusted = await run(server.caFile);
    const untrusted = await run(undefined).catch((e: { stderr: string }) => e);

    // Assess
    expect(JSON.parse(trusted.stdout)).toEqual([{ ssl: true }]);
    expect((untrusted as { stderr: string }).stderr).toMatch(/unable to verify the first certificate/);
  });

  describe.skipIf(!s3Endpoint)('with the secret in Secrets Manager (moto)', () => {
    const saved = { ...process.env };
    let secrets: SecretsManagerClient;
    let arn: string;

    beforeAll(async () => {
      // The connector builds its own client, configured like the Lambda's: from the environment.
      Object.assign(process.env, s3Env(s3Endpoint!), { AWS_ENDPOINT_URL_SECRETS_MANAGER: s3Endpoint! });
      secrets = new SecretsManagerClient({});
      server.admin("CREATE ROLE etl LOGIN PASSWORD 'first-password'");
      const created = await secrets.send(
        new CreateSecretCommand({ Name: `etl-${Date.now()}`, SecretString: JSON.stringify({ username: 'etl', password: 'first-password' }) }),
      );
      arn = created.ARN!;
    });
    afterAll(() => {
      secrets?.destroy();
      process.env = saved;
    });

    it('reads the secret again after a rotation and connects with the new password; a wrong password stays terminal', async () => {
      // Prepare: a warm connector that has read the first password
      const env = {
        DATABASE_SECRET_ARN: arn,
        DATABASE_HOST: 'localhost',
        DATABASE_PORT: String(server.port),
        DATABASE_NAME: 'postgres',
        DATABASE_SSLROOTCERT: server.caFile,
      };
      const withSource = sourceConnector({ databaseUrl: undefined }, env);
      const whoAmI = () => withSource(async (client) => (await client.query<{ user: string }>('SELECT current_user AS user')).rows[0].user);
      expect(await whoAmI()).toBe('etl');

      // Act: the rotation changes the password in the database and in the secret
      server.admin("ALTER ROLE etl PASSWORD 'second-password'");
      await secrets.send(new PutSecretValueCommand({ SecretId: arn, SecretString: JSON.stringify({ username: 'etl', password: 'second-password' }) }));
      const afterRotation = await whoAmI();
      // ...and a password that the secret does not follow
      server.admin("ALTER ROLE etl PASSWORD 'third-password'");
      const refused = await whoAmI().catch((e: unknown) => e);

      // Assess
      expect(afterRotation).toBe('etl');
      expect(refused).toBeInstanceOf(SourceAuthenticationError);
      expect(isRetryable(refused)).toBe(false);
      expect((refused as Error).message).toMatch(/password authentication failed for user "etl"/);
    });
  });
});
