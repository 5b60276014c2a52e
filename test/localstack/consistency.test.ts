/**
 * The LocalStack flow cannot run here (no Docker), so these tests check that its parts agree with
 * each other and with the stack: the compose file, `localstack/env.ts`, the npm scripts, the
 * commands `deploy.ts` runs and the outputs `etl remote` reads.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { LAKE_URI_OUTPUT, STATE_MACHINE_ARN_OUTPUT } from '../../cli/remote-execution.js';
import { ETL_RUNTIME } from '../../infra/constructs/etl-function.js';
import { CONTEXT_KEYS } from '../../infra/context.js';
import { createApp } from '../../infra/create-app.js';
import { STACK_DEFAULTS } from '../../infra/lake-etl-stack.js';
import { cdklocalCommands, main as deployMain, SECRET_ARN_PLACEHOLDER } from '../../dev/localstack/deploy.js';
import { COMPOSE_FILE, LOCAL_POSTGRES, LOCALSTACK, MIN_LOCALSTACK_VERSION, PROJECT_ROOT, STACK_NAME, versionAtLeast } from '../../dev/localstack/env.js';
import { buildStack } from '../infra/support.js';

interface ComposeService {
  image: string;
  ports?: string[];
  environment?: string[] | Record<string, string>;
  volumes?: string[];
  networks?: string[] | Record<string, unknown>;
  healthcheck?: { test: string[] | string };
}

interface ComposeFile {
  services: Record<string, ComposeService>;
  networks: Record<string, { name?: string }>;
}

const compose = parse(readFileSync(join(PROJECT_ROOT, COMPOSE_FILE), 'utf8')) as ComposeFile;
const packageJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string>; bin: Record<string, string> };
const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };

function environmentOf(service: ComposeService): Record<string, string> {
  const env = service.environment ?? {};
  if (!Array.isArray(env)) return env;
  return Object.fromEntries(env.map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]));
}

function networksOf(service: ComposeService): string[] {
  return Array.isArray(service.networks) ? service.networks : Object.keys(service.networks ?? {});
}

/** `${VAR:-default}` -> default; anything else as it is. */
function defaultOf(value: string): string {
  return /^\$\{[A-Z_]+:-([^}]+)\}$/.exec(value)?.[1] ?? value;
}

/** The lines `deploy.ts --dry-run` prints. */
async function dryRun(): Promise<string[]> {
  const lines: string[] = [];
  const code = await deployMain(['--dry-run'], {
    env: {},
    today: new Date('2026-11-22T12:00:00Z'),
    io: { out: (l) => lines.push(...l.split('\n')), err: (l) => lines.push(l) },
  });
  expect(code).toBe(0);
  return lines;
}

describe('docker-compose.yml', () => {
  const localstack = compose.services.localstack;
  const postgres = compose.services[LOCAL_POSTGRES.serviceHost];

  it('pins a community LocalStack image with the Lambda runtime the functions use, overridable with LOCALSTACK_IMAGE', () => {
    // Prepare
    const image = defaultOf(localstack.image);
    const [repository, tag] = image.split(':');

    // Assess
    expect(localstack.image).toMatch(/^\$\{LOCALSTACK_IMAGE:-/);
    expect(repository).toBe('localstack/localstack');
    expect(tag).toMatch(/^\d+\.\d+\.\d+$/);
    expect(versionAtLeast(tag, MIN_LOCALSTACK_VERSION)).toBe(true);
    // MIN_LOCALSTACK_VERSION is the first release with nodejs24.x: review it when the runtime changes.
    expect(ETL_RUNTIME.name).toBe('nodejs24.x');
  });

  it("publishes LocalStack's edge port on 127.0.0.1 only, at the port the clients use", () => {
    // Prepare
    const edgePort = new URL(LOCALSTACK.endpoint).port;

    // Assess
    expect(localstack.ports).toContain(`127.0.0.1:${edgePort}:4566`);
    for (const port of [...(localstack.ports ?? []), ...(postgres.ports ?? [])]) expect(port).toMatch(/^127\.0\.0\.1:/);
  });

  it('mounts the Docker socket so LocalStack can start Lambda containers', () => {
    // Assess
    const targets = (localstack.volumes ?? []).map((v) => v.split(':')[1]);
    expect(targets).toContain('/var/run/docker.sock');
  });

  it('runs the Lambdas on the named compose network that Postgres is on', () => {
    // Prepare
    const lambdaNetwork = environmentOf(localstack).LAMBDA_DOCKER_NETWORK;
    const [key] = Object.entries(compose.networks).find(([, n]) => n.name === lambdaNetwork) ?? [];

    // Assess
    expect(lambdaNetwork).toBeTruthy();
    expect(key, `a network with name: ${lambdaNetwork}`).toBeDefined();
    expect(networksOf(localstack)).toContain(key);
    expect(networksOf(postgres)).toContain(key);
    expect(environmentOf(localstack).LAMBDA_IGNORE_ARCHITECTURE).toBe('1');
  });

  it('has Postgres as the service, credentials and ports localstack/env.ts names', () => {
    // Prepare
    const env = environmentOf(postgres);

    // Assess
    expect(postgres, `service ${LOCAL_POSTGRES.serviceHost}`).toBeDefined();
    expect(env).toMatchObject({ POSTGRES_USER: LOCAL_POSTGRES.user, POSTGRES_PASSWORD: LOCAL_POSTGRES.password, POSTGRES_DB: LOCAL_POSTGRES.database });
    expect(postgres.ports).toContain(`127.0.0.1:${LOCAL_POSTGRES.hostPort}:${LOCAL_POSTGRES.servicePort}`);
    // The official image listens on 5432; only the published host port is ours to choose.
    expect(LOCAL_POSTGRES.servicePort).toBe(5432);
  });

  it('gives both services a health check (npm run local:up waits for them)', () => {
    // Assess
    expect(localstack.healthcheck?.test).toBeTruthy();
    expect(postgres.healthcheck?.test).toBeTruthy();
  });
});

describe('npm scripts', () => {
  it('start and stop the compose file that exists', () => {
    // Prepare
    const { 'local:up': up, 'local:down': down } = packageJson.scripts;

    // Assess
    expect(up).toBe(`docker compose -f ${COMPOSE_FILE} up -d --wait`);
    expect(down).toBe(`docker compose -f ${COMPOSE_FILE} down -v`);
    expect(existsSync(join(PROJECT_ROOT, COMPOSE_FILE))).toBe(true);
  });

  it('local:deploy runs a script that exists', () => {
    // Prepare
    const [runner, script] = packageJson.scripts['local:deploy'].split(' ');

    // Assess
    expect(runner).toBe('tsx');
    expect(existsSync(join(PROJECT_ROOT, script))).toBe(true);
  });

  it('local:run is the etl command of the package pointed at LocalStack', () => {
    // Assess
    expect(packageJson.scripts['local:run']).toBe(`${packageJson.bin.etl} remote --localstack`);
  });

  it('local:deploy -- --dry-run prints the commands without running anything', async () => {
    // Act
    const { stdout } = await promisify(execFile)('npm', ['run', '-s', 'local:deploy', '--', '--dry-run'], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, AWS_ENDPOINT_URL: '' },
    });

    // Assess
    expect(stdout).toContain(`npx cdklocal bootstrap aws://${LOCALSTACK.account}/${LOCALSTACK.region}`);
    expect(stdout).toContain('npx cdklocal deploy --all --require-approval never');
  }, 60_000);
});

describe('deploy.ts --dry-run', () => {
  let lines: string[];
  beforeAll(async () => {
    lines = await dryRun();
  });
  const commandLine = (pattern: RegExp) => {
    const found = lines.filter((l) => pattern.test(l));
    expect(found, `one line matching ${pattern}`).toHaveLength(1);
    return found[0];
  };

  it('bootstraps the LocalStack account and region, then deploys with context keys the app reads', () => {
    // Prepare
    const deploy = commandLine(/ npx cdklocal deploy /);
    const keys = [...deploy.matchAll(/ -c '?([A-Za-z]+)=/g)].map((m) => m[1]);

    // Assess
    expect(commandLine(/ npx cdklocal bootstrap /)).toMatch(/ npx cdklocal bootstrap aws:\/\/000000000000\/us-east-1$/);
    expect(deploy).toContain(' --all --require-approval never ');
    expect(keys).toEqual(expect.arrayContaining(['databaseSecretArn', 'scheduleEnabled', 'stackName']));
    expect(
      keys.filter((k) => !(CONTEXT_KEYS as readonly string[]).includes(k)),
      'context keys infra/context.ts does not read',
    ).toEqual([]);
  });

  it('runs cdklocal with LocalStack endpoints, an s3.<host> endpoint for S3 and the credentials kept through its AWS_* stripping', () => {
    // Prepare
    const deploy = commandLine(/ npx cdklocal deploy /);
    const env = Object.fromEntries([...deploy.matchAll(/(?:^| )([A-Z_0-9]+)=(\S+)/g)].map((m) => [m[1], m[2]]));

    // Assess
    expect(env.AWS_ENDPOINT_URL).toBe(LOCALSTACK.endpoint);
    // cdklocal tells S3 requests apart by an `s3` label in the host (virtual-hosted requests then go to <bucket>.s3.<host>).
    expect(new URL(env.AWS_ENDPOINT_URL_S3).hostname.split('.')).toContain('s3');
    expect(env).toMatchObject({ AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1' });
    expect(env.AWS_ENVAR_ALLOWLIST.split(',')).toEqual(expect.arrayContaining(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION']));
  });

  it('writes the secret naming Postgres as the Lambdas see it on the compose network', () => {
    // Prepare
    const line = commandLine(/^# create or update Secrets Manager secret pg-lake-etl\/local\/database/);
    const secret = JSON.parse(line.slice(line.indexOf('{'))) as Record<string, unknown>;
    const postgres = environmentOf(compose.services[secret.host as string]);

    // Assess
    expect(secret).toEqual({ username: 'etl', password: LOCAL_POSTGRES.password, host: 'postgres', port: 5432, dbname: 'rentals' });
    expect(postgres).toMatchObject({ POSTGRES_USER: secret.username, POSTGRES_PASSWORD: secret.password, POSTGRES_DB: secret.dbname });
  });

  it('seeds through the port compose publishes for Postgres', () => {
    // Prepare
    const url = new URL(/DATABASE_URL=(\S+)/.exec(commandLine(/ dist\/cli\/etl\.js seed /))![1]);
    const published = compose.services.postgres.ports!.map((p) => p.split(':'));

    // Assess
    expect(commandLine(/ dist\/cli\/etl\.js seed /)).toMatch(/ seed --from 2026-11-15 --to 2026-11-21 --rentals-per-day 10000$/);
    expect(published).toContainEqual([url.hostname, url.port, '5432']);
    expect(decodeURIComponent(url.username)).toBe(LOCAL_POSTGRES.user);
    expect(url.pathname).toBe(`/${LOCAL_POSTGRES.database}`);
  });
});

describe('the stack deploy.ts deploys and etl remote reads', () => {
  it('is named as etl remote looks it up by default', () => {
    // Act: the app as a plain `cdk deploy` builds it, with cdk.json's context only.
    const { stack } = createApp({ context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] } });

    // Assess
    expect(STACK_NAME).toBe(STACK_DEFAULTS.stackName);
    expect(stack.stackName).toBe(STACK_NAME);
  });

  it('has the outputs etl remote reads: the state machine ARN and the lake URI', () => {
    // Prepare
    const { template } = buildStack();

    // Assess
    for (const output of [STATE_MACHINE_ARN_OUTPUT, LAKE_URI_OUTPUT]) expect(Object.keys(template.findOutputs(output))).toEqual([output]);
  });

  it("gives extract the secret and plain-TCP Postgres, and disables the schedule, from deploy.ts's context", () => {
    // Prepare
    const arn = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:pg-lake-etl/local/database-AbCdEf';
    const args = cdklocalCommands(arn, {}).find((c) => c.args[1] === 'deploy')!.args;
    const context = Object.fromEntries(args.flatMap((a, i) => (args[i - 1] === '-c' ? [a.split(/=(.*)/s).slice(0, 2)] : [])));
    expect(context.databaseSecretArn).toBe(arn);
    expect(SECRET_ARN_PLACEHOLDER).toContain('pg-lake-etl/local/database');

    // Act: the app as `cdk deploy` builds it, with cdk.json's context and deploy.ts's on top.
    const { stack } = createApp({ context: { ...cdkJson.context, ...context, 'aws:cdk:bundling-stacks': [] } });
    const template = Template.fromStack(stack);

    // Assess
    expect(stack.stackName).toBe(STACK_NAME);
    const extract = Object.entries(template.findResources('AWS::Lambda::Function')).find(([id]) => id.startsWith('Extract'))![1] as {
      Properties: { Environment: { Variables: Record<string, unknown> } };
    };
    expect(extract.Properties.Environment.Variables).toMatchObject({ DATABASE_SECRET_ARN: arn, DATABASE_SSLMODE: 'disable' });
    template.hasResourceProperties('AWS::Scheduler::Schedule', { State: 'DISABLED' });
  });
});
