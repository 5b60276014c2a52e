/**
 * `etl remote` (what `npm run local:run` runs) and `local:deploy` end to end with their AWS calls
 * mocked and their commands recorded instead of run: flags, exit codes, what they print, and the
 * order of the deploy's steps.
 */
import { CloudFormationClient, DescribeStacksCommand, type DescribeStacksCommandOutput } from '@aws-sdk/client-cloudformation';
import { CreateSecretCommand, PutSecretValueCommand, ResourceExistsException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DescribeExecutionCommand, GetExecutionHistoryCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { main, type Io } from '../../cli/main.js';
import { main as deployMain, upsertSecret, type Command } from '../../dev/localstack/deploy.js';
import { lambdaDatabaseSecret } from '../../dev/localstack/env.js';
import { capture } from '../support/capture.js';

const sfnMock = mockClient(SFNClient);
const cfnMock = mockClient(CloudFormationClient);
const secretsMock = mockClient(SecretsManagerClient);

const STATE_MACHINE = 'arn:aws:states:us-east-1:000000000000:stateMachine:Pipeline';
const EXECUTION = 'arn:aws:states:us-east-1:000000000000:execution:Pipeline:day-2025-03-01';
const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:pg-lake-etl/local/database-AbCdEf';

function lambdaCause(errorType: string, errorMessage: string): string {
  return JSON.stringify({ errorType, errorMessage, trace: [] });
}

/** A deployed stack named `name` with the outputs `etl remote` reads. */
function deployedStack(name = 'PgLakeEtl'): Partial<DescribeStacksCommandOutput> {
  return {
    Stacks: [
      {
        StackName: name,
        StackStatus: 'CREATE_COMPLETE',
        CreationTime: new Date(),
        Outputs: [
          { OutputKey: 'StateMachineArn', OutputValue: STATE_MACHINE },
          { OutputKey: 'LakeUri', OutputValue: 's3://pglakeetl-lakebucket/lake' },
        ],
      },
    ],
  };
}

/** `etl remote --localstack ...argv`, as `npm run local:run -- ...argv` runs it. */
const localRun = (argv: string[], io: Io, env: NodeJS.ProcessEnv = {}) => main(['remote', '--localstack', ...argv], env, io);

describe('etl remote --localstack (npm run local:run)', () => {
  beforeEach(() => {
    sfnMock.reset();
    cfnMock.reset();
    cfnMock.on(DescribeStacksCommand).resolves(deployedStack());
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: EXECUTION, startDate: new Date() });
  });

  it.each([
    [['--date', '2025-02-30'], /^etl: date: expected a calendar date as YYYY-MM-DD that exists/],
    [['--date', '2025-03-01', '--from', '2025-03-01', '--to', '2025-03-02'], /^etl: date: expected either --date or --from\/--to, not both/],
    [['--from', '2025-03-02', '--to', '2025-03-01'], /^etl: to: expected a date on or after from \(2025-03-02\)/],
    [['--date', '2025-03-01', '--mode', 'upsert'], /^etl: mode: expected/],
    [[], /^etl: date: expected --date YYYY-MM-DD, or --from YYYY-MM-DD --to YYYY-MM-DD/],
    [['--day', '2025-03-01'], /^etl: Unknown option '--day'/],
    [['--date', '2025-03-01', '--wait-minutes', '0'], /^etl: wait-minutes: expected an integer from 1 to 1440, got "0"/],
    [['--date', '2025-03-01', '--stack', 'Pg_Lake'], /^etl: stack: expected a CloudFormation stack name/],
  ])('exits 2 on bad flags %j, naming the field, before calling AWS', async (argv, message) => {
    // Prepare
    const { err, io } = capture();

    // Act
    const code = await localRun(argv, io);

    // Assess
    expect(code).toBe(2);
    expect(err[0]).toMatch(message);
    expect(cfnMock).toReceiveCommandTimes(DescribeStacksCommand, 0);
    expect(sfnMock).toReceiveCommandTimes(StartExecutionCommand, 0);
  });

  it('finds the state machine in LocalStack, runs the day and prints the table: exit 0', async () => {
    // Prepare
    sfnMock
      .on(DescribeExecutionCommand)
      .resolves({ status: 'SUCCEEDED', output: JSON.stringify({ days: [{ date: '2025-03-01', status: 'passed', rows: 10_000 }], anyFailed: false }) });
    const { out, io } = capture();

    // Act
    const code = await localRun(['--date', '2025-03-01'], io);

    // Assess
    expect(code).toBe(0);
    expect(cfnMock).toReceiveCommandWith(DescribeStacksCommand, { StackName: 'PgLakeEtl' });
    expect(sfnMock).toReceiveCommandWith(StartExecutionCommand, { stateMachineArn: STATE_MACHINE, input: '{"date":"2025-03-01","mode":"overwrite"}' });
    expect(out.join('\n')).toMatch(/^2025-03-01 +- +10,000 .* passed$/m);
    expect(out.at(-1)).toContain(
      'AWS_ENDPOINT_URL=http://localhost:4566 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test LAKE_URI=s3://pglakeetl-lakebucket/lake npm run -s etl -- read --date 2025-03-01',
    );
    // The clients etl remote made itself talk to LocalStack.
    const client = cfnMock.call(0).thisValue as CloudFormationClient;
    expect(await client.config.endpoint?.()).toMatchObject({ protocol: 'http:', hostname: 'localhost', port: 4566 });
    expect(await client.config.credentials()).toMatchObject({ accessKeyId: 'test', secretAccessKey: 'test' });
  });

  it('prints the failed day, where its error is, and exits 1 on DaysFailed', async () => {
    // Prepare
    const cause = { failed: 1, days: 2, from: '2025-03-01', to: '2025-03-02', failedDays: ['2025-03-02'] };
    sfnMock.on(DescribeExecutionCommand).resolves({ status: 'FAILED', error: 'DaysFailed', cause: JSON.stringify(cause) });
    sfnMock.on(GetExecutionHistoryCommand).resolves({ events: [] });
    const { out, err, io } = capture();

    // Act
    const code = await localRun(['--from', '2025-03-01', '--to', '2025-03-02', '--mode', 'append'], io);

    // Assess
    expect(code).toBe(1);
    expect(sfnMock).toReceiveCommandWith(StartExecutionCommand, { input: '{"from":"2025-03-01","to":"2025-03-02","mode":"append"}' });
    expect(out.join('\n')).toMatch(/2025-03-02.*failed: its error is in the day's execution of the Days map run/);
    expect(err.join('\n')).not.toMatch(/execution failed/);
  });

  it("prints the Plan's InputError message and exits 2: nothing ran", async () => {
    // Prepare
    sfnMock.on(DescribeExecutionCommand).resolves({
      status: 'FAILED',
      error: 'InputError',
      cause: lambdaCause('InputError', 'date: expected a day no later than today (2025-02-28 in Pacific/Kiritimati), got "2025-03-01"'),
    });
    const { out, err, io } = capture();

    // Act
    const code = await localRun(['--date', '2025-03-01'], io);

    // Assess
    expect(code).toBe(2);
    expect(out).toEqual([]);
    expect(err.at(-1)).toBe(
      'etl remote: execution failed: InputError: date: expected a day no later than today (2025-02-28 in Pacific/Kiritimati), got "2025-03-01"',
    );
  });

  it('exits 1 with the error and cause of an execution that timed out', async () => {
    // Prepare
    sfnMock.on(DescribeExecutionCommand).resolves({ status: 'TIMED_OUT', error: 'States.Timeout', cause: 'The execution exceeded its time-out' });
    const { err, io } = capture();

    // Act
    const code = await localRun(['--date', '2025-03-01'], io);

    // Assess
    expect(code).toBe(1);
    expect(err.at(-1)).toBe('etl remote: execution failed: States.Timeout: The execution exceeded its time-out');
  });

  it('exits 2 telling to deploy when the stack is not in LocalStack', async () => {
    // Prepare
    cfnMock.on(DescribeStacksCommand).rejects(Object.assign(new Error('Stack with id PgLakeEtl does not exist'), { name: 'ValidationError' }));
    const { err, io } = capture();

    // Act
    const code = await localRun(['--date', '2025-03-01'], io);

    // Assess
    expect(code).toBe(2);
    expect(err[0]).toBe('etl: stack: expected a deployed CloudFormation stack named PgLakeEtl, got "no such stack"');
  });

  it('exits 2 telling to start LocalStack when it does not answer', async () => {
    // Prepare
    cfnMock.on(DescribeStacksCommand).rejects(new Error('connect ECONNREFUSED 127.0.0.1:4566'));
    const { err, io } = capture();

    // Act
    const code = await localRun(['--date', '2025-03-01'], io);

    // Assess
    expect(code).toBe(2);
    expect(err[0]).toMatch(/^etl: AWS_ENDPOINT_URL: expected a running LocalStack \(npm run local:up\) .*http:\/\/localhost:4566: connect ECONNREFUSED/);
  });

  it('talks to the LocalStack AWS_ENDPOINT_URL names', async () => {
    // Prepare
    sfnMock.on(DescribeExecutionCommand).resolves({ status: 'SUCCEEDED', output: JSON.stringify({ days: [], anyFailed: false }) });
    const { io } = capture();

    // Act
    const code = await localRun(['--date', '2025-03-01'], io, { AWS_ENDPOINT_URL: 'http://192.168.1.20:4567' });

    // Assess
    expect(code).toBe(0);
    const client = sfnMock.call(0).thisValue as SFNClient;
    expect(await client.config.endpoint?.()).toMatchObject({ hostname: '192.168.1.20', port: 4567 });
  });
});

describe('etl remote on AWS', () => {
  beforeEach(() => {
    sfnMock.reset();
    cfnMock.reset();
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: EXECUTION, startDate: new Date() });
    sfnMock
      .on(DescribeExecutionCommand)
      .resolves({ status: 'SUCCEEDED', output: JSON.stringify({ days: [{ date: '2025-03-01', status: 'passed', rows: 10 }], anyFailed: false }) });
  });

  it('runs on the stack --stack names with the AWS SDK defaults, and prints how to read the lake', async () => {
    // Prepare
    cfnMock.on(DescribeStacksCommand).resolves(deployedStack('EtlProd'));
    const { out, io } = capture();

    // Act
    const code = await main(['remote', '--date', '2025-03-01', '--stack', 'EtlProd'], {}, io);

    // Assess
    expect(code).toBe(0);
    expect(cfnMock).toReceiveCommandWith(DescribeStacksCommand, { StackName: 'EtlProd' });
    expect(out.at(-1)).toMatch(/\n {2}LAKE_URI=s3:\/\/pglakeetl-lakebucket\/lake npm run -s etl -- read --date 2025-03-01$/);
    // The SDK's defaults, not LocalStack's.
    const client = cfnMock.call(0).thisValue as CloudFormationClient;
    expect(client.config.endpoint).toBeUndefined();
  });

  it('exits 2 naming the stack when CloudFormation cannot be reached', async () => {
    // Prepare
    cfnMock.on(DescribeStacksCommand).rejects(new Error('Could not load credentials from any providers'));
    const { err, io } = capture();

    // Act
    const code = await main(['remote', '--date', '2025-03-01'], {}, io);

    // Assess
    expect(code).toBe(2);
    expect(err[0]).toBe(
      'etl: stack: expected CloudFormation stack PgLakeEtl readable with the credentials and region of the environment, got "Could not load credentials from any providers"',
    );
    expect(sfnMock).toReceiveCommandTimes(StartExecutionCommand, 0);
  });
});

describe('local:deploy', () => {
  let commands: Command[];
  const record =
    (exitCodes: Record<string, number> = {}) =>
    async (command: Command) => {
      commands.push(command);
      return exitCodes[command.args[1]] ?? 0;
    };
  const localstackUp = (version = '4.14.0') => (async () => new Response(JSON.stringify({ version, edition: 'community', services: {} }))) as typeof fetch;
  const today = new Date('2026-11-22T09:00:00Z');

  beforeEach(() => {
    commands = [];
    secretsMock.reset();
    secretsMock.on(CreateSecretCommand).resolves({ ARN: SECRET_ARN, Name: 'pg-lake-etl/local/database' });
  });

  it('migrates, seeds, writes the secret, bootstraps and deploys with its ARN, in that order', async () => {
    // Prepare
    const { out, io } = capture();

    // Act
    const code = await deployMain([], { env: {}, io, today, run: record(), fetch: localstackUp(), secrets: new SecretsManagerClient({ region: 'us-east-1' }) });

    // Assess
    expect(code).toBe(0);
    expect(commands.map((c) => [c.program, ...c.args.slice(0, 2)].join(' '))).toEqual([
      'node dist/cli/etl.js db',
      'node dist/cli/etl.js seed',
      'npx cdklocal bootstrap',
      'npx cdklocal deploy',
    ]);
    expect(commands[1].args).toEqual(['dist/cli/etl.js', 'seed', '--from', '2026-11-15', '--to', '2026-11-21', '--rentals-per-day', '10000']);
    expect(commands[3].args).toContain(`databaseSecretArn=${SECRET_ARN}`);
    expect(secretsMock).toReceiveCommandWith(CreateSecretCommand, { Name: 'pg-lake-etl/local/database', SecretString: JSON.stringify(lambdaDatabaseSecret()) });
    expect(out.join('\n')).toContain('npm run local:run -- --from 2026-11-15 --to 2026-11-21');
  });

  it('with --skip-seed only migrates the database', async () => {
    // Act
    const code = await deployMain(['--skip-seed'], {
      env: {},
      io: capture().io,
      today,
      run: record(),
      fetch: localstackUp(),
      secrets: new SecretsManagerClient({ region: 'us-east-1' }),
    });

    // Assess
    expect(code).toBe(0);
    expect(commands.map((c) => c.args[1])).toEqual(['db', 'bootstrap', 'deploy']);
  });

  it('stops at the first failing command with its exit code, before the secret and cdklocal', async () => {
    // Prepare
    const { err, io } = capture();

    // Act
    const code = await deployMain([], {
      env: {},
      io,
      today,
      run: record({ seed: 2 }),
      fetch: localstackUp(),
      secrets: new SecretsManagerClient({ region: 'us-east-1' }),
    });

    // Assess
    expect(code).toBe(2);
    expect(commands.map((c) => c.args[1])).toEqual(['db', 'seed']);
    expect(secretsMock).toReceiveCommandTimes(CreateSecretCommand, 0);
    expect(err.join('\n')).toMatch(/Is the compose stack up \(npm run local:up\)\?/);
  });

  it('exits 2 without running anything when LocalStack does not answer', async () => {
    // Prepare
    const { err, io } = capture();
    const down = (async () => {
      throw new TypeError('fetch failed');
    }) as typeof fetch;

    // Act
    const code = await deployMain([], { env: {}, io, today, run: record(), fetch: down });

    // Assess
    expect(code).toBe(2);
    expect(commands).toEqual([]);
    expect(err[0]).toBe(
      'local:deploy: AWS_ENDPOINT_URL: expected a running LocalStack (npm run local:up), got "http://localhost:4566/_localstack/health: fetch failed"',
    );
  });

  it('exits 2 on a LocalStack older than the nodejs24.x runtime', async () => {
    // Prepare
    const { err, io } = capture();

    // Act
    const code = await deployMain([], { env: {}, io, today, run: record(), fetch: localstackUp('3.8.1') });

    // Assess
    expect(code).toBe(2);
    expect(commands).toEqual([]);
    expect(err[0]).toBe('local:deploy: LOCALSTACK_IMAGE: expected LocalStack 4.11.0 or newer (the nodejs24.x Lambda runtime), got "3.8.1"');
  });

  it.each([
    [['--rentals-per-day', 'many'], /^local:deploy: rentals-per-day: expected an integer from 0 to 10000000/],
    [['--from', '2025-03-05', '--to', '2025-03-01'], /^local:deploy: to: expected a date on or after from/],
    [['--seed'], /^local:deploy: Unknown option '--seed'/],
  ])('exits 2 on bad flags %j', async (argv, message) => {
    // Prepare
    const { err, io } = capture();

    // Act
    const code = await deployMain(argv, { env: {}, io, today, run: record(), fetch: localstackUp() });

    // Assess
    expect(code).toBe(2);
    expect(err[0]).toMatch(message);
    expect(commands).toEqual([]);
  });
});

describe('upsertSecret', () => {
  beforeEach(() => secretsMock.reset());

  it('stores a new value in the secret when it already exists and returns its ARN', async () => {
    // Prepare
    secretsMock
      .on(CreateSecretCommand)
      .rejects(new ResourceExistsException({ $metadata: {}, message: 'the secret pg-lake-etl/local/database already exists' }));
    secretsMock.on(PutSecretValueCommand).resolves({ ARN: SECRET_ARN });

    // Act
    const arn = await upsertSecret(new SecretsManagerClient({ region: 'us-east-1' }), 'pg-lake-etl/local/database', '{"username":"etl"}');

    // Assess
    expect(arn).toBe(SECRET_ARN);
    expect(secretsMock).toReceiveCommandWith(PutSecretValueCommand, { SecretId: 'pg-lake-etl/local/database', SecretString: '{"username":"etl"}' });
  });

  it('lets any other failure through', async () => {
    // Prepare
    secretsMock.on(CreateSecretCommand).rejects(new Error('AccessDenied'));

    // Act + Assess
    await expect(upsertSecret(new SecretsManagerClient({ region: 'us-east-1' }), 'n', '{}')).rejects.toThrow('AccessDenied');
    expect(secretsMock).toReceiveCommandTimes(PutSecretValueCommand, 0);
  });
});
