/**
 * Spying on what a pg client sends, for tests that assert which statements a stage runs.
 */
import type pg from 'pg';

/** Records the text of every query `client` sends, still sending it. */
export function recordQueries(client: pg.Client): string[] {
  const texts: string[] = [];
  const send = client.query.bind(client) as (...args: unknown[]) => unknown;
  Object.assign(client, {
    query: (query: string | { text: string }, ...rest: unknown[]) => {
      texts.push(typeof query === 'string' ? query : query.text);
      return send(query, ...rest);
    },
  });
  return texts;
}
