/**
 * The report as one self-contained HTML page: the tables rendered here, the charts drawn in the
 * browser by Chart.js, whose UMD build is inlined with the data, so the page opens offline from a
 * file, a mail attachment or an S3 object alike.
 *
 * Chart.js: one 200 KB file with no dependencies, MIT, maintained for a decade and released
 * monthly; canvas rendering (a page of ten charts over thousands of days stays light); bar, line,
 * stacked and horizontal bars are built in, which is all this report draws.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Cell, ReportData, Section, TableSpec } from './sections.js';

/** The Chart.js UMD build from the installed package (its `exports` do not name it, so found beside the main file). */
export async function chartJsSource(): Promise<string> {
  const main = createRequire(import.meta.url).resolve('chart.js');
  return readFile(join(dirname(main), 'chart.umd.js'), 'utf8');
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** Text that can sit inside a `<script>` element: no `</script`, no `<!--`. */
function inScript(text: string): string {
  return text.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

function cell(value: Cell): string {
  return typeof value === 'number' ? `<td class="num">${value.toLocaleString('en-US')}</td>` : `<td>${escapeHtml(value)}</td>`;
}

function table(spec: TableSpec, sectionId: string, index: number): string {
  const caption = spec.caption ? `<caption>${escapeHtml(spec.caption)}</caption>` : '';
  const head = spec.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const body =
    spec.rows.length === 0
      ? `<tr><td class="empty" colspan="${spec.columns.length}">none</td></tr>`
      : spec.rows.map((row) => `<tr>${row.map(cell).join('')}</tr>`).join('\n');
  return `<div class="table"><table data-table="${sectionId}${index === 0 ? '' : `-${index}`}">${caption}<thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div>`;
}

function section(s: Section): string {
  return `<section id="${s.id}">
<h2>${escapeHtml(s.title)}</h2>
<p>${escapeHtml(s.description)}</p>
<div class="chart"><canvas id="chart-${s.id}" role="img" aria-label="${escapeHtml(s.title)}"></canvas></div>
${s.tables.map((t, i) => table(t, s.id, i)).join('\n')}
</section>`;
}

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 auto; max-width: 1400px; padding: 1em 2em; color: #222; }
header dl { display: flex; flex-wrap: wrap; gap: 0 2em; }
header dt { color: #666; } header dd { margin: 0 0 .5em; font-weight: 600; }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(620px, 1fr)); gap: 1.5em; }
section { border: 1px solid #ddd; border-radius: 6px; padding: 0 1em 1em; min-width: 0; }
section p { color: #555; margin-top: 0; }
.chart { position: relative; height: 280px; }
.table { max-height: 240px; overflow: auto; margin-top: 1em; }
table { border-collapse: collapse; font-size: 12px; width: 100%; }
caption { text-align: left; font-weight: 600; padding: .3em 0; }
th, td { border-bottom: 1px solid #eee; padding: 2px 8px; text-align: left; white-space: nowrap; }
th { position: sticky; top: 0; background: #f7f7f7; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.empty { color: #888; }
`;

/** Draws every section's chart from the data embedded in the page. */
const DRAW = `
const report = JSON.parse(document.getElementById('report-data').textContent);
const palette = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
const asPercent = (v) => (v * 100).toFixed(v !== 0 && Math.abs(v) < 0.01 ? 2 : 1) + '%';
Chart.defaults.animation = false;
for (const { id, chart } of report.sections) {
  const value = chart.horizontal ? 'x' : 'y';
  const category = chart.horizontal ? 'y' : 'x';
  const ticks = chart.percent ? { callback: asPercent } : {};
  new Chart(document.getElementById('chart-' + id), {
    type: chart.type,
    data: {
      labels: chart.labels,
      datasets: chart.datasets.map((d, i) => ({
        label: d.label,
        data: d.data,
        type: d.line ? 'line' : undefined,
        borderColor: palette[i % palette.length],
        backgroundColor: palette[i % palette.length] + (chart.type === 'line' || d.line ? '' : 'cc'),
        borderDash: d.dashed ? [6, 4] : undefined,
        pointRadius: chart.labels.length > 60 ? 0 : 3,
        spanGaps: true,
        order: d.line ? 0 : 1,
      })),
    },
    options: {
      maintainAspectRatio: false,
      indexAxis: category,
      interaction: { mode: 'index', intersect: false },
      scales: {
        [category]: { stacked: !!chart.stacked },
        [value]: { stacked: !!chart.stacked, beginAtZero: true, title: { display: true, text: chart.valueTitle }, ticks },
      },
      plugins: {
        tooltip: chart.percent ? { callbacks: { label: (c) => c.dataset.label + ': ' + asPercent(c.parsed[value]) } } : {},
      },
    },
  });
}
`;

/** The whole page of `data`, with `chartJs` (the Chart.js UMD build) inlined. */
export function reportPage(data: ReportData, chartJs: string): string {
  const { summary } = data;
  const range = data.from && data.to ? `${data.from} to ${data.to}` : 'every day the lake holds';
  const facts: [string, string][] = [
    ['lake', data.lake],
    ['days', range],
    ['published', `${summary.published} of ${summary.days} days`],
    ['rows', summary.rows.toLocaleString('en-US')],
    ['runs', `${summary.runs} (${summary.failedRuns} failed validation)`],
    ['generated', data.generatedAt],
  ];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Lake report: ${escapeHtml(range)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>Lake report</h1>
<dl>${facts.map(([k, v]) => `<div><dt>${escapeHtml(k)}</dt><dd data-fact="${escapeHtml(k)}">${escapeHtml(v)}</dd></div>`).join('')}</dl>
</header>
<main>
${data.sections.map(section).join('\n')}
</main>
<script type="application/json" id="report-data">${inScript(JSON.stringify(data).replace(/</g, '\\u003c'))}</script>
<script>${inScript(chartJs)}</script>
<script>${DRAW}</script>
</body>
</html>
`;
}
