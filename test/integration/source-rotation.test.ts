/**
 * A rotation of the database secret, half-way: the rotation has set the new password in the
 * database (the secret's AWSPENDING version) but not yet made it the secret's current one. The
 * current password is refused even after reading the secret again, and that is a transient error
 * (the state machine retries it with backoff) until the rotation completes; with no rotation under
 * way, a refused password stays terminal (`source-tls.test.ts`). Against a password-checking
 * Postgres (the TLS fixture) and moto's Secrets Manager.
 */
import { randomUUID } from 'node:crypto';
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRetryable, SourceUnavailableError } from '../../src/core/errors.js';
import { sourceConnector } from '../../src/source/connect.js';
import { s3Endpoint, s3Env } from '../support/s3.js';
import { startTlsPostgres, unusableReason, type TlsPostgres } from '../support/tls-postgres.js';

const unusable = unusableReason();

describe.skipIf(unusable !== undefined || !s3Endpoint)('a rotation of the secret under way', () => {
  const saved = { ...process.env };
  let server: TlsPostgres;
  let secrets: SecretsManagerClient;
  let arn: string;

  beforeAll(async () => {
    server = await startTlsPostgres();
    Object.assign(process.env, s3Env(s3Endpoint!), { AWS_ENDPOINT_URL_SECRETS_MANAGER: s3Endpoint! });
    secrets = new SecretsManagerClient({});
    server.admin("CREATE ROLE rotated LOGIN PASSWORD 'old-password'");
    const created = await secrets.send(
      new CreateSecretCommand({ Name: `etl-rotation-${Date.now()}`, SecretString: JSON.stringify({ username: 'rotated', password: 'old-password' }) }),
    );
    arn = created.ARN!;
  });
  afterAll(() => {
    secrets?.destroy();
    server?.stop();
    process.env = saved;
  });

  it('retries a refused password while the rotation is half-way, and connects once it completes', async () => {
    // Prepare: a warm connector that read the old password
    const env = {
      DATABASE_SECRET_ARN: arn,
      DATABASE_HOST: 'localhost',
      DATABASE_PORT: String(server.port),
      DATABASE_NAME: 'postgres',
      DATABASE_SSLROOTCERT: server.caFile,
    };
    const withSource = sourceConnector({ databaseUrl: undefined }, env);
    const whoAmI = () => withSource(async (client) => (await client.query<{ user: string }>('SELECT current_user AS user')).rows[0].user);
    expect(await whoAmI()).toBe('rotated');

    // Act: the rotation's createSecret and setSecret steps, not yet its finishSecret
    const pending = randomUUID();
    await secrets.send(
      new PutSecretValueCommand({
        SecretId: arn,
        ClientRequestToken: pending,
        SecretString: JSON.stringify({ username: 'rotated', password: 'new-password' }),
        VersionStages: ['AWSPENDING'],
      }),
    );
    server.admin("ALTER ROLE rotated PASSWORD 'new-password'");
    const halfWay = await whoAmI().catch((e: unknown) => e);
    // ...then finishSecret: the new password becomes the current one, and nothing is pending (moto
    // does not serve a version moved to AWSCURRENT by UpdateSecretVersionStage, so it is put anew)
    await secrets.send(new PutSecretValueCommand({ SecretId: arn, SecretString: JSON.stringify({ username: 'rotated', password: 'new-password' }) }));
    await secrets.send(new UpdateSecretVersionStageCommand({ SecretId: arn, VersionStage: 'AWSPENDING', RemoveFromVersionId: pending }));
    const afterwards = await whoAmI();

    // Assess
    expect(halfWay).toBeInstanceOf(SourceUnavailableError);
    expect(isRetryable(halfWay)).toBe(true);
    expect((halfWay as Error).message).toMatch(/password authentication failed for user "rotated".*rotation of the secret is under way/);
    expect(afterwards).toBe('rotated');
  });
});
