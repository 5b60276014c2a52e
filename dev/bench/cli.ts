/**
 * The `etl` command as a user starts it: the built `dist/cli/etl.js` (rebuilt first) in fresh
 * processes, timed from spawn to exit, with each process's peak RSS. Measures `etl --help` and a
 * refused input against the targets a command line should meet; part of `npm run bench`, or alone:
 *
 *   npm run bench:cli
 */
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from './child-process.js';
import { median } from './stats.js';

/** Fresh processes per case (after one warm-up run that is not counted); the median counts. */
const RUNS = 10;
/** The built command, relative to the project root. */
export const ETL = 'dist/cli/etl.js';

/**
 * The environment and the Node flags the executable's shebang (`#!/usr/bin/env -S [NAME=value …]
 * node …`) runs it with, as a user's shell would.
 */
export function shebangOf(file: string): { env: Record<string, string>; flags: string[] } {
  const first = readFileSync(join(PROJECT_ROOT, file), 'utf8').split('\n')[0];
  const match = /^#!\/usr\/bin\/env(?: -S)?((?: [A-Z_]+=\S+)*) node(.*)$/.exec(first);
  if (!match) throw new Error(`${file}: no node shebang`);
  const words = (text: string) =>
    text
      .trim()
      .split(/\s+/)
      .filter((word) => word !== '');
  return { env: Object.fromEntries(words(match[1]).map((assignment) => assignment.split('=', 2))), flags: words(match[2]) };
}

/** A command line to time, the exit code it must end with and what it should stay within. */
interface CliCase {
  readonly label: string;
  readonly args: readonly string[];
  readonly exitCode: number;
  readonly targetMs: number;
  readonly targetRssMib?: number;
}

const CASES: readonly CliCase[] = [
  { label: 'etl --help', args: ['--help'], exitCode: 0, targetMs: 150, targetRssMib: 80 },
  { label: 'etl run --date 2025-02-30 (refused, exit 2)', args: ['run', '--date', '2025-02-30'], exitCode: 2, targetMs: 300 },
];

export interface CliMeasurement {
  readonly label: string;
  readonly args: readonly string[];
  /** Spawn to exit, median of `samplesMs`. */
  readonly ms: number;
  readonly samplesMs: readonly number[];
  /** The largest peak RSS of the runs. */
  readonly peakRssKb: number;
  readonly targetMs: number;
  readonly targetRssMib: number | undefined;
  readonly met: boolean;
}

/**
 * Loaded before the CLI with `--import`: reports the process's peak RSS on fd 3 as it exits. It adds
 * one tiny module to what the process loads.
 */
const REPORT_PEAK_RSS =
  'data:text/javascript,' +
  encodeURIComponent("import { writeSync } from 'node:fs'; process.on('exit', () => writeSync(3, String(process.resourceUsage().maxRSS)));");

/** How one `etl` process ended. */
export interface EtlProcess {
  /** Spawn to exit. */
  readonly ms: number;
  readonly peakRssKb: number;
  readonly exitCode: number | null;
  /** The last lines it wrote to stderr, to say why it failed. */
  readonly stderrTail: string;
}

/**
 * One fresh `node dist/cli/etl.js ...args`, with `env` over the bench's environment: milliseconds
 * from spawn to exit, peak RSS in KiB, exit code.
 */
export async function runEtlProcess(args: readonly string[], env: Record<string, string> = {}): Promise<EtlProcess> {
  const started = performance.now();
  const shebang = shebangOf(ETL);
  const child = spawn(process.execPath, [...shebang.flags, '--import', REPORT_PEAK_RSS, ETL, ...args], {
    cwd: PROJECT_ROOT,
    // As a user's shell runs it: no loader inherited from the benchmark's own process.
    env: { ...process.env, ...shebang.env, ...env, NODE_OPTIONS: '' },
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
  });
  let report = '';
  let stderrTail = '';
  (child.stdio[3] as Readable).setEncoding('utf8').on('data', (s: string) => (report += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderrTail = (stderrTail + s).slice(-4000)));
  const closed = new Promise((resolve) => child.on('close', resolve));
  const { ms, exitCode } = await new Promise<{ ms: number; exitCode: number | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => resolve({ ms: performance.now() - started, exitCode: code }));
  });
  // The report is complete once the pipes close, after the exit.
  await closed;
  return { ms, peakRssKb: Number(report), exitCode, stderrTail: stderrTail.trim() };
}

/** Rebuilds `dist/` so the figures are those of the sources as they are. */
export async function buildCli(): Promise<void> {
  await promisify(execFile)(process.execPath, ['dev/build.mjs'], { cwd: PROJECT_ROOT, env: { ...process.env, NODE_OPTIONS: '' } });
}

/** Times every case in fresh processes; throws when a case ends with another exit code than its own. */
export async function measureCli(onCase?: (label: string) => void): Promise<CliMeasurement[]> {
  const results: CliMeasurement[] = [];
  for (const c of CASES) {
    onCase?.(c.label);
    await runEtlProcess(c.args);
    const runs = [];
    for (let i = 0; i < RUNS; i++) {
      const run = await runEtlProcess(c.args);
      if (run.exitCode !== c.exitCode) throw new Error(`${ETL} ${c.args.join(' ')} exited with ${run.exitCode}, expected ${c.exitCode}`);
      runs.push(run);
    }
    const ms = median(runs.map((r) => r.ms));
    const peakRssKb = Math.max(...runs.map((r) => r.peakRssKb));
    const met = ms <= c.targetMs && (c.targetRssMib === undefined || peakRssKb <= c.targetRssMib * 1024);
    results.push({ label: c.label, args: c.args, ms, samplesMs: runs.map((r) => r.ms), peakRssKb, targetMs: c.targetMs, targetRssMib: c.targetRssMib, met });
  }
  return results;
}

/** The lines of the `etl` table in the bench's report. */
export function cliTable(measurements: readonly CliMeasurement[]): string[] {
  const rows = [
    ['', 'ms', 'target', 'peak RSS', 'target', ''],
    ...measurements.map((m) => [
      m.label,
      m.ms.toFixed(0),
      `<= ${m.targetMs}`,
      `${(m.peakRssKb / 1024).toFixed(0)} MiB`,
      m.targetRssMib === undefined ? '-' : `<= ${m.targetRssMib} MiB`,
      m.met ? 'met' : 'MISSED',
    ]),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  return [
    `etl command (${ETL}, whole process from spawn to exit; median of ${RUNS} fresh processes, peak RSS the largest)`,
    ...rows.map((r) => `  ${line(r)}`),
  ];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stderr.write('[bench] building dist/\n');
  await buildCli();
  const measurements = await measureCli((label) => process.stderr.write(`[bench] ${label}: ${RUNS} fresh processes\n`));
  process.stdout.write(`${cliTable(measurements).join('\n')}\n`);
}
