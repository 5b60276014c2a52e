/**
 * The source database as a command opens it: an unreachable database is a configuration error
 * (exit 2), named without its password.
 */
import type pg from 'pg';
import { requireDatabaseUrl, type Config } from '../src/core/config.js';
import { ConfigError } from '../src/core/errors.js';
import { connect } from '../src/source/connect.js';

/** Connects to `DATABASE_URL`; the caller ends the client. */
export async function openSource(config: Config): Promise<pg.Client> {
  const url = requireDatabaseUrl(config);
  try {
    return await connect(url);
  } catch (error) {
    const target = new URL(url);
    throw new ConfigError(
      'DATABASE_URL',
      'a reachable Postgres (postgres://user:password@host:port/database)',
      `${target.hostname}:${target.port || 5432}${target.pathname}: ${(error as Error).message}`,
    );
  }
}
