import { formatDuration } from '../duration';
import { IncidentStatus } from '../pipeline/lifecycle';
import type {
  Coverage,
  DeploymentSpan,
  ExemptionActiveLine,
  ExemptionLine,
  Figures,
  GrantLine,
  GuardLine,
  IncidentLine,
  LockdownLine,
  ModeLine,
  Report,
} from './aggregate';

/** What both renderings (Markdown and HTML) say in words, so they cannot drift apart. */

export const REPORT_TITLE = 'HIPAA compliance report';

export { formatDuration };

/**
 * What each status means in the report (a Record over the lifecycle's statuses: a status added to
 * the lifecycle does not compile until it is defined here, and gets its own column).
 */
export const STATUS_MEANINGS: Readonly<Record<IncidentStatus, string>> = {
  open: 'drift found and not acted on: notify mode, the blast-radius guard, or a rule that declined (the incident says which).',
  remediating: 'the remediation was running or waiting for AWS (a snapshot) at the end of the period.',
  remediated: 'the responder changed the resource back and a read verified it compliant.',
  failed: 'the remediation failed or got stuck: a person has to act.',
  exempted: 'an exemption in the ledger covered the finding: recorded, nothing changed.',
  suppressed: 'in the lifecycle’s vocabulary; no code path writes it today, so this column should read 0.',
  resolved:
    'a later check found the resource compliant again without the responder changing it (or a deleted resource existed again).',
  undone: 'a person reversed the remediation (incidents undo): who, when and why are in the incident list.',
};

/** The figures every row shows, in order: the column title and the value as printed. */
const FIGURE_COLUMNS: readonly (readonly [string, (figures: Figures) => string])[] = [
  ['found', (figures) => String(figures.found)],
  // One column per status of the lifecycle, in its order: they add up to found.
  ...Object.values(IncidentStatus).map(
    (status) => [status, (figures: Figures) => String(figures.byStatus[status])] as const,
  ),
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
  `${
    incident.exemptUntil
      ? `${incident.status} until ${incident.exemptUntil}`
      : incident.mitigation
        ? `${incident.status}, mitigated: ${incident.mitigation}`
        : incident.status
  }${incident.statusKnown ? '' : ' (today’s; not recorded then)'}`,
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
    'incidents (drift the responder detected) whose detection time falls in the period. Each is counted under exactly one status: the one it had at the end of the period, from its recorded history of status changes, so the status columns add up to found and a report for a past period does not change when an incident moves later.',
  ],
  ...Object.entries(STATUS_MEANINGS).map(([status, meaning]) => [status, meaning] as const),
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
    'for incidents remediated by the end of the period: from detection (detectedAt) to the start of the successful Verify step, the read-back that proved the resource compliant (the responder says remediated only after it). Median over the incidents (the mean of the two middle ones for an even count) and worst (the longest).',
  ],
];

/** The sentence that explains why the safeguard rows add up to more than the distinct total. */
export function citationNote(report: Report): string {
  const many = report.multiCitationIncidents;
  return `An incident that cites more than one safeguard counts under each of them (${many} incident${many === 1 ? '' : 's'} in this period do${many === 1 ? 'es' : ''}), so the safeguard rows can add up to more than the totals, which count each incident once.`;
}

/** Said when some statuses at the end of the period are estimates (incidents older than the history). */
export function statusNote(report: Report): string {
  const count = report.statusesNotKnown;
  if (count === 0) return 'Every status is the one recorded at the end of the period.';
  return `${count} incident${count === 1 ? '' : 's'} recorded before the responder kept a history of status changes, and changed since the end of the period, ${count === 1 ? 'shows' : 'show'} the status ${count === 1 ? 'it' : 'they'} had when ${count === 1 ? 'its' : 'their'} history began or today's, marked “not recorded then”.`;
}

export function periodLine(report: Report): string {
  return `Period: ${report.period.since} (included) to ${report.period.until} (excluded), UTC. Source: ${report.source}.`;
}

const list = (items: readonly string[]) => (items.length === 0 ? 'none' : items.join(', '));

/** What the incidents name that the recorded coverage does not. */
function outside(incidents: Coverage, recorded: Coverage): Coverage {
  return {
    accounts: incidents.accounts.filter((account) => !recorded.accounts.includes(account)),
    regions: incidents.regions.filter((region) => !recorded.regions.includes(region)),
  };
}

/**
 * Who made the report, when, and the accounts and regions covered: from the deployment history the
 * heartbeat recorded; from the incidents alone (and said so) when there is no readable history.
 */
export function generatedLine(report: Report): string {
  const generated = `Generated by ${report.generated.by} at ${report.generated.at}.`;
  const { recorded, incidents } = report.covered;
  if (recorded) {
    const extra = outside(incidents, recorded);
    const named = [
      extra.accounts.length > 0 ? `account(s) ${list(extra.accounts)}` : '',
      extra.regions.length > 0 ? `region(s) ${list(extra.regions)}` : '',
    ].filter((part) => part !== '');
    const also =
      named.length === 0
        ? ''
        : ` The period’s incidents also name, outside the recorded deployment: ${named.join('; ')}.`;
    return `${generated} Accounts: ${list(recorded.accounts)}. Regions: ${list(recorded.regions)} (from the deployment history the heartbeat recorded during the period: the home region and the regions the sweep covers).${also}`;
  }
  const why =
    report.deployment.history === 'unreadable'
      ? 'the deployment history item is unreadable and not used'
      : 'no deployment history was recorded for the period';
  const none = incidents.accounts.length === 0 ? ' (no incident in the period)' : '';
  return `${generated} Accounts: ${list(incidents.accounts)}. Regions: ${list(incidents.regions)} (only the accounts and regions of the period’s incidents${none}: ${why}).`;
}

/** The heartbeat's schedule (serverless.yml `rate(5 minutes)`): how often the modes are sampled. */
export const HEARTBEAT_INTERVAL = '5 minutes';

export const MODE_HEADER = [
  'rule',
  `mode in force (sampled by the heartbeat every ${HEARTBEAT_INTERVAL})`,
  'modes its incidents recorded',
];

export const modeCells = (line: ModeLine): string[] => {
  const counts = Object.entries(line.incidents).map(([mode, count]) => `${mode}: ${count}`);
  return [
    line.ruleId,
    line.spans
      .map(
        (span) =>
          `${span.mode}${span.changedOutsideDeployment ? ' (changed outside a deployment)' : ''} from ${span.from} to ${span.to}`,
      )
      .join('; '),
    counts.length === 0 ? 'no incident in the period' : counts.join(', '),
  ];
};

/** How the modes were recorded, and what was not. */
export function modesNote(report: Report): string {
  const { deployment, period } = report;
  const how = `The mode in force comes from the deployment history the heartbeat records: every ${HEARTBEAT_INTERVAL} it reads each rule’s mode from the rule’s own function (its live MODE_<ID>), compares them, the account, home region, swept regions and stage with its last record, and appends them, with the time, when any changed. The modes are sampled every ${HEARTBEAT_INTERVAL}: a change is dated when the heartbeat first saw it (up to ${HEARTBEAT_INTERVAL} late), and a change undone within ${HEARTBEAT_INTERVAL} may not be seen at all. “(changed outside a deployment)”: the function’s mode differed from what its deployment published (someone changed its configuration; the heartbeat reported it as a configuration problem). Today’s settings are never shown as the period’s. Each incident also records its rule’s mode when it ran. “not deployed”: the recorded deployment did not name the rule.`;
  if (deployment.history === 'unreadable')
    return `${how} The deployment history item is unreadable (${deployment.reason ?? 'unexpected shape'}): no mode in force is claimed from it.`;
  if (deployment.history === 'none' || deployment.recordedFrom === null)
    return `${how} No deployment history was recorded for this table: no mode in force is claimed (“not recorded”).`;
  return Date.parse(deployment.recordedFrom) > Date.parse(period.since)
    ? `${how} Modes before ${deployment.recordedFrom} were not recorded.`
    : how;
}

export const DEPLOYMENT_HEADER = ['from', 'to', 'account', 'home region', 'regions swept', 'stage'];

export const deploymentCells = (span: DeploymentSpan): string[] => [
  span.from,
  span.to,
  span.account,
  span.homeRegion,
  list(span.regions),
  span.stage,
];

export const DETAIL_HEADER = [
  'incident',
  'caused by',
  'mode',
  'what was done',
  'detected',
  'closed',
  'exposure',
  'undo',
  'runbook',
];

export const detailCells = (incident: IncidentLine): string[] => [
  incident.incidentId,
  incident.causedBy,
  incident.mode,
  incident.done,
  incident.detectedAt,
  incident.closedAt ?? `not closed at the end of the period (${incident.status})`,
  incident.exposureMs === null ? 'still exposed at the end' : formatDuration(incident.exposureMs),
  incident.undo ? `by ${incident.undo.by} at ${incident.undo.at}: ${incident.undo.reason}` : '–',
  incident.runbook,
];

export const GUARD_HEADER = ['tripped at', 'why', 'reset at', 'reset by', 'reset reason'];

export const guardCells = (line: GuardLine): string[] => [
  line.trippedAt,
  line.tripReason,
  line.resetAt ?? 'not reset when the report was made',
  line.resetBy ?? '–',
  line.resetReason ?? '–',
];

export const EXEMPTION_ACTIVE_HEADER = [...EXEMPTION_HEADER, 'removed at', 'removed by'];

export const exemptionActiveCells = (exemption: ExemptionActiveLine): string[] => [
  ...exemptionCells(exemption),
  exemption.removedAt ?? '–',
  exemption.removedBy ?? '–',
];

export const LOCKDOWN_HEADER = [
  'started at',
  'ordered by',
  'why',
  'went past',
  'paths',
  'outcome at the end of the period',
  'incidents',
];

/** How many paths a lockdown set out to close, and how many of them have no incident here. */
function lockdownPaths(line: LockdownLine): string {
  const exempt = line.pathsExempt ? `; ${line.pathsExempt} left alone (exempt)` : '';
  if (line.pathsToClose === null) {
    return `${line.incidentIds.length} closing (how many it set out to close was not recorded)${exempt}`;
  }
  const missing = line.withoutIncident
    ? ` (${line.withoutIncident} with no incident in the period: another incident was remediating the path, or its incident falls outside the period)`
    : '';
  return `${line.pathsToClose} to close${missing}${exempt}`;
}

export const lockdownCells = (line: LockdownLine): string[] => [
  line.startedAt,
  line.by,
  line.reason,
  [
    ...(line.emergency ? ['--emergency: the blast-radius guard (counted, not refused)'] : []),
    ...(line.exemptionsOverridden.length > 0
      ? [`--ignore-exemptions: exemption(s) ${line.exemptionsOverridden.join(', ')}`]
      : []),
  ].join('; ') || '–',
  lockdownPaths(line),
  // In the lifecycle's order, as the status columns.
  Object.values(IncidentStatus)
    .filter((status) => line.byStatus[status] !== undefined)
    .map((status) => `${status}: ${line.byStatus[status]}`)
    .join(', '),
  line.incidentIds.join(', '),
];
