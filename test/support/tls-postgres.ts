/**
 * A throwaway Postgres that speaks TLS with a certificate signed by a CA made here with openssl, and
 * checks passwords (scram-sha-256) over TCP: the machine's PostgreSQL binaries run as the
 * `postgres` user, as `.ci/run` starts them. Needs root, `/usr/lib/postgresql/<version>/bin` and
 * `openssl`; `unusableReason()` says what is missing.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../dev/embedded-postgres.js';

/** The newest `/usr/lib/postgresql/<version>/bin`, if any. */
function postgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(a) - Number(b));
  return versions.length > 0 ? join(root, versions.at(-1)!, 'bin') : undefined;
}

function hasCommand(command: string): boolean {
  try {
    execFileSync(command, ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Why this machine cannot run a TLS Postgres of its own, or undefined when it can. */
export function unusableReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root (initdb and postgres must run as the postgres user)';
  if (!postgresBin()) return 'no PostgreSQL binaries under /usr/lib/postgresql/<version>/bin';
  if (!hasCommand('openssl')) return 'no openssl';
  return undefined;
}

export interface TlsPostgres {
  readonly port: number;
  /** PEM file of the CA that signed the server's certificate (made for the host name `localhost` only). */
  readonly caFile: string;
  /** PEM file of another CA, which signed nothing this server shows. */
  readonly otherCaFile: string;
  /** Password of the `postgres` superuser over TCP. */
  readonly password: string;
  /** Runs SQL as the superuser over the Unix socket (no TLS, no password). */
  admin(sql: string): void;
  stop(): void;
}

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** Makes a CA, a server certificate for `localhost` signed by it, and starts Postgres with them. */
export async function startTlsPostgres(): Promise<TlsPostgres> {
  const bin = postgresBin()!;
  const dir = mkdtempSync(join(tmpdir(), 'tls-postgres-'));
  const data = join(dir, 'data');
  const password = 'initial-password';
  openssl(dir, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=Test Root CA', '-keyout', 'ca.key', '-out', 'ca.pem');
  openssl(dir, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=Other CA', '-keyout', 'other.key', '-out', 'other.pem');
  openssl(dir, 'req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.csr');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=DNS:localhost\n');
  openssl(
    dir,
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    'san.ext',
    '-out',
    'server.pem',
  );
  writeFileSync(join(dir, 'pwfile'), `${password}\n`);
  for (const entry of ['', 'server.key', 'server.pem', 'pwfile']) chownSync(join(dir, entry), uid('postgres'), gid('postgres'));
  const asPostgres = (command: string, args: string[]) => execFileSync('runuser', ['-u', 'postgres', '--', join(bin, command), ...args], { stdio: 'pipe' });
  asPostgres('initdb', [
    '-D',
    data,
    '-U',
    'postgres',
    '--pwfile',
    join(dir, 'pwfile'),
    '--auth-local=trust',
    '--auth-host=scram-sha-256',
    '--no-sync',
    '-E',
    'UTF8',
  ]);
  const port = await freePort();
  const options = [
    '-c listen_addresses=localhost',
    `-p ${port}`,
    `-k ${dir}`,
    '-c fsync=off',
    '-c ssl=on',
    `-c ssl_cert_file=${join(dir, 'server.pem')}`,
    `-c ssl_key_file=${join(dir, 'server.key')}`,
  ].join(' ');
  asPostgres('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-w', '-o', options, 'start']);
  return {
    port,
    caFile: join(dir, 'ca.pem'),
    otherCaFile: join(dir, 'other.pem'),
    password,
    admin: (sql) => void asPostgres('psql', ['-h', dir, '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-c', sql]),
    stop: () => {
      try {
        asPostgres('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

function uid(user: string): number {
  return Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
}

function gid(user: string): number {
  return Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
}
