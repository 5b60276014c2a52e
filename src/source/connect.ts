/**
 * Connections to the source Postgres and the sorting of its failures into transient (retry) and
 * terminal (stop) errors.
 */
import pg from 'pg';
import type { Config } from '../core/config.js';
import { databaseUrlSource } from './credentials.js';
import { EtlError, SourceUnavailableError, TerminalError } from '../core/errors.js';

/** The source refused the request for good: bad credentials, missing database or table. */
export class SourceError extends TerminalError {}

/** SQLSTATE classes and codes a later attempt may not hit. */
const TRANSIENT_SQLSTATE = /^(08|53|57P0|40001|40P01|55P03|XX000)/;
const TRANSIENT_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']);

/** Wraps a pg or network failure in the project's error classes, keeping it as `cause`. */
export function classifyDbError(error: unknown, action: string): Error {
  if (error instanceof EtlError) return error;
  const code = (error as { code?: string })?.code ?? '';
  const message = `${action}: ${(error as Error)?.message ?? String(error)}`;
  if (
    TRANSIENT_SQLSTATE.test(code) ||
    TRANSIENT_NODE_CODES.has(code) ||
    /Connection terminated|connection timeout|connection error|not queryable/i.test(message)
  ) {
    return new SourceUnavailableError(message, { cause: error });
  }
  return new SourceError(message, { cause: error });
}

/** Opens one client connection; the caller ends it. */
export async function connect(databaseUrl: string, applicationName = 'pg-lake-etl'): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: applicationName, connectionTimeoutMillis: 10_000 });
  // An idle client that loses its server emits 'error'; the query in flight rejects on its own.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw classifyDbError(error, 'connect to DATABASE_URL');
  }
  return client;
}

/** Runs `work` with a fresh connection and always closes it. */
export async function withClient<T>(databaseUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await connect(databaseUrl);
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Runs `work` on a connection of its own to the source, closed afterwards. */
export type SourceConnector = <T>(work: (client: pg.Client) => Promise<T>) => Promise<T>;

/**
 * The source as a stage's Lambda reaches it: `DATABASE_URL`, or the secret `DATABASE_SECRET_ARN`
 * names (read on first use). Throws `ConfigError` at once when neither is set.
 */
export function sourceConnector(config: Pick<Config, 'databaseUrl'>, env: Record<string, string | undefined>): SourceConnector {
  const databaseUrl = databaseUrlSource(env, config.databaseUrl);
  return async (work) => withClient(await databaseUrl(), work);
}
