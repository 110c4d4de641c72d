import type { Exemption } from '../exemptions/ledger';
import { type Incident, StepResult } from '../model';
import { IncidentStatus } from '../pipeline/lifecycle';
import { type Grant, GrantKind } from '../ssh/grant-ledger';
import { compareCitations, safeguardName } from './safeguards';

/**
 * The auditor's figures, computed from incidents, SSH grants and the exemptions ledger alone (pure:
 * no AWS, no clock), so the Markdown and the HTML say the same thing and tests can build any history
 * by hand.
 */

/** A ledger exemption with the HIPAA citations of its rule (from the rules registry). */
export interface CitedExemption extends Exemption {
  readonly hipaa: readonly string[];
}

export interface ReportInput {
  incidents: readonly Incident[];
  grants: readonly Grant[];
  /** Ledger exemptions, at least every one ending after `until` (removed ones included: they are filtered here). */
  exemptions: readonly CitedExemption[];
  /** The period: incidents detected and grants issued at or after `since`, up to `until` (now). */
  since: Date;
  until: Date;
  /** Citations shown even without incidents (every rule's), so "nothing found" is on the record too. */
  citations?: readonly string[];
  /** The safeguards an SSH grant is counted under: those of the rule that enforces grants. */
  grantCitations: readonly string[];
  /** Where the figures come from, as the reader should see it (table, region). */
  source: string;
}

export interface TimeToRemediate {
  /** How many remediated incidents the figures cover. */
  count: number;
  medianMs: number | null;
  worstMs: number | null;
  worstIncidentId: string | null;
}

export interface Figures {
  found: number;
  remediated: number;
  /** Found compliant again by a later check without the responder changing it. */
  resolved: number;
  /** Not closed yet: open (notify mode, declined, guard) or still remediating. */
  open: number;
  failed: number;
  exemptionsInForce: number;
  grantsIssued: number;
  timeToRemediate: TimeToRemediate;
}

export interface SafeguardRow extends Figures {
  citation: string;
  name: string;
}

export interface WeekRow {
  /** Monday 00:00 UTC that starts the week. */
  start: string;
  /** Incidents detected that week, by citation (an incident with two citations counts under each). */
  bySafeguard: Record<string, number>;
  /** Distinct incidents detected that week. */
  total: number;
}

export interface IncidentLine {
  incidentId: string;
  detectedAt: string;
  ruleId: string;
  severity: string;
  hipaa: string[];
  status: string;
  account: string;
  region: string;
  resourceId: string;
  timeToRemediateMs: number | null;
  exemptUntil: string | null;
  /** The documented mitigation that resolved it (`incidents resolve --mitigation`): what, by whom, when. */
  mitigation: string | null;
}

export interface GrantLine {
  grantId: string;
  kind: string;
  target: string;
  grantedTo: string;
  grantedBy: string;
  reason: string;
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
}

export interface ExemptionLine {
  exemptionId: string;
  ruleId: string;
  hipaa: string[];
  resourceArn: string;
  setBy: string;
  setAt: string;
  until: string;
  reason: string;
}

export interface Report {
  source: string;
  period: { since: string; until: string };
  /** Distinct incidents and grants (each counted once, whatever its citations). */
  totals: Figures;
  /** Incidents that cite more than one safeguard (they appear in each safeguard's row). */
  multiCitationIncidents: number;
  safeguards: SafeguardRow[];
  weeks: WeekRow[];
  incidents: IncidentLine[];
  grants: GrantLine[];
  /** Ledger exemptions in force at the end of the period, soonest end first. */
  exemptions: ExemptionLine[];
}

const WEEK_MS = 7 * 24 * 3600 * 1000;

/**
 * Whether a ledger exemption was in force at `at` (the report's end): set at or before it, not
 * removed by then, and ending after it. The ledger is the source because only it knows an exemption
 * removed early; an incident's copy of its exemption never learns of the removal.
 */
export function exemptionInForce(exemption: Exemption, at: Date): boolean {
  const time = at.getTime();
  return (
    Date.parse(exemption.setAt) <= time &&
    (exemption.removedAt === undefined || Date.parse(exemption.removedAt) > time) &&
    Date.parse(exemption.until) > time
  );
}

/**
 * When the remediation was verified: the successful Verify step (the read-back that proved the
 * resource compliant; the pipeline says remediated only after it). Steps record their start, so this is
 * when the proving read began. Records without one fall back to the last succeeded step, then updatedAt.
 */
export function verifiedAt(incident: Incident): string {
  const succeeded = incident.steps.filter((step) => step.result === StepResult.Succeeded);
  const verify = succeeded.filter((step) => step.action === 'Verify').at(-1);
  return (verify ?? succeeded.at(-1))?.at ?? incident.updatedAt;
}

/** Detection to verified remediation, for remediated incidents only. */
export function timeToRemediateMs(incident: Incident): number | null {
  if (incident.status !== IncidentStatus.Remediated) return null;
  return Math.max(0, Date.parse(verifiedAt(incident)) - Date.parse(incident.detectedAt));
}

/** The middle value (the mean of the two middle ones for an even count); null for none. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const upper = sorted[middle] as number;
  return sorted.length % 2 === 1 ? upper : ((sorted[middle - 1] as number) + upper) / 2;
}

/** Monday 00:00 UTC of the week holding `time`. */
export function weekStart(time: Date): Date {
  const day = new Date(Date.UTC(time.getUTCFullYear(), time.getUTCMonth(), time.getUTCDate()));
  const sinceMonday = (day.getUTCDay() + 6) % 7;
  return new Date(day.getTime() - sinceMonday * 24 * 3600 * 1000);
}

function figuresOf(incidents: readonly Incident[], grantsIssued: number, exemptionsInForce: number): Figures {
  const count = (status: IncidentStatus) => incidents.filter((incident) => incident.status === status).length;
  const timed = incidents.flatMap((incident) => {
    const ms = timeToRemediateMs(incident);
    return ms === null ? [] : [{ incidentId: incident.incidentId, ms }];
  });
  const worst = timed.reduce<(typeof timed)[number] | undefined>(
    (max, entry) => (max === undefined || entry.ms > max.ms ? entry : max),
    undefined,
  );
  return {
    found: incidents.length,
    remediated: count(IncidentStatus.Remediated),
    resolved: count(IncidentStatus.Resolved),
    open: count(IncidentStatus.Open) + count(IncidentStatus.Remediating),
    failed: count(IncidentStatus.Failed),
    exemptionsInForce,
    grantsIssued,
    timeToRemediate: {
      count: timed.length,
      medianMs: median(timed.map((entry) => entry.ms)),
      worstMs: worst?.ms ?? null,
      worstIncidentId: worst?.incidentId ?? null,
    },
  };
}

function describeGrantTarget(grant: Grant): string {
  if (grant.kind === GrantKind.IamSshKey) return `IAM user ${grant.target.userName}`;
  const { region, groupId, cidr, port } = grant.target;
  return `${groupId} ${cidr} port ${port} (${region})`;
}

const inPeriod = (time: string, since: Date, until: Date): boolean => {
  const at = Date.parse(time);
  return at >= since.getTime() && at <= until.getTime();
};

export function aggregate(input: ReportInput): Report {
  const { since, until } = input;
  const incidents = input.incidents
    .filter((incident) => inPeriod(incident.detectedAt, since, until))
    .sort((a, b) => a.detectedAt.localeCompare(b.detectedAt) || a.incidentId.localeCompare(b.incidentId));
  const grants = input.grants
    .filter((grant) => inPeriod(grant.createdAt, since, until))
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.grantId.localeCompare(b.grantId));
  // State at the end of the period, not activity within it: an exemption set before `since` counts.
  const exemptions = input.exemptions
    .filter((exemption) => exemptionInForce(exemption, until))
    .sort((a, b) => a.until.localeCompare(b.until) || a.exemptionId.localeCompare(b.exemptionId));
  const exemptionById = new Map(exemptions.map((exemption) => [exemption.exemptionId, exemption]));

  const citations = [
    ...new Set([
      ...(input.citations ?? []),
      ...input.grantCitations,
      ...exemptions.flatMap((exemption) => exemption.hipaa),
      ...incidents.flatMap((incident) => incident.hipaa),
    ]),
  ].sort(compareCitations);
  const safeguards = citations.map((citation) => ({
    citation,
    name: safeguardName(citation),
    ...figuresOf(
      incidents.filter((incident) => incident.hipaa.includes(citation)),
      input.grantCitations.includes(citation) ? grants.length : 0,
      exemptions.filter((exemption) => exemption.hipaa.includes(citation)).length,
    ),
  }));

  const weeks: WeekRow[] = [];
  for (let start = weekStart(since); start <= until; start = new Date(start.getTime() + WEEK_MS)) {
    const end = start.getTime() + WEEK_MS;
    const detected = incidents.filter((incident) => {
      const at = Date.parse(incident.detectedAt);
      return at >= start.getTime() && at < end;
    });
    const bySafeguard: Record<string, number> = {};
    for (const citation of citations) {
      bySafeguard[citation] = detected.filter((incident) => incident.hipaa.includes(citation)).length;
    }
    weeks.push({ start: start.toISOString(), bySafeguard, total: detected.length });
  }

  return {
    source: input.source,
    period: { since: since.toISOString(), until: until.toISOString() },
    totals: figuresOf(incidents, grants.length, exemptions.length),
    multiCitationIncidents: incidents.filter((incident) => incident.hipaa.length > 1).length,
    safeguards,
    weeks,
    incidents: incidents.map((incident) => ({
      incidentId: incident.incidentId,
      detectedAt: incident.detectedAt,
      ruleId: incident.ruleId,
      severity: incident.severity,
      hipaa: [...incident.hipaa],
      status: incident.status,
      account: incident.account,
      region: incident.region,
      resourceId: incident.resourceId,
      timeToRemediateMs: timeToRemediateMs(incident),
      exemptUntil: exemptionById.get(incident.exemption?.exemptionId ?? '')?.until ?? null,
      mitigation: incident.mitigation
        ? `${incident.mitigation.text} (by ${incident.mitigation.by} at ${incident.mitigation.at})`
        : null,
    })),
    grants: grants.map((grant) => ({
      grantId: grant.grantId,
      kind: grant.kind,
      target: describeGrantTarget(grant),
      grantedTo: grant.grantedTo,
      grantedBy: grant.grantedBy,
      reason: grant.reason,
      createdAt: grant.createdAt,
      expiresAt: grant.expiresAt,
      revokedAt: grant.revokedAt ?? null,
    })),
    exemptions: exemptions.map((exemption) => ({
      exemptionId: exemption.exemptionId,
      ruleId: exemption.ruleId,
      hipaa: [...exemption.hipaa],
      resourceArn: exemption.resourceArn,
      setBy: exemption.setBy,
      setAt: exemption.setAt,
      until: exemption.until,
      reason: exemption.reason,
    })),
  };
}
