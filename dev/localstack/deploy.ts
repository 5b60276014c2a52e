/**
 * `npm run local:deploy`: with the compose stack up (`npm run local:up`), gets the pipeline ready to
 * run on LocalStack:
 *   1. checks that LocalStack answers and is new enough (nodejs24.x);
 *   2. migrates and seeds the compose Postgres through 127.0.0.1:5433 (`etl db migrate`, `etl seed`);
 *   3. creates or updates the Secrets Manager secret the extract function reads, naming the
 *      database as a Lambda container sees it (`postgres:5432` on the compose network);
 *   4. `cdklocal bootstrap` and `cdklocal deploy` with that secret's ARN.
 *
 *   --dry-run                 print the steps and commands without running anything
 *   --skip-seed               migrate only; keep the rentals already in the database
 *   --from D --to D           days to seed (default: the 7 days up to yesterday, UTC)
 *   --rentals-per-day N       (default 10000)
 *
 * Exit codes: 0 deployed, 2 bad flags or LocalStack not reachable, else the failed command's code.
 */
import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { MAX_DAYS_PER_EXECUTION } from '../../src/pipeline/plan/plan.js';
import { addDays, dayAt, daysBetween, parseDay } from '../../src/core/day.js';
import { ConfigError, InputError } from '../../src/core/errors.js';
import {
  DATABASE_SECRET_NAME,
  lambdaDatabaseSecret,
  LOCALSTACK,
  localstackClientSettings,
  localstackEndpoint,
  localstackS3Endpoint,
  MIN_LOCALSTACK_VERSION,
  PROJECT_ROOT,
  seedDatabaseUrl,
  STACK_NAME,
  versionAtLeast,
} from './env.js';

export const DEFAULT_SEED_DAYS = 7;
export const DEFAULT_RENTALS_PER_DAY = 10_000;

/** Stands for the secret's ARN in the printed deploy command until the secret exists. */
export const SECRET_ARN_PLACEHOLDER = `<ARN of secret ${DATABASE_SECRET_NAME}>`;

export interface DeployOptions {
  readonly dryRun: boolean;
  readonly seed: boolean;
  /** First and last day to seed, `YYYY-MM-DD`. */
  readonly from: string;
  readonly to: string;
  readonly rentalsPerDay: number;
}

/** A command `deploy.ts` runs from the repository root; `env` is what it adds to the environment. */
export interface Command {
  readonly description: string;
  readonly program: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

/** Reads the flags; an `InputError` names the bad one. */
export function parseDeployArgs(argv: readonly string[], today: Date = new Date()): DeployOptions {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      'dry-run': { type: 'boolean' },
      'skip-seed': { type: 'boolean' },
      from: { type: 'string' },
      to: { type: 'string' },
      'rentals-per-day': { type: 'string' },
    },
  });
  const yesterday = addDays(dayAt(today, 'UTC'), -1);
  const to = values.to === undefined ? yesterday : parseDay(values.to, 'to');
  const from = values.from === undefined ? addDays(to, -(DEFAULT_SEED_DAYS - 1)) : parseDay(values.from, 'from');
  daysBetween(from, to, MAX_DAYS_PER_EXECUTION);
  const raw = values['rentals-per-day'];
  const rentalsPerDay = raw === undefined ? DEFAULT_RENTALS_PER_DAY : Number(raw);
  if (!Number.isInteger(rentalsPerDay) || rentalsPerDay < 0 || rentalsPerDay > 10_000_000) {
    throw new InputError('rentals-per-day', 'an integer from 0 to 10000000', raw);
  }
  return { dryRun: values['dry-run'] ?? false, seed: !values['skip-seed'], from: from.iso, to: to.iso, rentalsPerDay };
}

/** The `etl` commands that prepare the compose Postgres. */
export function databaseCommands(options: DeployOptions): Command[] {
  const env = { DATABASE_URL: seedDatabaseUrl() };
  const etl = (description: string, ...args: string[]): Command => ({ description, program: 'node', args: ['dist/cli/etl.js', ...args], env });
  const commands = [etl('create or update the source tables in the compose Postgres (127.0.0.1)', 'db', 'migrate')];
  if (options.seed) {
    commands.push(
      etl(
        `seed ${options.rentalsPerDay} rentals a day from ${options.from} to ${options.to}`,
        'seed',
        '--from',
        options.from,
        '--to',
        options.to,
        '--rentals-per-day',
        String(options.rentalsPerDay),
      ),
    );
  }
  return commands;
}

/**
 * Context the stack is deployed with on LocalStack: the secret written above; the database seen
 * without TLS (the compose Postgres has none); no schedule (EventBridge Scheduler never fires there).
 */
export function deployContext(secretArn: string): Record<string, string> {
  return { stackName: STACK_NAME, databaseSecretArn: secretArn, databaseSslMode: 'disable', scheduleEnabled: 'false' };
}

/**
 * What `cdklocal` needs in its environment: LocalStack's endpoint and an S3 endpoint with `.s3.` in
 * it (cdklocal refuses AWS_ENDPOINT_URL alone), and the LocalStack credentials and region kept
 * through its stripping of `AWS_*` variables with AWS_ENVAR_ALLOWLIST.
 */
export function cdklocalEnv(env: Record<string, string | undefined> = process.env): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: localstackEndpoint(env),
    AWS_ENDPOINT_URL_S3: localstackS3Endpoint(env),
    AWS_ACCESS_KEY_ID: LOCALSTACK.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCALSTACK.credentials.secretAccessKey,
    AWS_REGION: LOCALSTACK.region,
    AWS_DEFAULT_REGION: LOCALSTACK.region,
    AWS_ENVAR_ALLOWLIST: 'AWS_ACCESS_KEY_ID,AWS_SECRET_ACCESS_KEY,AWS_REGION,AWS_DEFAULT_REGION',
    CDK_DISABLE_CLI_TELEMETRY: '1',
  };
}

/** `cdklocal bootstrap` and `cdklocal deploy` of every stack with `deployContext(secretArn)`. */
export function cdklocalCommands(secretArn: string, env: Record<string, string | undefined> = process.env): Command[] {
  const cdkEnv = cdklocalEnv(env);
  const context = Object.entries(deployContext(secretArn)).flatMap(([key, value]) => ['-c', `${key}=${value}`]);
  return [
    {
      description: `bootstrap CDK in LocalStack's account ${LOCALSTACK.account}, ${LOCALSTACK.region}`,
      program: 'npx',
      args: ['cdklocal', 'bootstrap', `aws://${LOCALSTACK.account}/${LOCALSTACK.region}`],
      env: cdkEnv,
    },
    {
      description: `deploy stack ${STACK_NAME} to LocalStack`,
      program: 'npx',
      args: ['cdklocal', 'deploy', '--all', '--require-approval', 'never', ...context],
      env: cdkEnv,
    },
  ];
}

function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A command as a line to paste into a POSIX shell. */
export function formatCommand(command: Command): string {
  const env = Object.entries(command.env).map(([key, value]) => `${key}=${shellQuote(value)}`);
  return [...env, ...[command.program, ...command.args].map(shellQuote)].join(' ');
}

/** Creates the secret, or stores a new value in it when it exists; returns its ARN. */
export async function upsertSecret(client: SecretsManagerClient, name: string, secretString: string): Promise<string> {
  try {
    const created = await client.send(
      new CreateSecretCommand({ Name: name, SecretString: secretString, Description: 'pg-lake-etl on LocalStack: the compose Postgres' }),
    );
    if (created.ARN) return created.ARN;
  } catch (error) {
    if ((error as Error).name !== 'ResourceExistsException') throw error;
  }
  const updated = await client.send(new PutSecretValueCommand({ SecretId: name, SecretString: secretString }));
  if (!updated.ARN) throw new Error(`Secrets Manager returned no ARN for ${name}`);
  return updated.ARN;
}

/** LocalStack's version from its health endpoint; a `ConfigError` when it is down or too old. */
export async function checkLocalStack(endpoint: string, fetchFn: typeof fetch = fetch): Promise<string> {
  const url = `${endpoint}/_localstack/health`;
  let version: unknown;
  try {
    const response = await fetchFn(url, { signal: AbortSignal.timeout(5_000) });
    version = ((await response.json()) as { version?: unknown }).version;
  } catch (error) {
    throw new ConfigError('AWS_ENDPOINT_URL', 'a running LocalStack (npm run local:up)', `${url}: ${(error as Error).message}`);
  }
  if (typeof version !== 'string') throw new ConfigError('AWS_ENDPOINT_URL', 'a LocalStack health endpoint reporting its version', url);
  if (!versionAtLeast(version, MIN_LOCALSTACK_VERSION)) {
    throw new ConfigError('LOCALSTACK_IMAGE', `LocalStack ${MIN_LOCALSTACK_VERSION} or newer (the nodejs24.x Lambda runtime)`, version);
  }
  return version;
}

/** Runs a command from the repository root with the terminal attached; resolves to its exit code. */
function runCommand(command: Command): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command.program, [...command.args], {
      cwd: PROJECT_ROOT,
      stdio: 'inherit',
      env: { ...withoutAwsVariables(process.env), ...command.env },
    });
    child.on('error', () => resolve(127));
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

/** The environment without `AWS_*` variables: a shell's AWS profile must not leak into a LocalStack deploy. */
function withoutAwsVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([key]) => !key.startsWith('AWS_')));
}

export interface DeployDependencies {
  readonly env?: Record<string, string | undefined>;
  readonly io?: { out(line: string): void; err(line: string): void };
  readonly today?: Date;
  readonly run?: (command: Command) => Promise<number>;
  readonly secrets?: SecretsManagerClient;
  readonly fetch?: typeof fetch;
}

/** Runs one `local:deploy`; returns the exit code. */
export async function main(argv: readonly string[], deps: DeployDependencies = {}): Promise<number> {
  const env = deps.env ?? process.env;
  const io = deps.io ?? { out: (l: string) => process.stdout.write(`${l}\n`), err: (l: string) => process.stderr.write(`${l}\n`) };
  const run = deps.run ?? runCommand;
  try {
    const options = parseDeployArgs(argv, deps.today);
    const endpoint = localstackEndpoint(env);
    const secretValue = JSON.stringify(lambdaDatabaseSecret());
    const database = databaseCommands(options);

    if (options.dryRun) {
      io.out(`# check that LocalStack (${MIN_LOCALSTACK_VERSION} or newer) answers at ${endpoint}/_localstack/health`);
      for (const command of database) io.out(`# ${command.description}\n${formatCommand(command)}`);
      io.out(`# create or update Secrets Manager secret ${DATABASE_SECRET_NAME} in LocalStack: ${secretValue}`);
      for (const command of cdklocalCommands(SECRET_ARN_PLACEHOLDER, env)) io.out(`# ${command.description}\n${formatCommand(command)}`);
      return 0;
    }

    const version = await checkLocalStack(endpoint, deps.fetch);
    io.err(`local:deploy: LocalStack ${version} at ${endpoint}`);
    for (const command of database) {
      io.err(`local:deploy: ${command.description}`);
      const code = await run(command);
      if (code !== 0) {
        io.err(`local:deploy: failed (exit ${code}): ${formatCommand(command)}\nIs the compose stack up (npm run local:up)?`);
        return code;
      }
    }
    const secretArn = await upsertSecret(deps.secrets ?? new SecretsManagerClient(localstackClientSettings(env)), DATABASE_SECRET_NAME, secretValue);
    io.err(`local:deploy: secret ${secretArn}`);
    for (const command of cdklocalCommands(secretArn, env)) {
      io.err(`local:deploy: ${command.description}`);
      const code = await run(command);
      if (code !== 0) {
        io.err(`local:deploy: failed (exit ${code}): ${formatCommand(command)}`);
        return code;
      }
    }
    const range = !options.seed ? '--date YYYY-MM-DD' : options.from === options.to ? `--date ${options.to}` : `--from ${options.from} --to ${options.to}`;
    io.out(`Deployed ${STACK_NAME} to LocalStack. Run ${options.seed ? 'the seeded days' : 'a day'} with:\n  npm run local:run -- ${range}`);
    return 0;
  } catch (error) {
    if (error instanceof ConfigError) {
      io.err(`local:deploy: ${error.message}`);
      return 2;
    }
    if (error instanceof TypeError && (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`local:deploy: ${error.message}`);
      return 2;
    }
    io.err(`local:deploy: ${(error as Error).message ?? String(error)}`);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
