/**
 * Where the source's connection comes from: `DATABASE_URL` (CLI, tests, LocalStack) or, in AWS, the
 * Secrets Manager secret `DATABASE_SECRET_ARN`. The secret holds the RDS JSON
 * `{ username, password, host, port, dbname }`, or only `{ username, password }` (RDS's managed
 * secret), the rest coming from `DATABASE_HOST`, `DATABASE_PORT` and `DATABASE_NAME`. It is read once
 * per Lambda container, and read again after the database refused its password (`connect.ts`): a
 * rotation replaced the password since. Refused again while a rotation is under way, the password
 * is only late (the rotation has set the new one in the database, not yet in the secret): a
 * transient error, retried with backoff.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SourceSettings } from '../core/config.js';
import { ConfigError, SourceUnavailableError } from '../core/errors.js';

/** A connection to the source: the connection string and, when the configuration sets its TLS, pg's `ssl` option. */
export interface SourceConnection {
  readonly url: string;
  /**
   * `false`: no TLS. An object: TLS that checks the certificate and the host name (verify-full),
   * trusting only `ca` when given, else the runtime's CAs. Unset: what `url` says (`sslmode=...`).
   */
  readonly ssl?: false | { readonly ca?: string };
}

const SECRET_FORM = 'a secret holding JSON { username, password, host?, port?, dbname? }';

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * The connection a secret describes. `settings` (`DATABASE_HOST`, `DATABASE_PORT`, `DATABASE_NAME`)
 * win over the secret's fields, and set its TLS (`DATABASE_SSLMODE`, `DATABASE_SSLROOTCERT`).
 */
export function connectionFromSecret(secret: string, settings: SourceSettings): SourceConnection {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(secret) as Record<string, unknown>;
  } catch {
    throw new ConfigError('DATABASE_SECRET_ARN', SECRET_FORM, '(not JSON)');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ConfigError('DATABASE_SECRET_ARN', SECRET_FORM, '(not an object)');
  for (const field of ['username', 'password'] as const) {
    if (nonEmpty(parsed[field]) === undefined) throw new ConfigError('DATABASE_SECRET_ARN', `a secret with a non-empty "${field}"`, '(missing)');
  }
  const host = settings.host ?? nonEmpty(parsed.host);
  if (host === undefined) {
    throw new ConfigError('DATABASE_HOST', 'the database\'s host name: the secret has no "host" (RDS\'s managed secret holds only username and password)');
  }
  const port = settings.port ?? (parsed.port === undefined ? 5432 : Number(parsed.port));
  if (!Number.isInteger(port) || port < 1 || port > 65_535)
    throw new ConfigError('DATABASE_SECRET_ARN', 'a secret whose "port" is a port number', String(parsed.port));
  const url = new URL('postgres://localhost');
  url.username = encodeURIComponent(parsed.username as string);
  url.password = encodeURIComponent(parsed.password as string);
  url.hostname = host;
  url.port = String(port);
  url.pathname = `/${encodeURIComponent(settings.database ?? nonEmpty(parsed.dbname) ?? 'postgres')}`;
  const ssl = settings.sslMode === 'disable' ? false : settings.sslRootCert === undefined ? {} : { ca: settings.sslRootCert };
  return { url: url.toString(), ssl };
}

/** A Secrets Manager client with the pipeline's HTTP timeouts, loaded on first use: a cold start with `DATABASE_URL` never pays for it. */
export async function createSecretsManagerClient(): Promise<SecretsManagerClient> {
  const [{ SecretsManagerClient }, { awsRequestHandler }] = await Promise.all([import('@aws-sdk/client-secrets-manager'), import('../core/aws-http.js')]);
  return new SecretsManagerClient({ requestHandler: awsRequestHandler() });
}

/** The source's connection as a stage's Lambda gets it. */
export interface SourceCredentials {
  /** `DATABASE_URL`'s connection, or the secret's: read on first use, then kept. */
  current(): Promise<SourceConnection>;
  /**
   * Forgets the secret read last, so that the next `current()` reads it again. False when there is
   * nothing to read again (`DATABASE_URL`).
   */
  forget(): boolean;
  /**
   * Whether a rotation of the secret is under way (it has an `AWSPENDING` version): between the
   * rotation setting the new password in the database and making it the secret's current one, the
   * current password is refused for a while. Always false for `DATABASE_URL`.
   */
  rotating(): Promise<boolean>;
}

/**
 * The connection of `DATABASE_URL` when set, else of the secret `settings.secretArn` names.
 * Throws `ConfigError` at once when neither is set.
 */
export function sourceCredentials(databaseUrl: string | undefined, settings: SourceSettings, client?: SecretsManagerClient): SourceCredentials {
  if (databaseUrl !== undefined) return { current: async () => ({ url: databaseUrl }), forget: () => false, rotating: async () => false };
  const arn = settings.secretArn;
  if (arn === undefined) throw new ConfigError('DATABASE_URL', 'postgres://user:password@host:port/database (or DATABASE_SECRET_ARN)');
  let secrets: Promise<SecretsManagerClient> | undefined;
  let cached: Promise<SourceConnection> | undefined;
  const getSecretValue = async (versionStage?: string) => {
    const { GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
    secrets ??= client ? Promise.resolve(client) : createSecretsManagerClient();
    return (await secrets).send(new GetSecretValueCommand({ SecretId: arn, VersionStage: versionStage }));
  };
  const read = async (): Promise<SourceConnection> => {
    try {
      const out = await getSecretValue();
      return connectionFromSecret(out.SecretString ?? '', settings);
    } catch (error) {
      cached = undefined;
      if (error instanceof ConfigError) throw error;
      throw new SourceUnavailableError(`read DATABASE_SECRET_ARN: ${(error as Error).message}`, { cause: error });
    }
  };
  return {
    current: () => {
      cached ??= read();
      return cached;
    },
    forget: () => {
      cached = undefined;
      return true;
    },
    rotating: async () => {
      try {
        await getSecretValue('AWSPENDING');
        return true;
      } catch (error) {
        if ((error as { name?: string }).name === 'ResourceNotFoundException') return false;
        throw new SourceUnavailableError(`read DATABASE_SECRET_ARN's AWSPENDING version: ${(error as Error).message}`, { cause: error });
      }
    },
  };
}
