import type { Exemption } from '../exemptions/ledger';
import type { DeploymentHistoryRead, DeploymentTransition } from '../health/deployment-history';
import { type Incident, type Mode, StepResult } from '../model';
import { closedAt, verifiedAt } from '../pipeline/exposure-window';
import type { GuardReset } from '../pipeline/guards';
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
  /** The period: incidents detected and grants issued at or after `since` and before `until`. */
  since: Date;
  until: Date;
  /** Citations shown even without incidents (every rule's), so "nothing found" is on the record too. */
  citations?: readonly string[];
  /** The safeguards an SSH grant is counted under: those of the rule that enforces grants. */
  grantCitations: readonly string[];
  /** Where the figures come from, as the reader should see it (table, region). */
  source: string;
  /** Every rule id in the registry, so a rule that recorded no mode in the period is said to. */
  ruleIds?: readonly string[];
  /**
   * The guard's reset history (each holds its trip) and its trip in force now, if any; an
   * organisation deployment's member accounts each have their own (their trip reasons name them).
   */
  guard?: GuardHistory | readonly GuardHistory[];
  /**
   * The deployment history the heartbeat recorded (shared/health/deployment-history.ts): the only
   * source of the modes in force and the regions covered. Absent: not read, nothing is claimed.
   */
  deployment?: DeploymentHistoryRead;
  /** Who made the report (the caller's ARN) and when. */
  generatedBy?: string;
  generatedAt?: Date;
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
  /**
   * Found incidents by their status at the end of the period: one entry per status of the lifecycle
   * (shared/pipeline/lifecycle.ts), in its order, so they always add up to `found`.
   */
  byStatus: Record<IncidentStatus, number>;
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
  /** The status at the end of the period. */
  status: IncidentStatus;
  /** False when no record says what it was then (see statusAt): the status shown is the best estimate. */
  statusKnown: boolean;
  account: string;
  region: string;
  resourceId: string;
  timeToRemediateMs: number | null;
  exemptUntil: string | null;
  /** Who made the change that drifted (CloudTrail's caller and source address), or why nobody is named. */
  causedBy: string;
  /** The rule's mode as the incident recorded it when it ran. */
  mode: Mode;
  /** The changes the responder made by the end of the period (succeeded steps), or "nothing changed". */
  done: string;
  /** When the drift ended (the change to remediated or resolved), by the end of the period; else null. */
  closedAt: string | null;
  /** Detection to closedAt: how long the resource was exposed; null while it still was at the end. */
  exposureMs: number | null;
  /** A person's undo that started by the end of the period. */
  undo: { by: string; at: string; reason: string } | null;
  runbook: string;
  /** The documented mitigation that resolved it (`incidents resolve --mitigation`): what, by whom, when. */
  mitigation: string | null;
  /** The `ssh lockdown` run that opened it (its LockdownLine), or null: not a lockdown's. */
  lockdownRunId: string | null;
}

/**
 * One `ssh lockdown` (a person's order to close every SSH path), from the incidents of the period it
 * opened: each holds the order (`Incident.lockdown`: who, why, when, the run id).
 */
export interface LockdownLine {
  runId: string;
  startedAt: string;
  /** Who ordered it (the caller's ARN) and why (`--reason`). */
  by: string;
  reason: string;
  /** `--emergency`: closed past the blast-radius guard (counted by it, never refused). */
  emergency: boolean;
  /** The open paths it set out to close; null when the lockdown did not record it (older records). */
  pathsToClose: number | null;
  /** The open paths it left alone because an exemption covered them; null when not recorded. */
  pathsExempt: number | null;
  /** Its incidents detected in the period, in detection order. */
  incidentIds: string[];
  /** Those incidents by their status at the end of the period (only the statuses present). */
  byStatus: Partial<Record<IncidentStatus, number>>;
  /**
   * Paths it set out to close that opened no incident (another incident was remediating the path),
   * or whose incident falls outside the period; null when pathsToClose was not recorded.
   */
  withoutIncident: number | null;
  /** The ledger exemptions it closed paths despite (`--ignore-exemptions`), by id. */
  exemptionsOverridden: string[];
}

export interface ExemptionActiveLine extends ExemptionLine {
  removedAt: string | null;
  removedBy: string | null;
}

export interface GuardLine {
  trippedAt: string;
  tripReason: string;
  /** Null: still tripped when the report was made. */
  resetAt: string | null;
  resetBy: string | null;
  resetReason: string | null;
}

/** Where the recorded history has no entry yet (before it starts, or none at all). */
export const NOT_RECORDED = 'not recorded';
/** A recorded deployment that does not name the rule (added to the registry later, or retired). */
export const NOT_DEPLOYED = 'not deployed';
export type ModeInForce = Mode | typeof NOT_RECORDED | typeof NOT_DEPLOYED;

/** A mode in force from `from` (included) to `to` (excluded), both within the period. */
export interface ModeSpan {
  mode: ModeInForce;
  from: string;
  to: string;
  /** The heartbeat saw this mode on the rule's function, not in what its deployment published. */
  changedOutsideDeployment?: true;
}

export interface ModeLine {
  ruleId: string;
  /** The modes in force during the period, from the recorded deployment history, in time order. */
  spans: ModeSpan[];
  /** How many of the rule's incidents in the period recorded each mode; empty when none did. */
  incidents: Partial<Record<Mode, number>>;
}

/** The recorded deployment in force from `from` to `to` within the period. */
export interface DeploymentSpan {
  from: string;
  to: string;
  account: string;
  homeRegion: string;
  regions: string[];
  stage: string;
}

export interface DeploymentLine {
  /** recorded: the heartbeat's history was read; none: there is none; unreadable: its item failed validation. */
  history: 'recorded' | 'none' | 'unreadable';
  /** Why the item was unreadable (the first validation issue). */
  reason?: string;
  /** The oldest recorded transition: nothing before it was recorded (null: no history). */
  recordedFrom: string | null;
  spans: DeploymentSpan[];
}

export interface Coverage {
  accounts: string[];
  regions: string[];
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
  /** Incidents whose status at the end of the period no record gives (statusKnown false). */
  statusesNotKnown: number;
  safeguards: SafeguardRow[];
  weeks: WeekRow[];
  incidents: IncidentLine[];
  grants: GrantLine[];
  /** Ledger exemptions in force at the end of the period, soonest end first. */
  exemptions: ExemptionLine[];
  /** Every ledger exemption in force at any time in the period, by when it was set. */
  exemptionsActive: ExemptionActiveLine[];
  /** Guard trips in force at any time in the period, with their reset. */
  guard: GuardLine[];
  /** Every `ssh lockdown` with an incident detected in the period, by when it started. */
  lockdowns: LockdownLine[];
  modes: ModeLine[];
  /** The recorded deployment during the period. */
  deployment: DeploymentLine;
  generated: { by: string; at: string };
  covered: {
    /** The home and swept regions and the account of the recorded deployment during the period; null: none recorded. */
    recorded: Coverage | null;
    /** The accounts and regions the period's incidents name. */
    incidents: Coverage;
  };
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
 * Detection to verified remediation, for incidents remediated by `at` (their status then; by default
 * their status now).
 */
export function timeToRemediateMs(
  incident: Incident,
  status: IncidentStatus = incident.status,
): number | null {
  if (status !== IncidentStatus.Remediated) return null;
  return Math.max(0, Date.parse(verifiedAt(incident)) - Date.parse(incident.detectedAt));
}

/** An incident's status at a time, and whether a record says so (else it is the best estimate). */
export interface StatusAt {
  status: IncidentStatus;
  known: boolean;
}

/**
 * The status an incident had at `at`, from its recorded history (Incident.transitions), so a report
 * for a past period does not change when an incident moves today:
 * - nothing written since `at` (updatedAt at or before it): today's status, known;
 * - else the last recorded change at or before `at`, known (every change since the history began is
 *   recorded, unless it filled up before `at`: then today's status, not known);
 * - an incident recorded before the history existed, whose history begins after `at`: the status
 *   its history starts from (the one it had when first moved since), not known: an earlier move,
 *   between `at` and then, left no record;
 * - one with no history at all, changed since `at`: today's status, not known.
 */
export function statusAt(incident: Incident, at: Date): StatusAt {
  const time = at.getTime();
  if (Date.parse(incident.updatedAt) <= time) return { status: incident.status, known: true };
  const truncatedAt = incident.transitionsTruncatedAt;
  if (truncatedAt !== undefined && Date.parse(truncatedAt) <= time) {
    return { status: incident.status, known: false };
  }
  const history = incident.transitions ?? [];
  const last = history.filter((transition) => Date.parse(transition.at) <= time).at(-1);
  if (last) return { status: last.to, known: true };
  const first = history[0];
  if (first === undefined) return { status: incident.status, known: false };
  // An opening entry after `at`: the incident did not exist yet; its opening status stands in.
  return first.from === undefined ? { status: first.to, known: true } : { status: first.from, known: false };
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

/** An incident of the period with its status at the period's end. */
interface Judged {
  incident: Incident;
  at: StatusAt;
}

function figuresOf(judged: readonly Judged[], grantsIssued: number, exemptionsInForce: number): Figures {
  const byStatus = Object.fromEntries(
    Object.values(IncidentStatus).map((status) => [
      status,
      judged.filter(({ at }) => at.status === status).length,
    ]),
  ) as Record<IncidentStatus, number>;
  const timed = judged.flatMap(({ incident, at }) => {
    const ms = timeToRemediateMs(incident, at.status);
    return ms === null ? [] : [{ incidentId: incident.incidentId, ms }];
  });
  const worst = timed.reduce<(typeof timed)[number] | undefined>(
    (max, entry) => (max === undefined || entry.ms > max.ms ? entry : max),
    undefined,
  );
  return {
    found: judged.length,
    byStatus,
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

/** From `since` included to `until` excluded, so consecutive periods count each record once. */
const inPeriod = (time: string, since: Date, until: Date): boolean => {
  const at = Date.parse(time);
  return at >= since.getTime() && at < until.getTime();
};

function exposure(
  incident: Incident,
  status: IncidentStatus,
  until: Date,
): { closedAt: string | null; exposureMs: number | null } {
  const closed = closedAt(incident, status, until);
  return {
    closedAt: closed,
    exposureMs: closed === null ? null : Math.max(0, Date.parse(closed) - Date.parse(incident.detectedAt)),
  };
}

function causedBy(incident: Incident): string {
  const who = incident.actor?.arn ?? incident.actor?.principalId;
  if (who) return incident.actor?.sourceIp ? `${who} from ${incident.actor.sourceIp}` : who;
  // The drift's author is still unknown; the incident exists because a person ordered a lockdown.
  if (incident.lockdown) {
    return `unknown (found by ssh lockdown, which ${incident.lockdown.by} ordered; not a CloudTrail event)`;
  }
  return 'unknown (found by a check, not a CloudTrail event)';
}

/** Who ordered an `ssh lockdown`, when, why, and what the order went past. */
function orderWords(lockdown: NonNullable<Incident['lockdown']>): string {
  const past = [
    ...(lockdown.emergency ? ['--emergency: past the blast-radius guard'] : []),
    ...(lockdown.exemptionOverridden
      ? [`--ignore-exemptions: overrode exemption ${lockdown.exemptionOverridden.exemptionId}`]
      : []),
  ];
  return `ordered by ${lockdown.by} at ${lockdown.startedAt} with ssh lockdown (run ${lockdown.runId}${past.map((part) => `; ${part}`).join('')}), reason: ${lockdown.reason}`;
}

function doneBy(incident: Incident, until: Date): string {
  const done = incident.steps
    .filter((step) => step.result === StepResult.Succeeded && Date.parse(step.at) < until.getTime())
    .map((step) => step.action);
  const what = done.length === 0 ? 'nothing changed' : done.join(', ');
  return incident.lockdown ? `${orderWords(incident.lockdown)}: ${what}` : what;
}

/** Each `ssh lockdown` that opened an incident of the period, from the order its incidents hold. */
function lockdownLines(judged: readonly Judged[]): LockdownLine[] {
  const byRun = new Map<string, Judged[]>();
  for (const entry of judged) {
    const runId = entry.incident.lockdown?.runId;
    if (runId !== undefined) byRun.set(runId, [...(byRun.get(runId) ?? []), entry]);
  }
  return [...byRun.entries()]
    .map(([runId, entries]) => {
      // Every incident of a run holds the same order; the first one opened speaks for it.
      const order = entries[0]?.incident.lockdown as NonNullable<Incident['lockdown']>;
      const byStatus: Partial<Record<IncidentStatus, number>> = {};
      for (const { at } of entries) byStatus[at.status] = (byStatus[at.status] ?? 0) + 1;
      const overridden = entries.flatMap(({ incident }) =>
        incident.lockdown?.exemptionOverridden ? [incident.lockdown.exemptionOverridden.exemptionId] : [],
      );
      return {
        runId,
        startedAt: order.startedAt,
        by: order.by,
        reason: order.reason,
        emergency: order.emergency === true,
        pathsToClose: order.pathsToClose ?? null,
        pathsExempt: order.pathsExempt ?? null,
        incidentIds: entries.map(({ incident }) => incident.incidentId),
        byStatus,
        withoutIncident:
          order.pathsToClose === undefined ? null : Math.max(0, order.pathsToClose - entries.length),
        exemptionsOverridden: [...new Set(overridden)].sort(),
      };
    })
    .sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.runId.localeCompare(b.runId));
}

/** In force at some time in [since, until): set before the end, and neither removed nor ended by the start. */
const activeDuring = (exemption: Exemption, since: Date, until: Date): boolean =>
  Date.parse(exemption.setAt) < until.getTime() &&
  (exemption.removedAt === undefined || Date.parse(exemption.removedAt) > since.getTime()) &&
  Date.parse(exemption.until) > since.getTime();

export interface GuardHistory {
  resets: readonly GuardReset[];
  tripped?: { trippedAt: string; reason: string };
}

function guardLines(guard: GuardHistory, since: Date, until: Date): GuardLine[] {
  const touches = (trippedAt: string, resetAt: string | null) =>
    Date.parse(trippedAt) < until.getTime() && (resetAt === null || Date.parse(resetAt) > since.getTime());
  const lines: GuardLine[] = guard.resets.map((reset) => ({
    trippedAt: reset.trippedAt,
    tripReason: reset.tripReason,
    resetAt: reset.resetAt,
    resetBy: reset.resetBy,
    resetReason: reset.reason,
  }));
  if (guard.tripped) {
    lines.push({
      trippedAt: guard.tripped.trippedAt,
      tripReason: guard.tripped.reason,
      resetAt: null,
      resetBy: null,
      resetReason: null,
    });
  }
  return lines
    .filter((line) => touches(line.trippedAt, line.resetAt))
    .sort((a, b) => a.trippedAt.localeCompare(b.trippedAt));
}

/**
 * The recorded transitions in force during [since, until): the one in force at `since` (from
 * `since`), then each made inside the period. A period that starts before the history does starts
 * with a stretch of nothing recorded (facts null).
 */
function recordedSpans(
  transitions: readonly DeploymentTransition[],
  since: Date,
  until: Date,
): { from: string; to: string; facts: DeploymentTransition | null }[] {
  const start = since.getTime();
  const end = until.getTime();
  const atStart = transitions.filter((entry) => Date.parse(entry.at) <= start).at(-1);
  const inside = transitions.filter((entry) => {
    const at = Date.parse(entry.at);
    return at > start && at < end;
  });
  const points = [
    { from: since.toISOString(), facts: atStart ?? null },
    ...inside.map((entry) => ({ from: entry.at, facts: entry })),
  ];
  // Two records at one time (a lagging clock's is dated at the last): the later one stands.
  return points
    .map((point, index) => ({ ...point, to: points[index + 1]?.from ?? until.toISOString() }))
    .filter((span) => Date.parse(span.from) < Date.parse(span.to));
}

function deploymentLine(
  read: DeploymentHistoryRead | undefined,
  spans: ReturnType<typeof recordedSpans>,
): DeploymentLine {
  if (read === undefined || read.state === 'none') return { history: 'none', recordedFrom: null, spans: [] };
  if (read.state === 'unreadable')
    return { history: 'unreadable', reason: read.reason, recordedFrom: null, spans: [] };
  return {
    history: 'recorded',
    recordedFrom: read.transitions[0]?.at ?? null,
    spans: spans.flatMap(({ from, to, facts }) =>
      facts
        ? [
            {
              from,
              to,
              account: facts.account,
              homeRegion: facts.homeRegion,
              regions: [...facts.regions],
              stage: facts.stage,
            },
          ]
        : [],
    ),
  };
}

function modeLines(
  incidents: readonly Incident[],
  ruleIds: readonly string[],
  spans: ReturnType<typeof recordedSpans>,
): ModeLine[] {
  const recordedIds = spans.flatMap(({ facts }) => Object.keys(facts?.modes ?? {}));
  const ids = [
    ...new Set([...ruleIds, ...recordedIds, ...incidents.map((incident) => incident.ruleId)]),
  ].sort();
  return ids.map((ruleId) => {
    const counts: Partial<Record<Mode, number>> = {};
    for (const incident of incidents.filter((candidate) => candidate.ruleId === ruleId)) {
      counts[incident.mode] = (counts[incident.mode] ?? 0) + 1;
    }
    // One span per mode in force: a transition that changed something else continues the last one.
    const modeSpans: ModeSpan[] = [];
    for (const { from, to, facts } of spans) {
      const mode: ModeInForce = facts === null ? NOT_RECORDED : (facts.modes[ruleId] ?? NOT_DEPLOYED);
      const outside = facts?.modesChangedOutsideDeployment?.includes(ruleId) === true;
      const last = modeSpans.at(-1);
      if (last?.mode === mode && (last.changedOutsideDeployment === true) === outside) last.to = to;
      else modeSpans.push({ mode, from, to, ...(outside && { changedOutsideDeployment: true as const }) });
    }
    return { ruleId, spans: modeSpans, incidents: counts };
  });
}

const coverageOf = (items: readonly { account: string; regions: readonly string[] }[]): Coverage => ({
  accounts: [...new Set(items.map((item) => item.account))].sort(),
  regions: [...new Set(items.flatMap((item) => item.regions))].sort(),
});

const exemptionLine = (exemption: CitedExemption): ExemptionLine => ({
  exemptionId: exemption.exemptionId,
  ruleId: exemption.ruleId,
  hipaa: [...exemption.hipaa],
  resourceArn: exemption.resourceArn,
  setBy: exemption.setBy,
  setAt: exemption.setAt,
  until: exemption.until,
  reason: exemption.reason,
});

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
  const judged: Judged[] = incidents.map((incident) => ({ incident, at: statusAt(incident, until) }));
  // Only a readable recorded history says what was in force; otherwise the period is "not recorded".
  const spans =
    input.deployment?.state === 'recorded'
      ? recordedSpans(input.deployment.transitions, since, until)
      : [{ from: since.toISOString(), to: until.toISOString(), facts: null }];
  const deployment = deploymentLine(input.deployment, spans);

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
      judged.filter(({ incident }) => incident.hipaa.includes(citation)),
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
    totals: figuresOf(judged, grants.length, exemptions.length),
    multiCitationIncidents: incidents.filter((incident) => incident.hipaa.length > 1).length,
    statusesNotKnown: judged.filter(({ at }) => !at.known).length,
    safeguards,
    weeks,
    incidents: judged.map(({ incident, at }) => ({
      incidentId: incident.incidentId,
      detectedAt: incident.detectedAt,
      ruleId: incident.ruleId,
      severity: incident.severity,
      hipaa: [...incident.hipaa],
      status: at.status,
      statusKnown: at.known,
      account: incident.account,
      region: incident.region,
      resourceId: incident.resourceId,
      timeToRemediateMs: timeToRemediateMs(incident, at.status),
      exemptUntil: exemptionById.get(incident.exemption?.exemptionId ?? '')?.until ?? null,
      causedBy: causedBy(incident),
      mode: incident.mode,
      done: doneBy(incident, until),
      ...exposure(incident, at.status, until),
      undo:
        incident.undo && Date.parse(incident.undo.startedAt) < until.getTime()
          ? {
              by: incident.undo.by,
              at: incident.undo.startedAt,
              reason: incident.undo.reason ?? '(not recorded)',
            }
          : null,
      runbook: incident.runbook,
      mitigation:
        incident.mitigation && Date.parse(incident.mitigation.at) < until.getTime()
          ? `${incident.mitigation.text} (by ${incident.mitigation.by} at ${incident.mitigation.at})`
          : null,
      lockdownRunId: incident.lockdown?.runId ?? null,
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
    exemptions: exemptions.map(exemptionLine),
    exemptionsActive: input.exemptions
      .filter((exemption) => activeDuring(exemption, since, until))
      .sort((a, b) => a.setAt.localeCompare(b.setAt) || a.exemptionId.localeCompare(b.exemptionId))
      .map((exemption) => ({
        ...exemptionLine(exemption),
        removedAt: exemption.removedAt ?? null,
        removedBy: exemption.removedBy ?? null,
      })),
    guard: [input.guard ?? []]
      .flat()
      .flatMap((history) => guardLines(history, since, until))
      .sort((a, b) => a.trippedAt.localeCompare(b.trippedAt)),
    lockdowns: lockdownLines(judged),
    modes: modeLines(incidents, input.ruleIds ?? [], spans),
    deployment,
    generated: {
      by: input.generatedBy ?? 'unknown',
      at: (input.generatedAt ?? until).toISOString(),
    },
    covered: {
      // The home region takes the events; the swept regions are checked on schedule.
      recorded:
        deployment.spans.length === 0
          ? null
          : coverageOf(
              deployment.spans.map((span) => ({ ...span, regions: [span.homeRegion, ...span.regions] })),
            ),
      incidents: coverageOf(
        incidents.map((incident) => ({ account: incident.account, regions: [incident.region] })),
      ),
    },
  };
}
