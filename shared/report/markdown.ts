import type { Report } from './aggregate';
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

/** Longest bar of the weekly text chart, in characters. */
const BAR_WIDTH = 40;

/** A table cell: no line breaks, and nothing Markdown or HTML would read as markup. */
export function mdCell(text: string): string {
  return text
    .replace(/\s+/g, ' ')
    .replace(/[\\|`*_[\]<>#]/g, (char) => `\\${char}`)
    .trim();
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)];
}

/** The report as Markdown: the same figures as the HTML, with a text chart per week. */
export function renderMarkdown(report: Report): string {
  const { totals } = report;
  const maxWeek = Math.max(1, ...report.weeks.map((week) => week.total));
  const lines = [
    `# ${REPORT_TITLE}`,
    '',
    mdCell(periodLine(report)),
    '',
    mdCell(generatedLine(report)),
    '',
    '## Totals',
    '',
    ...table(['', ...FIGURE_HEADER], [['all safeguards (each incident once)', ...figureValues(totals)]]),
    '',
    '## By HIPAA safeguard',
    '',
    ...table(
      ['safeguard', ...FIGURE_HEADER],
      report.safeguards.map((row) => [
        mdCell(row.name ? `§${row.citation} ${row.name}` : `§${row.citation}`),
        ...figureValues(row),
      ]),
    ),
    '',
    mdCell(citationNote(report)),
    '',
    mdCell(statusNote(report)),
    '',
    '## Incidents per week',
    '',
    ...table(
      ['week from (Monday, UTC)', 'incidents', 'chart', 'by safeguard'],
      report.weeks.map((week) => [
        week.start.slice(0, 10),
        String(week.total),
        week.total === 0 ? '' : '█'.repeat(Math.max(1, Math.round((week.total / maxWeek) * BAR_WIDTH))),
        mdCell(
          Object.entries(week.bySafeguard)
            .filter(([, count]) => count > 0)
            .map(([citation, count]) => `§${citation}: ${count}`)
            .join(', '),
        ),
      ]),
    ),
    '',
    '## Definitions',
    '',
    ...DEFINITIONS.map(([figure, meaning]) => `- **${figure}**: ${mdCell(meaning)}`),
    '',
    `## Incidents (${report.incidents.length})`,
    '',
    ...(report.incidents.length === 0
      ? ['No incident was detected in the period.']
      : table(
          INCIDENT_HEADER,
          report.incidents.map((incident) => incidentCells(incident).map(mdCell)),
        )),
    '',
    `## Incident details (${report.incidents.length})`,
    '',
    ...(report.incidents.length === 0
      ? ['No incident was detected in the period.']
      : table(
          DETAIL_HEADER,
          report.incidents.map((incident) => detailCells(incident).map(mdCell)),
        )),
    '',
    `## Deployment during the period (${report.deployment.spans.length})`,
    '',
    ...(report.deployment.spans.length === 0
      ? ['No deployment was recorded for the period.']
      : table(
          DEPLOYMENT_HEADER,
          report.deployment.spans.map((span) => deploymentCells(span).map(mdCell)),
        )),
    '',
    '## Rule modes during the period',
    '',
    ...table(
      MODE_HEADER,
      report.modes.map((line) => modeCells(line).map(mdCell)),
    ),
    '',
    mdCell(modesNote(report)),
    '',
    `## Blast-radius guard trips in the period (${report.guard.length})`,
    '',
    ...(report.guard.length === 0
      ? ['The guard was not tripped at any time in the period.']
      : table(
          GUARD_HEADER,
          report.guard.map((line) => guardCells(line).map(mdCell)),
        )),
    '',
    `## SSH lockdowns in the period (${report.lockdowns.length})`,
    '',
    ...(report.lockdowns.length === 0
      ? ['No SSH lockdown opened an incident in the period.']
      : table(
          LOCKDOWN_HEADER,
          report.lockdowns.map((line) => lockdownCells(line).map(mdCell)),
        )),
    '',
    `## SSH grants issued (${report.grants.length})`,
    '',
    ...(report.grants.length === 0
      ? ['No SSH grant was issued in the period.']
      : table(
          GRANT_HEADER,
          report.grants.map((grant) => grantCells(grant).map(mdCell)),
        )),
    '',
    `## Exemptions in force at the end of the period (${report.exemptions.length})`,
    '',
    ...(report.exemptions.length === 0
      ? ['No exemption was in force at the end of the period.']
      : table(
          EXEMPTION_HEADER,
          report.exemptions.map((exemption) => exemptionCells(exemption).map(mdCell)),
        )),
    '',
    `## Exemptions in force at any time in the period (${report.exemptionsActive.length})`,
    '',
    ...(report.exemptionsActive.length === 0
      ? ['No exemption was in force at any time in the period.']
      : table(
          EXEMPTION_ACTIVE_HEADER,
          report.exemptionsActive.map((exemption) => exemptionActiveCells(exemption).map(mdCell)),
        )),
    '',
  ];
  return lines.join('\n');
}
