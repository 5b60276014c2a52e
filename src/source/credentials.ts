/**
 * Where the source's connection string comes from: `DATABASE_URL` (CLI, tests, LocalStack) or, in
 * AWS, the Secrets Manager secret `DATABASE_SECRET_ARN` in the RDS JSON form
 * `{ username, password, host, port, dbname }`, read once per Lambda container.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigError, SourceUnavailableError } from '../core/errors.js';

type Env = Record<string, string | undefined>;

/** Builds a connection string from an RDS-style secret; `sslmode` is appended when given. */
export function databaseUrlFromSecret(secret: string, sslmode: string | undefined): string {
  let parsed: { username?: string; password?: string; host?: string; port?: number | string; dbname?: string };
  try {
    parsed = JSON.parse(secret) as typeof parsed;
  } catch {
    throw new ConfigError('DATABASE_SECRET_ARN', 'a secret holding JSON { username, password, host, port, dbname }', '(not JSON)');
  }
  for (const field of ['username', 'password', 'host'] as const) {
    if (typeof parsed[field] !== 'string' || parsed[field] === '') {
      throw new ConfigError('DATABASE_SECRET_ARN', `a secret with a non-empty "${field}"`, '(missing)');
    }
  }
  const url = new URL('postgres://localhost');
  url.username = encodeURIComponent(parsed.username!);
  url.password = encodeURIComponent(parsed.password!);
  url.hostname = parsed.host!;
  url.port = String(parsed.port ?? 5432);
  url.pathname = `/${encodeURIComponent(parsed.dbname ?? 'postgres')}`;
  if (sslmode) url.searchParams.set('sslmode', sslmode);
  return url.toString();
}

/**
 * Returns a function giving the database URL: `DATABASE_URL` when set, else the secret named by
 * `DATABASE_SECRET_ARN` (fetched on first use, then cached). Throws `ConfigError` when neither is set.
 */
export function databaseUrlSource(env: Env, databaseUrl: string | undefined, client?: SecretsManagerClient): () => Promise<string> {
  if (databaseUrl !== undefined) return async () => databaseUrl;
  const arn = env.DATABASE_SECRET_ARN;
  if (!arn) throw new ConfigError('DATABASE_URL', 'postgres://user:password@host:port/database (or DATABASE_SECRET_ARN)');
  let cached: Promise<string> | undefined;
  return () => {
    cached ??= (async () => {
      try {
        // Loaded on first use: a cold start with DATABASE_URL never pays for this client.
        const sdk = await import('@aws-sdk/client-secrets-manager');
        const out = await (client ?? new sdk.SecretsManagerClient({})).send(new sdk.GetSecretValueCommand({ SecretId: arn }));
        return databaseUrlFromSecret(out.SecretString ?? '', env.DATABASE_SSLMODE ?? 'require');
      } catch (error) {
        cached = undefined;
        if (error instanceof ConfigError) throw error;
        throw new SourceUnavailableError(`read DATABASE_SECRET_ARN: ${(error as Error).message}`, { cause: error });
      }
    })();
    return cached;
  };
}
