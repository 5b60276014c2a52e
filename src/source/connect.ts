/**
 * Connections to the source Postgres and the sorting of its failures into transient (retry) and
 * terminal (stop) errors; a TLS failure only configuration can fix names the variable to set.
 */
import pg from 'pg';
import { loadSourceSettings, type Config } from '../core/config.js';
import { sourceCredentials, type SourceConnection, type SourceCredentials } from './credentials.js';
import { ConfigError, EtlError, SourceUnavailableError, TerminalError } from '../core/errors.js';

/** The source refused the request for good: bad credentials, missing database or table. */
export class SourceError extends TerminalError {}

/** The database refused the credentials (SQLSTATE class 28): a secret rotated since it was read. */
export class SourceAuthenticationError extends SourceError {}

/**
 * TLS to the database failed in a way only configuration fixes: a certificate signed by a CA this
 * process does not trust, a host name the certificate does not name, a server without TLS.
 * `field` names the variable to set.
 */
export class SourceTlsError extends ConfigError {
  constructor(field: string, expected: string, message: string, options: { cause: unknown }) {
    super(field, expected, undefined, options);
    this.message = message;
  }
}

/** SQLSTATE classes and codes a later attempt may not hit. */
const TRANSIENT_SQLSTATE = /^(08|53|57P0|40001|40P01|55P03|XX000)/;
const TRANSIENT_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']);
/** Node's codes for a certificate chain that ends at no trusted CA. */
const UNTRUSTED_CERTIFICATE_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
]);

/** The TLS failures that configuration fixes, as `SourceTlsError`s naming the variable; undefined for any other failure. */
function tlsConfigurationError(code: string, message: string, action: string, cause: unknown): SourceTlsError | undefined {
  if (UNTRUSTED_CERTIFICATE_CODES.has(code)) {
    const expected = "a PEM file of the CA that signs the database's certificate";
    return new SourceTlsError(
      'DATABASE_SSLROOTCERT',
      expected,
      `${action}: the database's TLS certificate is not signed by a CA this process trusts (${message}). ` +
        'Set DATABASE_SSLROOTCERT to a PEM file of its CA (with DATABASE_URL, add sslrootcert=<file> to it); ' +
        'for RDS in Lambda, NODE_EXTRA_CA_CERTS=/var/runtime/ca-cert.pem (the stack sets it) trusts the RDS CAs',
      { cause },
    );
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return new SourceTlsError(
      'DATABASE_HOST',
      'a host name on the database certificate',
      `${action}: the database's TLS certificate does not name the host connected to (${message}). ` +
        'Connect with a name the certificate holds (the RDS endpoint, not an IP address or an alias): DATABASE_HOST or the host of the secret or DATABASE_URL',
      { cause },
    );
  }
  if (/does not support SSL/i.test(message)) {
    return new SourceTlsError(
      'DATABASE_SSLMODE',
      'TLS on the database, or disable for a database without TLS on a private network',
      `${action}: the database does not offer TLS (${message}). Turn TLS on, or set DATABASE_SSLMODE=disable (sslmode=disable in DATABASE_URL) for a database on a private network`,
      { cause },
    );
  }
  return undefined;
}

/** Wraps a pg or network failure in the project's error classes, keeping it as `cause`. */
export function classifyDbError(error: unknown, action: string): Error {
  if (error instanceof EtlError) return error;
  const code = (error as { code?: string })?.code ?? '';
  const reason = (error as Error)?.message ?? String(error);
  const message = `${action}: ${reason}`;
  const tls = tlsConfigurationError(code, reason, action, error);
  if (tls) return tls;
  if (
    TRANSIENT_SQLSTATE.test(code) ||
    TRANSIENT_NODE_CODES.has(code) ||
    /Connection terminated|connection timeout|connection error|not queryable/i.test(message)
  ) {
    return new SourceUnavailableError(message, { cause: error });
  }
  if (code.startsWith('28')) return new SourceAuthenticationError(message, { cause: error });
  return new SourceError(message, { cause: error });
}

export interface ConnectOptions {
  /**
   * The server cancels any statement running longer (`statement_timeout`): a stage's Lambda sets
   * its own timeout, so no query outlives the function that asked for it. Unset: the server's.
   */
  readonly statementTimeoutMs?: number;
}

/** Opens one client connection; the caller ends it. A string is a connection string. */
export async function connect(connection: string | SourceConnection, applicationName = 'pg-lake-etl', options: ConnectOptions = {}): Promise<pg.Client> {
  const { url, ssl } = typeof connection === 'string' ? { url: connection, ssl: undefined } : connection;
  // A connection string without ssl parameters leaves `ssl` as given here (pg lets the string's win).
  const client = new pg.Client({
    connectionString: url,
    ssl: ssl === undefined ? undefined : ssl === false ? false : { ...ssl },
    application_name: applicationName,
    connectionTimeoutMillis: 10_000,
    ...(options.statementTimeoutMs !== undefined && { statement_timeout: options.statementTimeoutMs }),
  });
  // An idle client that loses its server emits 'error'; the query in flight rejects on its own.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw classifyDbError(error, 'connect to the database');
  }
  return client;
}

/**
 * Connects with `credentials`. When the database refuses the password, reads the secret once more
 * and tries again: a rotation replaced the password after this container read it. Refused again
 * while a rotation is under way (the database already has the new password, the secret's current
 * version not yet), it is a `SourceUnavailableError`, which the state machine retries with backoff;
 * refused with no rotation under way, the secret's password is wrong: terminal.
 */
export async function connectWith(credentials: SourceCredentials, applicationName?: string, options: ConnectOptions = {}): Promise<pg.Client> {
  try {
    return await connect(await credentials.current(), applicationName, options);
  } catch (error) {
    if (!(error instanceof SourceAuthenticationError) || !credentials.forget()) throw error;
  }
  try {
    return await connect(await credentials.current(), applicationName, options);
  } catch (error) {
    if (!(error instanceof SourceAuthenticationError) || !(await credentials.rotating())) throw error;
    throw new SourceUnavailableError(`${error.message} (a rotation of the secret is under way: retried once it completes)`, { cause: error });
  }
}

async function closing<T>(client: pg.Client, work: (client: pg.Client) => Promise<T>): Promise<T> {
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Runs `work` with a fresh connection and always closes it. */
export async function withClient<T>(connection: string | SourceConnection, work: (client: pg.Client) => Promise<T>): Promise<T> {
  return closing(await connect(connection), work);
}

/** Runs `work` on a connection of its own to the source, closed afterwards. */
export type SourceConnector = <T>(work: (client: pg.Client) => Promise<T>) => Promise<T>;

/**
 * The source as a stage's Lambda reaches it: `DATABASE_URL`, or the secret `DATABASE_SECRET_ARN`
 * names (read on first use, and again after a refused password), each statement limited as
 * `options` says (the handler passes the stage's Lambda timeout). Reads the `DATABASE_*` settings
 * now, and throws `ConfigError` at once when one is malformed or neither source is set.
 */
export function sourceConnector(config: Pick<Config, 'databaseUrl'>, env: Record<string, string | undefined>, options: ConnectOptions = {}): SourceConnector {
  const credentials = sourceCredentials(config.databaseUrl, loadSourceSettings(env));
  return async (work) => closing(await connectWith(credentials, undefined, options), work);
}
