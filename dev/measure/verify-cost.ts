/**
 * What `etl verify` costs (docs/performance.md, "The change signal and etl verify"): seeds `--days`
 * days of `--rows` rentals into a fresh database on `DATABASE_URL`'s server, publishes them into a
 * temporary local lake (a backfill), then times one `verifyDays` over the range.
 *
 *   npx tsx dev/measure/verify-cost.ts --days 365 --rows 10000
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadConfig } from '../../src/core/config.js';
import { addDays, daysBetween, parseDay } from '../../src/core/day.js';
import { FsStore } from '../../src/lake/fs-store.js';
import { runLocalExecution } from '../../src/pipeline/local-execution.js';
import { verifyDays } from '../../src/pipeline/verify/verify.js';
import { migrate } from '../../src/source/migrate.js';
import { seed } from '../../src/source/synthetic/load.js';

const { values } = parseArgs({ options: { days: { type: 'string' }, rows: { type: 'string' } } });
const days = Number(values.days ?? 365);
const rows = Number(values.rows ?? 10_000);
const admin = process.env.DATABASE_URL;
if (!admin) throw new Error('DATABASE_URL: the server to measure on');
const from = parseDay('2020-01-01');
const to = addDays(from, days - 1);
const name = `verify_cost_${randomBytes(4).toString('hex')}`;
const server = new pg.Client(admin);
await server.connect();
await server.query(`CREATE DATABASE ${name}`);
const url = new URL(admin);
url.pathname = `/${name}`;
const client = new pg.Client(url.toString());
await client.connect();
const lake = await mkdtemp(join(tmpdir(), 'verify-cost-'));
try {
  await migrate(client);
  await seed(client, { from, to, rentalsPerDay: rows, users: 10_000, bikes: 1_000, errorRate: 0.01 });
  await client.query('VACUUM ANALYZE');
  const config = loadConfig({ DATABASE_URL: url.toString(), LAKE_URI: lake, POWERTOOLS_LOG_LEVEL: 'ERROR', QUALITY_MAX_DAY_OVER_DAY_CHANGE: '1000' });
  const published = performance.now();
  const backfill = await runLocalExecution(config, { from: from.iso, to: to.iso }, { concurrency: 2, logLine: () => undefined });
  const publishSeconds = (performance.now() - published) / 1000;
  if (backfill.status !== 'SUCCEEDED') throw new Error(`backfill ${backfill.status}: ${backfill.cause}`);
  const started = performance.now();
  const results = await verifyDays({ store: new FsStore(config.lake), client, timeZone: config.timeZone, batchRows: config.batchRows }, daysBetween(from, to));
  const seconds = (performance.now() - started) / 1000;
  const differ = results.filter((r) => 'equal' in r && !r.equal).length;
  process.stdout.write(
    `${JSON.stringify({ days, rowsPerDay: rows, publishSeconds, verifySeconds: seconds, rowsPerSecond: Math.round((days * rows) / seconds), differ, peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) })}\n`,
  );
} finally {
  await client.end();
  await server.query(`DROP DATABASE ${name} WITH (FORCE)`);
  await server.end();
  await rm(lake, { recursive: true, force: true });
}
