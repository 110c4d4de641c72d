import { createHash } from 'node:crypto';
import type { Figures, Report } from './aggregate';
import {
  citationNote,
  DEFINITIONS,
  DEPLOYMENT_HEADER,
  DETAIL_HEADER,
  deploymentCells,
  detailCells,
  EXEMPTION_ACTIVE_HEADER,
  EXEMPTION_HEADER,
  exemptionActiveCells,
  exemptionCells,
  FIGURE_HEADER,
  figureValues,
  GRANT_HEADER,
  GUARD_HEADER,
  generatedLine,
  grantCells,
  guardCells,
  INCIDENT_HEADER,
  incidentCells,
  LOCKDOWN_HEADER,
  lockdownCells,
  MODE_HEADER,
  modeCells,
  modesNote,
  periodLine,
  REPORT_TITLE,
  statusNote,
} from './wording';

/**
 * The report as one self-contained HTML file that opens offline: Chart.js and the figures are inline,
 * and a Content-Security-Policy allows exactly those inline scripts and style (by hash) and no
 * request at all. Every string from the records is escaped.
 */

/** Ids of the chart canvases (the browser test looks for these). */
export const CHART_IDS = ['chart-incidents', 'chart-time-to-remediate'] as const;

/** Set on <html> once every chart has drawn. */
export const CHARTS_READY_ATTRIBUTE = 'data-charts-ready';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** JSON safe inside a <script> element: no "<" can end it or open a comment. */
function inlineJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

const STYLE = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d2430; margin: 2rem auto; max-width: 1100px; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #d0d5dd; padding-bottom: .2rem; }
table { border-collapse: collapse; margin: .5rem 0; width: 100%; }
th, td { border: 1px solid #d0d5dd; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f2f4f7; }
.wrap { overflow-x: auto; max-width: 100%; }
td { overflow-wrap: anywhere; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.note { color: #475467; }
canvas { border: 1px solid #eaecf0; }
dt { font-weight: 600; }
dd { margin: 0 0 .5rem 1rem; }
canvas { max-width: 100%; height: auto; }
@media print { body { margin: 0; max-width: none; font-size: 10px; } .wrap { overflow: visible; } h2 { break-after: avoid; } tr, canvas { break-inside: avoid; } }
`;

/** Draws the two charts from the embedded figures; runs after Chart.js. Plain ES5 for any browser. */
const CHART_SCRIPT = `
(function () {
  'use strict';
  var report = JSON.parse(document.getElementById('report-data').textContent);
  // Okabe-Ito colours: distinguishable with colour-blindness, and saturated (the browser test counts them).
  var palette = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#F0E442', '#882255'];
  Chart.defaults.animation = false;
  Chart.defaults.font.family = 'system-ui, sans-serif';
  var found = report.safeguards.filter(function (row) { return row.found > 0; });
  new Chart(document.getElementById('chart-incidents'), {
    type: 'bar',
    data: {
      labels: report.weeks.map(function (week) { return week.start.slice(0, 10); }),
      datasets: found.map(function (row, index) {
        return {
          label: '\\u00a7' + row.citation,
          data: report.weeks.map(function (week) { return week.bySafeguard[row.citation] || 0; }),
          backgroundColor: palette[index % palette.length]
        };
      })
    },
    options: {
      responsive: false,
      scales: {
        x: { title: { display: true, text: 'week from (Monday, UTC)' } },
        y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: 'incidents detected' } }
      }
    }
  });
  var timed = report.safeguards.filter(function (row) { return row.timeToRemediate.count > 0; });
  var worst = Math.max.apply(null, [0].concat(timed.map(function (row) { return row.timeToRemediate.worstMs; })));
  var unit = worst >= 7200000 ? ['hours', 3600000] : worst >= 120000 ? ['minutes', 60000] : ['seconds', 1000];
  var inUnit = function (ms) { return Math.round((ms / unit[1]) * 100) / 100; };
  new Chart(document.getElementById('chart-time-to-remediate'), {
    type: 'bar',
    data: {
      labels: timed.map(function (row) { return '\\u00a7' + row.citation; }),
      datasets: [
        { label: 'median', backgroundColor: palette[0],
          data: timed.map(function (row) { return inUnit(row.timeToRemediate.medianMs); }) },
        { label: 'worst', backgroundColor: palette[3],
          data: timed.map(function (row) { return inUnit(row.timeToRemediate.worstMs); }) }
      ]
    },
    options: {
      responsive: false,
      scales: {
        x: { title: { display: true, text: 'HIPAA safeguard' } },
        y: { beginAtZero: true, title: { display: true, text: 'time to remediate (' + unit[0] + ')' } }
      }
    }
  });
  document.documentElement.setAttribute('${CHARTS_READY_ATTRIBUTE}', 'true');
})();
`;

type Cell = string | { n: number | string };

function tableHtml(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const head = header.map((title) => `<th scope="col">${escapeHtml(title)}</th>`).join('');
  const body = rows
    .map(
      (row) =>
        `<tr>${row
          .map((cell) =>
            typeof cell === 'string'
              ? `<td>${escapeHtml(cell)}</td>`
              : `<td class="n">${escapeHtml(String(cell.n))}</td>`,
          )
          .join('')}</tr>`,
    )
    .join('\n');
  // A wide table scrolls inside its own box on a phone instead of widening the page.
  return `<div class="wrap"><table>\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table></div>`;
}

const figureCells = (figures: Figures): Cell[] => figureValues(figures).map((n) => ({ n }));

/** `chartJs`: the text of chart.js/dist/chart.umd(.min).js, inlined so the file needs no network. */
export function renderHtml(report: Report, chartJs: string): string {
  // A source map comment would make developer tools fetch a file that is not there.
  const library = chartJs.replace(/\n\/\/# sourceMappingURL=\S*\s*$/, '\n');
  if (/<\/script/i.test(library))
    throw new Error('the Chart.js source cannot be inlined: it contains </script');
  const csp = [
    "default-src 'none'",
    `script-src ${sha256(library)} ${sha256(CHART_SCRIPT)}`,
    `style-src ${sha256(STYLE)}`,
    "img-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  const { totals } = report;
  const title = `${REPORT_TITLE} ${report.period.since.slice(0, 10)} to ${report.period.until.slice(0, 10)}`;
  const anyRemediated = totals.timeToRemediate.count > 0;
  const sections = [
    `<h1>${escapeHtml(REPORT_TITLE)}</h1>`,
    `<p>${escapeHtml(periodLine(report))}</p>`,
    `<p>${escapeHtml(generatedLine(report))}</p>`,
    '<h2>Totals</h2>',
    tableHtml(['', ...FIGURE_HEADER], [['all safeguards (each incident once)', ...figureCells(totals)]]),
    '<h2>By HIPAA safeguard</h2>',
    tableHtml(
      ['safeguard', 'name', ...FIGURE_HEADER],
      report.safeguards.map((row) => [`§${row.citation}`, row.name, ...figureCells(row)]),
    ),
    `<p class="note">${escapeHtml(citationNote(report))}</p>`,
    `<p class="note">${escapeHtml(statusNote(report))}</p>`,
    '<h2>Incidents over time by safeguard</h2>',
    `<canvas id="${CHART_IDS[0]}" width="1000" height="380" role="img" aria-label="Incidents detected per week, one bar per HIPAA safeguard (the table below has the same figures)"></canvas>`,
    tableHtml(
      ['week from (Monday, UTC)', 'incidents', 'by safeguard'],
      report.weeks.map((week) => [
        week.start.slice(0, 10),
        { n: week.total },
        Object.entries(week.bySafeguard)
          .filter(([, count]) => count > 0)
          .map(([citation, count]) => `§${citation}: ${count}`)
          .join(', '),
      ]),
    ),
    '<h2>Time to remediate by safeguard</h2>',
    `<canvas id="${CHART_IDS[1]}" width="1000" height="380" role="img" aria-label="Median and worst time to remediate per HIPAA safeguard (the safeguard table has the same figures)"></canvas>`,
    anyRemediated
      ? ''
      : '<p class="note">No incident was remediated in the period: there is no time to remediate to show.</p>',
    '<h2>Definitions</h2>',
    `<dl>\n${DEFINITIONS.map(([figure, meaning]) => `<dt>${escapeHtml(figure)}</dt><dd>${escapeHtml(meaning)}</dd>`).join('\n')}\n</dl>`,
    `<h2>Incidents (${report.incidents.length})</h2>`,
    report.incidents.length === 0
      ? '<p>No incident was detected in the period.</p>'
      : tableHtml(
          INCIDENT_HEADER,
          report.incidents.map((incident) => {
            const cells = incidentCells(incident);
            // The duration is a number column (right-aligned).
            return [...cells.slice(0, -1), { n: cells.at(-1) ?? '' }];
          }),
        ),
    `<h2>Incident details (${report.incidents.length})</h2>`,
    report.incidents.length === 0
      ? '<p>No incident was detected in the period.</p>'
      : tableHtml(DETAIL_HEADER, report.incidents.map(detailCells)),
    `<h2>Deployment during the period (${report.deployment.spans.length})</h2>`,
    report.deployment.spans.length === 0
      ? '<p>No deployment was recorded for the period.</p>'
      : tableHtml(DEPLOYMENT_HEADER, report.deployment.spans.map(deploymentCells)),
    '<h2>Rule modes during the period</h2>',
    tableHtml(MODE_HEADER, report.modes.map(modeCells)),
    `<p class="note">${escapeHtml(modesNote(report))}</p>`,
    `<h2>Blast-radius guard trips in the period (${report.guard.length})</h2>`,
    report.guard.length === 0
      ? '<p>The guard was not tripped at any time in the period.</p>'
      : tableHtml(GUARD_HEADER, report.guard.map(guardCells)),
    `<h2>SSH lockdowns in the period (${report.lockdowns.length})</h2>`,
    report.lockdowns.length === 0
      ? '<p>No SSH lockdown opened an incident in the period.</p>'
      : tableHtml(LOCKDOWN_HEADER, report.lockdowns.map(lockdownCells)),
    `<h2>SSH grants issued (${report.grants.length})</h2>`,
    report.grants.length === 0
      ? '<p>No SSH grant was issued in the period.</p>'
      : tableHtml(GRANT_HEADER, report.grants.map(grantCells)),
    `<h2>Exemptions in force at the end of the period (${report.exemptions.length})</h2>`,
    report.exemptions.length === 0
      ? '<p>No exemption was in force at the end of the period.</p>'
      : tableHtml(EXEMPTION_HEADER, report.exemptions.map(exemptionCells)),
    `<h2>Exemptions in force at any time in the period (${report.exemptionsActive.length})</h2>`,
    report.exemptionsActive.length === 0
      ? '<p>No exemption was in force at any time in the period.</p>'
      : tableHtml(EXEMPTION_ACTIVE_HEADER, report.exemptionsActive.map(exemptionActiveCells)),
  ];
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="referrer" content="no-referrer">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    ...sections.filter((section) => section !== ''),
    `<script type="application/json" id="report-data">${inlineJson(report)}</script>`,
    `<script>${library}</script>`,
    `<script>${CHART_SCRIPT}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
