/**
 * A benchmark run as Markdown, for the generated region of `docs/performance.md`: `npm run bench --
 * --docs` keeps the run's results file as `docs/performance.json`, and `npm run docs`
 * (`dev/readme-sections.ts`) renders it here, so every figure in the document is one the bench
 * printed, never one typed by hand.
 */
import type { CliMeasurement } from './cli.js';
import type { ColdStart } from './cold-start.js';
import { ETL_RUN_TARGETS, etlRunTargets, etlRunTargetsMet } from './etl-run.js';
import { LAMBDA_PRICES, lambdaDollars, MB_PER_VCPU, type StageCost } from './lambda-cost.js';
import type { BenchResults, DayRun } from './report.js';
import { OVERLAP_NOTE, WHOLE_DAY, type StageMeasurement } from './stages.js';

/** A results file as `main` writes it: `BenchResults` and, since the `etl` command is measured too, its start-up. */
export type BenchResultsFile = BenchResults & { readonly cli?: readonly CliMeasurement[] };

const count = (n: number): string => Math.round(n).toLocaleString('en-US');
const seconds = (s: number): string => s.toFixed(2);
const ms = (n: number): string => n.toFixed(0);
const mib = (kb: number): string => `${(kb / 1024).toFixed(0)} MiB`;
const ratio = (r: number): string => `${r.toFixed(2)} x`;
const files = (n: number): string => `${n} file${n === 1 ? '' : 's'}`;

function size(bytes: number): string {
  if (bytes < 1_000) return `${bytes} B`;
  if (bytes < 1_000_000) return `${(bytes / 1_000).toFixed(1)} kB`;
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  return [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
}

function stageRow(label: string, m: StageMeasurement, output: string): string[] {
  return [label, seconds(m.seconds), m.rows > 0 ? count(m.rows / m.seconds) : '', mib(m.peakRssKb), output];
}

const verdict = (met: boolean | undefined): string => (met === undefined ? '' : met ? ' (met)' : ' (**not met**)');

function dayTable(day: DayRun, lake: 'dir' | 's3'): string[] {
  const { floor, stages, etlRun } = day;
  const rows: string[][] = [];
  if (floor) {
    rows.push(
      ['floor: `COPY … (FORMAT binary)` to nowhere', seconds(floor.copy.seconds), count(floor.copy.rows / floor.copy.seconds), '', size(floor.copy.bytes)],
      [
        `floor: DuckDB writing the rows as Parquet (${floor.duckdb.threads} threads)`,
        seconds(floor.duckdb.seconds),
        count(floor.duckdb.rows / floor.duckdb.seconds),
        '',
        size(floor.duckdb.bytes),
      ],
      ['**floor** (the two added)', seconds(floor.seconds), count(day.rows / floor.seconds), '', ''],
    );
  }
  for (const stage of stages.stages)
    rows.push(stageRow(`${stage.stage} (its bundle in a fresh process)`, stage, `${size(stage.bytes)}, ${files(stage.files)}`));
  const wholeDayRatio = day.ratioToFloor === undefined ? '' : `, ${ratio(day.ratioToFloor)} the floor`;
  rows.push(stageRow(`${WHOLE_DAY} (the state machine run locally, one process)`, stages.wholeDay, `${size(stages.wholeDay.bytes)}${wholeDayRatio}`));
  const etlRunRatio = day.etlRunRatioToFloor === undefined ? '' : `, **${ratio(day.etlRunRatioToFloor)} the floor**`;
  rows.push([
    `**\`${etlRun.command}\`** (spawn to exit)`,
    `**${seconds(etlRun.seconds)}**`,
    count(etlRun.rows / etlRun.seconds),
    `**${mib(etlRun.peakRssKb)}**`,
    `${size(etlRun.bytes)}${etlRunRatio}`,
  ]);
  const { compaction } = day;
  if (compaction) {
    rows.push([
      `\`${compaction.command}\` of the day written as ${files(compaction.filesBefore)} (spawn to exit)`,
      seconds(compaction.seconds),
      count(compaction.rows / compaction.seconds),
      mib(compaction.peakRssKb),
      `${size(compaction.bytesAfter)}, ${files(compaction.filesAfter)}`,
    ]);
  }
  const lines = [`**${count(day.rows)} rentals, one day**`, '', ...table(['', 'seconds', 'rows/s', 'peak RSS', 'output'], rows), ''];
  const { wholeDay } = stages;
  if (wholeDay.parts) {
    const tasks = Object.entries(wholeDay.parts);
    const machine = wholeDay.seconds - tasks.reduce((sum, [, s]) => sum + s, 0);
    lines.push(
      `The whole day's ${seconds(wholeDay.seconds)} s: ${[...tasks.map(([name, s]) => `${name} ${seconds(s)}`), `the state machine ${seconds(machine)}`].join(', ')} (${OVERLAP_NOTE}).`,
    );
  }
  const met = etlRunTargetsMet(lake, day.rows, etlRun, day.etlRunRatioToFloor);
  const { ratioToFloor, peakRssMib } = etlRunTargets(lake);
  const memory = peakRssMib === undefined ? '' : ` and ${peakRssMib} MiB of peak RSS${verdict(met.peakRss)}`;
  const targets =
    day.rows >= ETL_RUN_TARGETS.forRows
      ? `Targets for this day: \`etl run\` at most ${ratioToFloor} x the floor${verdict(met.ratio)}${memory}.`
      : `The targets (at most ${ratioToFloor} x the floor${peakRssMib === undefined ? '' : `, ${peakRssMib} MiB`}) are for days of ${count(ETL_RUN_TARGETS.forRows)} rentals.`;
  lines.push(targets, '');
  lines.push(...lambdaCostTable(day.lambdaCosts ?? []));
  return lines;
}

/** What the day's stages would cost in Lambda (results files written before the estimate have none). */
function lambdaCostTable(costs: readonly StageCost[]): string[] {
  if (costs.length === 0) return [];
  const rows = costs.map((c) => [
    c.stage,
    `${c.memoryMb} MB`,
    seconds(c.cpuSeconds),
    seconds(c.lambdaSeconds),
    c.gbSeconds.toFixed(2),
    `**${c.gbSecondsPerMillionRows.toFixed(2)}**`,
  ]);
  const perMillion = costs.reduce((sum, c) => sum + c.gbSecondsPerMillionRows, 0);
  return [
    `**In Lambda** (an estimate: each stage's CPU seconds stretched to the vCPU share its memory size buys, ${count(MB_PER_VCPU)} MB per vCPU, its waiting kept as measured)`,
    '',
    ...table(['stage', 'memory', 'CPU s', 'est. Lambda s', 'GB-s', 'GB-s per 1,000,000 rows'], rows),
    '',
    `A day of 1,000,000 rows: **${perMillion.toFixed(2)} GB-s**, about $${lambdaDollars(perMillion, costs.length).toFixed(5)} at ` +
      `$${LAMBDA_PRICES.perGbSecond} per GB-s and $${LAMBDA_PRICES.perMillionRequests} per million requests (${LAMBDA_PRICES.architecture}, ${LAMBDA_PRICES.region}, before the free tier).`,
    '',
  ];
}

function cliTable(cli: readonly CliMeasurement[]): string[] {
  const rows = cli.map((c) => [
    c.label,
    ms(c.ms),
    mib(c.peakRssKb),
    `${c.targetMs} ms${c.targetRssMib === undefined ? '' : `, ${c.targetRssMib} MiB`}${verdict(c.met)}`,
  ]);
  return [
    `**The \`etl\` command's start-up** (median of ${cli[0]?.samplesMs.length ?? 0} fresh processes)`,
    '',
    ...table(['', 'ms', 'peak RSS', 'target'], rows),
    '',
  ];
}

function coldStartTable(coldStart: readonly ColdStart[]): string[] {
  const rows = coldStart.map((c) => [
    c.handler,
    ms(c.importMs),
    ms(c.firstCallMs),
    ms(c.coldInitMs),
    mib(c.peakRssKb),
    size(c.bundle.zipBytes),
    c.bundle.wasmBytes > 0 ? size(c.bundle.wasmBytes) : '',
  ]);
  return [
    `**Cold starts** (each handler's bundle \`require\`d by plain node, then its first call on an empty day; median of ${coldStart[0]?.runs ?? 0} fresh processes)`,
    '',
    ...table(['handler', 'import ms', 'first call ms', 'cold init ms', 'peak RSS', 'zipped bundle', 'of it .wasm'], rows),
    '',
  ];
}

/** The Markdown of one benchmark run: where it ran, with what, and every table it printed. */
export function benchMarkdown(results: BenchResultsFile): string {
  const { machine, settings, loadAverage } = results;
  const lines = [
    `Run of ${results.startedAt} (${seconds(results.seconds)} s): ${machine.cpu}, ${machine.cores} cores, ` +
      `${(machine.memoryBytes / 2 ** 30).toFixed(1)} GiB, ${machine.os}, Node ${machine.node}, ${machine.postgres} ` +
      `(${settings.postgres === 'embedded' ? 'embedded' : 'from DATABASE_URL'}); ${settings.lake.description}. ` +
      `1-minute load average ${loadAverage.atStart.toFixed(2)} at the start, ${loadAverage.atEnd.toFixed(2)} at the end. ` +
      `BATCH_ROWS ${count(settings.batchRows)}, ROW_GROUP_ROWS ${count(settings.rowGroupRows)}, ROWS_PER_FILE ${count(settings.rowsPerFile)}, ` +
      `day ${settings.day} in ${settings.timeZone}. Times are medians of ${settings.repeat} run${settings.repeat === 1 ? '' : 's'}, peak RSS the largest.`,
    '',
  ];
  for (const day of results.days) lines.push(...dayTable(day, settings.lake.kind));
  if (results.cli && results.cli.length > 0) lines.push(...cliTable(results.cli));
  if (results.coldStart && results.coldStart.length > 0) lines.push(...coldStartTable(results.coldStart));
  return lines.join('\n').trimEnd();
}
