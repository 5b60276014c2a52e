import { type CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { ListSecretsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DescribeExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createCloudFormationClient, createSfnClient } from '../../cli/remote-execution.js';
import { ConfigError } from '../../src/core/errors.js';
import { LOCALSTACK, localstackClientSettings, localstackEndpoint, localstackS3Endpoint } from '../../dev/localstack/env.js';

interface SentRequest {
  readonly url: string;
  readonly accessKeyId: string;
  readonly region: string;
}

/** Where `client` sends `command` and with which credentials: the request is stopped once built. */
async function requestOf(client: SFNClient | CloudFormationClient | SecretsManagerClient, command: object): Promise<SentRequest> {
  let url = '';
  const stop = new Error('request stopped by the test');
  type Handler = (args: { request: unknown }) => Promise<unknown>;
  const stack = client.middlewareStack as unknown as { add(mw: (next: Handler) => Handler, options: { step: 'build' }): void };
  stack.add(
    () => async (args) => {
      const r = args.request as { protocol: string; hostname: string; port?: number; path: string };
      url = `${r.protocol}//${r.hostname}${r.port ? `:${r.port}` : ''}${r.path}`;
      throw stop;
    },
    { step: 'build' },
  );
  await expect((client as { send(c: object): Promise<unknown> }).send(command)).rejects.toBe(stop);
  const credentials = await client.config.credentials();
  return { url, accessKeyId: credentials.accessKeyId, region: await client.config.region() };
}

const REAL_PROFILE = { AWS_ACCESS_KEY_ID: 'AKIAREALPROFILE00001', AWS_SECRET_ACCESS_KEY: 'real-secret', AWS_REGION: 'eu-west-1' };

describe('endpoint and credentials wiring', () => {
  beforeEach(() => {
    // A shell with a real AWS profile and no endpoint override.
    for (const [key, value] of Object.entries(REAL_PROFILE)) vi.stubEnv(key, value);
    vi.stubEnv('AWS_ENDPOINT_URL', undefined);
    vi.stubEnv('AWS_ENDPOINT_URL_S3', undefined);
    vi.stubEnv('AWS_PROFILE', undefined);
  });
  afterEach(() => vi.unstubAllEnvs());

  it('sends every client to LocalStack on localhost:4566 as test/test in us-east-1, whatever profile the shell has', async () => {
    // Prepare
    const settings = localstackClientSettings({ ...REAL_PROFILE });

    // Act
    const sfn = await requestOf(
      createSfnClient(settings),
      new DescribeExecutionCommand({ executionArn: 'arn:aws:states:us-east-1:000000000000:execution:x:y' }),
    );
    const cfn = await requestOf(createCloudFormationClient(settings), new DescribeStacksCommand({ StackName: 'PgLakeEtl' }));
    const secrets = await requestOf(new SecretsManagerClient(settings), new ListSecretsCommand({}));

    // Assess
    for (const request of [sfn, cfn, secrets]) {
      expect(request.url).toBe('http://localhost:4566/');
      expect(request).toMatchObject({ accessKeyId: 'test', region: 'us-east-1' });
    }
    // The SDK marks the credentials object it was given; the shared defaults must stay untouched.
    expect(LOCALSTACK.credentials).toEqual({ accessKeyId: 'test', secretAccessKey: 'test' });
  });

  it('honours AWS_ENDPOINT_URL for a LocalStack elsewhere', async () => {
    // Act
    const request = await requestOf(
      createSfnClient(localstackClientSettings({ AWS_ENDPOINT_URL: 'http://192.168.1.20:4566/' })),
      new DescribeExecutionCommand({ executionArn: 'arn:x' }),
    );

    // Assess
    expect(request.url).toBe('http://192.168.1.20:4566/');
    expect(request.accessKeyId).toBe('test');
  });

  it('rejects an AWS_ENDPOINT_URL that is not an http(s) URL, naming the variable', () => {
    // Act + Assess
    expect(() => localstackEndpoint({ AWS_ENDPOINT_URL: 'localhost:4566' })).toThrow(ConfigError);
    expect(() => localstackEndpoint({ AWS_ENDPOINT_URL: 'not a url' })).toThrow(/^AWS_ENDPOINT_URL: expected the URL of LocalStack/);
  });

  it("leaves clients without settings on the SDK's defaults: the regional AWS endpoint and the shell's credentials", async () => {
    // Act
    const sfn = await requestOf(createSfnClient(), new DescribeExecutionCommand({ executionArn: 'arn:x' }));
    const cfn = await requestOf(createCloudFormationClient(), new DescribeStacksCommand({ StackName: 'PgLakeEtl' }));

    // Assess
    expect(sfn).toEqual({ url: 'https://states.eu-west-1.amazonaws.com/', accessKeyId: REAL_PROFILE.AWS_ACCESS_KEY_ID, region: 'eu-west-1' });
    expect(cfn).toEqual({ url: 'https://cloudformation.eu-west-1.amazonaws.com/', accessKeyId: REAL_PROFILE.AWS_ACCESS_KEY_ID, region: 'eu-west-1' });
  });

  it('gives cdklocal an S3 endpoint with ".s3." on the port LocalStack answers on, unless AWS_ENDPOINT_URL_S3 is set', () => {
    // Act + Assess
    expect(localstackS3Endpoint({})).toBe('http://s3.localhost.localstack.cloud:4566');
    expect(localstackS3Endpoint({ AWS_ENDPOINT_URL: 'http://localhost:4567' })).toBe('http://s3.localhost.localstack.cloud:4567');
    expect(localstackS3Endpoint({ AWS_ENDPOINT_URL_S3: 'http://s3.my-host.example:4566' })).toBe('http://s3.my-host.example:4566');
  });
});
