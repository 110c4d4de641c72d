import type { Report } from './aggregate';
import {
  citationNote,
  DEFINITIONS,
  EXEMPTION_HEADER,
  FIGURE_HEADER,
  figureValues,
  formatDuration,
  periodLine,
  REPORT_TITLE,
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
          [
            'incident',
            'detected',
            'rule',
            'severity',
            'safeguards',
            'status',
            'resource',
            'time to remediate',
          ],
          report.incidents.map((incident) => [
            mdCell(incident.incidentId),
            mdCell(incident.detectedAt),
            mdCell(incident.ruleId),
            mdCell(incident.severity),
            mdCell(incident.hipaa.map((citation) => `§${citation}`).join(', ')),
            mdCell(
              incident.exemptUntil ? `${incident.status} until ${incident.exemptUntil}` : incident.status,
            ),
            mdCell(`${incident.resourceId} (${incident.account}/${incident.region})`),
            formatDuration(incident.timeToRemediateMs),
          ]),
        )),
    '',
    `## SSH grants issued (${report.grants.length})`,
    '',
    ...(report.grants.length === 0
      ? ['No SSH grant was issued in the period.']
      : table(
          ['grant', 'issued', 'ends', 'revoked', 'what', 'for', 'by', 'reason'],
          report.grants.map((grant) => [
            mdCell(grant.grantId),
            mdCell(grant.createdAt),
            mdCell(grant.expiresAt),
            mdCell(grant.revokedAt ?? '–'),
            mdCell(grant.target),
            mdCell(grant.grantedTo),
            mdCell(grant.grantedBy),
            mdCell(grant.reason),
          ]),
        )),
    '',
    `## Exemptions in force at the end of the period (${report.exemptions.length})`,
    '',
    ...(report.exemptions.length === 0
      ? ['No exemption was in force at the end of the period.']
      : table(
          EXEMPTION_HEADER,
          report.exemptions.map((exemption) => [
            mdCell(exemption.exemptionId),
            mdCell(exemption.ruleId),
            mdCell(exemption.resourceArn),
            mdCell(exemption.setBy),
            mdCell(exemption.setAt),
            mdCell(exemption.until),
            mdCell(exemption.reason),
          ]),
        )),
    '',
  ];
  return lines.join('\n');
}
