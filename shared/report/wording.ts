import type { ExemptionLine, Figures, GrantLine, IncidentLine, Report } from './aggregate';

/** What both renderings (Markdown and HTML) say in words, so they cannot drift apart. */

export const REPORT_TITLE = 'HIPAA compliance report';

/** A duration as a person reads it: 0.4 s, 4 min 10 s, 3 h 05 min, 2 d 4 h. */
export function formatDuration(ms: number | null): string {
  if (ms === null) return '–';
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const totalMinutes = Math.floor(seconds / 60);
  if (totalMinutes < 60) return `${totalMinutes} min ${String(Math.floor(seconds % 60)).padStart(2, '0')} s`;
  const totalHours = Math.floor(totalMinutes / 60);
  if (totalHours < 48) return `${totalHours} h ${String(totalMinutes % 60).padStart(2, '0')} min`;
  return `${Math.floor(totalHours / 24)} d ${totalHours % 24} h`;
}

/** The columns of the exemptions table, in both renderings. */
/** The figures every row shows, in order: the column title and the value as printed. */
const FIGURE_COLUMNS: readonly (readonly [string, (figures: Figures) => string])[] = [
  ['found', (figures) => String(figures.found)],
  ['remediated', (figures) => String(figures.remediated)],
  ['resolved', (figures) => String(figures.resolved)],
  ['open', (figures) => String(figures.open)],
  ['failed', (figures) => String(figures.failed)],
  ['exemptions in force', (figures) => String(figures.exemptionsInForce)],
  ['SSH grants issued', (figures) => String(figures.grantsIssued)],
  ['time to remediate: median', (figures) => formatDuration(figures.timeToRemediate.medianMs)],
  ['worst', (figures) => formatDuration(figures.timeToRemediate.worstMs)],
];

export const FIGURE_HEADER = FIGURE_COLUMNS.map(([title]) => title);

export const figureValues = (figures: Figures): string[] => FIGURE_COLUMNS.map(([, value]) => value(figures));

/** The listings both renderings show: column titles and each row's text, escaped by the rendering. */
export const INCIDENT_HEADER = [
  'incident',
  'detected',
  'rule',
  'severity',
  'safeguards',
  'status',
  'resource',
  'time to remediate',
];

export const incidentCells = (incident: IncidentLine): string[] => [
  incident.incidentId,
  incident.detectedAt,
  incident.ruleId,
  incident.severity,
  incident.hipaa.map((citation) => `§${citation}`).join(', '),
  incident.exemptUntil
    ? `${incident.status} until ${incident.exemptUntil}`
    : incident.mitigation
      ? `${incident.status}, mitigated: ${incident.mitigation}`
      : incident.status,
  `${incident.resourceId} (${incident.account}/${incident.region})`,
  formatDuration(incident.timeToRemediateMs),
];

export const GRANT_HEADER = ['grant', 'issued', 'ends', 'revoked', 'what', 'for', 'by', 'reason'];

export const grantCells = (grant: GrantLine): string[] => [
  grant.grantId,
  grant.createdAt,
  grant.expiresAt,
  grant.revokedAt ?? '–',
  grant.target,
  grant.grantedTo,
  grant.grantedBy,
  grant.reason,
];

export const EXEMPTION_HEADER = ['exemption', 'rule', 'resource ARN', 'set by', 'set at', 'until', 'reason'];

export const exemptionCells = (exemption: ExemptionLine): string[] => [
  exemption.exemptionId,
  exemption.ruleId,
  exemption.resourceArn,
  exemption.setBy,
  exemption.setAt,
  exemption.until,
  exemption.reason,
];

/** Each figure and its definition, in the order of the safeguard table's columns. */
export const DEFINITIONS: readonly (readonly [string, string])[] = [
  [
    'Found',
    'incidents (drift the responder detected) whose detection time falls in the period, whatever their status now.',
  ],
  [
    'Remediated',
    'incidents the responder changed back and verified compliant by a read (status remediated).',
  ],
  [
    'Resolved',
    'incidents found compliant again by a later check without the responder changing anything (status resolved).',
  ],
  [
    'Open',
    'incidents not closed yet: open (notify mode, remediation declined, blast-radius guard) or still remediating.',
  ],
  ['Failed', 'incidents whose remediation failed or got stuck (status failed): a person has to act.'],
  [
    'Exemptions in force',
    'exemptions in the exemptions ledger (exemptions add, or an undo) in force at the end of the period: set at or before it, not removed by then, and ending after it; an exemption removed early does not count. Counted under each safeguard its rule cites, and once in the totals.',
  ],
  [
    'SSH grants issued',
    'grants recorded in the SSH grant ledger (ssh grant) with a start in the period, revoked ones included; counted under the safeguards of the ssh-grant-expired rule, which enforces them.',
  ],
  [
    'Time to remediate',
    'for remediated incidents: from detection (detectedAt) to the start of the successful Verify step, the read-back that proved the resource compliant (the responder says remediated only after it). Median over the incidents (the mean of the two middle ones for an even count) and worst (the longest).',
  ],
];

/** The sentence that explains why the safeguard rows add up to more than the distinct total. */
export function citationNote(report: Report): string {
  const many = report.multiCitationIncidents;
  return `An incident that cites more than one safeguard counts under each of them (${many} incident${many === 1 ? '' : 's'} in this period do${many === 1 ? 'es' : ''}), so the safeguard rows can add up to more than the totals, which count each incident once.`;
}

export function periodLine(report: Report): string {
  return `Period: ${report.period.since} to ${report.period.until} (UTC). Source: ${report.source}.`;
}
