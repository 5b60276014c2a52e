/**
 * The AWS clients give up on an endpoint that does not answer (a VPC without a route to the
 * service) within their timeouts, instead of waiting for the Lambda's: the Secrets Manager client
 * the source's credentials use, against a server that accepts connections and never answers, and
 * the S3 store's client, whose handler is checked after a request to moto.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AWS_HTTP_TIMEOUTS } from '../../src/core/aws-http.js';
import { loadSourceSettings, parseLakeUri } from '../../src/core/config.js';
import { SourceUnavailableError } from '../../src/core/errors.js';
import { S3Store } from '../../src/lake/s3-store.js';
import { createSecretsManagerClient, sourceCredentials } from '../../src/source/credentials.js';
import { createBucket, s3Endpoint, s3Env } from '../support/s3.js';

const EXPECTED_HANDLER_CONFIG = {
  connectionTimeout: AWS_HTTP_TIMEOUTS.connectionTimeoutMs,
  requestTimeout: AWS_HTTP_TIMEOUTS.requestTimeoutMs,
  throwOnRequestTimeout: true,
};

/** Environment variables set for one test and put back afterwards. */
function withEnv(vars: Record<string, string>): () => void {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  return () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

describe('AWS clients against an endpoint that never answers', () => {
  let silent: Server;
  const sockets: Socket[] = [];
  let endpoint: string;

  beforeAll(async () => {
    silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  it('reading the database secret fails after the request timeout, as a transient error naming the secret', async () => {
    // Prepare: the Lambda's client (configured from the environment), one attempt
    const restore = withEnv({ ...s3Env(endpoint), AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint, AWS_MAX_ATTEMPTS: '1' });
    const credentials = sourceCredentials(undefined, loadSourceSettings({ DATABASE_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:1:secret:db' }));
    const started = performance.now();

    // Act
    const error = await Promise.race([
      credentials.current().catch((e: unknown) => e),
      new Promise((resolve) => setTimeout(() => resolve('still waiting'), AWS_HTTP_TIMEOUTS.requestTimeoutMs + 5_000)),
    ]).finally(restore);
    const seconds = (performance.now() - started) / 1000;

    // Assess
    expect(error).toBeInstanceOf(SourceUnavailableError);
    expect((error as Error).message).toMatch(
      new RegExp(`^read DATABASE_SECRET_ARN: .*exceeded the configured ${AWS_HTTP_TIMEOUTS.requestTimeoutMs} ms requestTimeout`),
    );
    expect(seconds).toBeGreaterThanOrEqual(AWS_HTTP_TIMEOUTS.requestTimeoutMs / 1000 - 0.5);
    expect(sockets.length).toBe(1);
  });

  describe.skipIf(!s3Endpoint)('the handlers the clients are built with (after a request to moto)', () => {
    it('S3: the lake store', async () => {
      // Prepare
      const bucket = await createBucket(s3Endpoint!);
      const restore = withEnv(s3Env(s3Endpoint!));
      const store = new S3Store(parseLakeUri(`s3://${bucket}/lake`), { region: 'us-east-1', endpoint: s3Endpoint });

      // Act
      await store.getObject('no-such-key.json').finally(restore);
      const handler = store.client.config.requestHandler;

      // Assess
      expect(handler).toBeInstanceOf(NodeHttpHandler);
      expect((handler as NodeHttpHandler).httpHandlerConfigs()).toMatchObject(EXPECTED_HANDLER_CONFIG);
      store.client.destroy();
    });

    it('Secrets Manager: the database credentials', async () => {
      // Prepare
      const restore = withEnv({ ...s3Env(s3Endpoint!), AWS_ENDPOINT_URL_SECRETS_MANAGER: s3Endpoint! });
      const client = await createSecretsManagerClient();

      // Act
      const missing = await client
        .send(new GetSecretValueCommand({ SecretId: 'no-such-secret' }))
        .catch((e: { name: string }) => e.name)
        .finally(restore);
      const handler = client.config.requestHandler;

      // Assess
      expect(missing).toBe('ResourceNotFoundException');
      expect((handler as NodeHttpHandler).httpHandlerConfigs()).toMatchObject(EXPECTED_HANDLER_CONFIG);
      client.destroy();
    });
  });
});
