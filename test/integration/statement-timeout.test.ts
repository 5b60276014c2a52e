/**
 * No source query outlives the Lambda that sent it: each stage's handler opens the source with a
 * `statement_timeout` of its own Lambda timeout, so the server cancels a statement the function
 * can no longer be waiting for (a timed-out COPY would otherwise run on, holding the database).
 */
import { describe, expect, it } from 'vitest';
import { FsStore } from '../../src/lake/fs-store.js';
import { parseLakeUri } from '../../src/core/config.js';
import { lambdaHandler } from '../../src/pipeline/handler.js';
import { stage as planDay } from '../../src/pipeline/plan-day/index.js';
import { STAGES } from '../../src/pipeline/stages.js';
import { type ConnectOptions, sourceConnector } from '../../src/source/connect.js';
import { rejectionOf } from '../support/outcomes.js';

const databaseUrl = process.env.TEST_DATABASE_URL!;

describe('statement_timeout on source queries', () => {
  it("limits a stage's statements to its Lambda timeout", () => {
    // Prepare
    const asked: ConnectOptions[] = [];
    const env = { DATABASE_URL: databaseUrl, LAKE_URI: '/tmp/statement-timeout-lake' };

    // Act
    lambdaHandler(
      planDay,
      {
        lake: async (config) => new FsStore(parseLakeUri(config.lake.uri)),
        source: (config, e, options) => {
          asked.push(options);
          return sourceConnector(config, e, options);
        },
      },
      env,
    );

    // Assess
    expect(asked).toEqual([{ statementTimeoutMs: STAGES.planDay.lambda.timeoutSeconds * 1000 }]);
  });

  it('has the server cancel a statement that runs longer', async () => {
    // Prepare
    const withSource = sourceConnector({ databaseUrl }, {}, { statementTimeoutMs: 200 });

    // Act
    const setting = await withSource(async (client) => (await client.query<{ statement_timeout: string }>('SHOW statement_timeout')).rows[0].statement_timeout);
    const cancelled = await rejectionOf(withSource((client) => client.query('SELECT pg_sleep(5)')));

    // Assess
    expect(setting).toBe('200ms');
    expect((cancelled as { code?: string }).code).toBe('57014');
  });
});
