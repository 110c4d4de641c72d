import type { Incident, MitigationRecord } from '../shared/model';
import { buildMitigationAlert } from '../shared/pipeline/human-alerts';
import { IncidentStatus, moveIncident } from '../shared/pipeline/lifecycle';
import { rules } from '../shared/rules';
import type { CliContext } from './context';
import { CliError, UsageError } from './errors';
import { findIncident, incidentStore } from './incidents-store';
import { inTable } from './ledger-access';
import { tellOnCall } from './on-call';

/** Long enough for a ticket and a paragraph, short enough for an alert and a report cell. */
const MITIGATION_LIMIT = 1024;

export function checkMitigation(text: string): string {
  const trimmed = text.trim();
  if (trimmed.length < 3)
    throw new UsageError('--mitigation must say what reduces the risk (a ticket or a sentence)');
  if (trimmed.length > MITIGATION_LIMIT)
    throw new UsageError(
      `--mitigation is longer than ${MITIGATION_LIMIT} characters: link a ticket for the rest`,
    );
  return trimmed;
}

/** Why this incident cannot take a mitigation, or undefined when it can. */
function refusal(incident: Incident): string | undefined {
  const id = incident.incidentId;
  // Reopened by a finding its mitigation did not cover (open again): it takes one more.
  if (incident.mitigation && incident.status !== IncidentStatus.Open)
    return `incident ${id} already has a mitigation, recorded by ${incident.mitigation.by} at ${incident.mitigation.at}: a further one is taken only once a finding it did not cover reopens the incident; see incidents show ${id}`;
  const rule = rules.find((candidate) => candidate.id === incident.ruleId);
  if (!rule?.endsWithMitigation)
    return `incident ${id} is of ${incident.ruleId}, whose incidents end when the resource is fixed, not with a mitigation: nothing was recorded`;
  if (incident.status !== IncidentStatus.Open)
    return `incident ${id} is ${incident.status}, not open: only an open incident takes a mitigation; nothing was recorded`;
  return undefined;
}

const countOf = (incident: Incident) => incident.findingsTotal ?? incident.findings?.length ?? 0;

/** One line: the findings a mitigation of the incident would cover, as read now. */
export function coverageOf(incident: Incident, shown = 20): string {
  const findings = incident.findings;
  if (!findings)
    return `the mitigation of ${incident.incidentId} covers the incident as it stands (no findings listed)`;
  const listed = findings
    .slice(0, shown)
    .map((finding) => `${finding.id} (${finding.severity})`)
    .join(', ');
  const more =
    countOf(incident) > shown ? `, … (${countOf(incident)} in all; incidents show lists them)` : '';
  return `the mitigation of ${incident.incidentId} covers ${countOf(incident)} finding(s): ${listed}${more}`;
}

export interface Resolved {
  incident: Incident;
  mitigation: MitigationRecord;
  /** The status it has now: resolved, or what another writer moved it to first. */
  status: Incident['status'];
  messageId: string;
}

/**
 * `incidents resolve <id> --mitigation "…"`: prints the findings the incident holds now and records
 * the mitigation (text, caller, time, and those findings, which it covers) only if the incident is
 * still as read (its updatedAt): a finding that joined in between is never covered unseen. Moves the open incident to resolved through the
 * lifecycle, and alerts on-call. The drift lock stays with the incident: later scans of the same
 * resource join it, never open another; one bringing a finding the mitigation did not cover reopens
 * it, and it then takes one more mitigation (the earlier one kept in earlierMitigations).
 */
export async function resolveIncident(
  ctx: CliContext,
  incidentId: string,
  text: string,
  tell: (line: string) => void = (line) => ctx.io.out(line),
): Promise<Resolved> {
  const incident = await findIncident(ctx, incidentId);
  const refused = refusal(incident);
  if (refused) throw new CliError(refused);
  // The person sees what the mitigation will cover; the write below holds only if that is still so.
  tell(coverageOf(incident));
  const caller = await ctx.caller();
  // Resolved before the change, so a missing topic stops it before anything is recorded.
  const onCall = await ctx.onCall();
  const mitigation: MitigationRecord = {
    text,
    by: caller.arn,
    at: ctx.now().toISOString(),
    ...(incident.findings && { covers: incident.findings }),
    ...(incident.findingsTotal !== undefined && { coversTotal: incident.findingsTotal }),
  };
  const store = incidentStore(ctx);
  const recorded = await inTable(ctx, () =>
    store.recordMitigation(incidentId, mitigation, incident.mitigation, incident.updatedAt),
  );
  if (!recorded) {
    const now = await findIncident(ctx, incidentId);
    const refusedNow = refusal(now);
    if (refusedNow) throw new CliError(refusedNow);
    if (now.updatedAt !== incident.updatedAt)
      throw new CliError(
        `incident ${incidentId} changed since it was read (updated at ${now.updatedAt}; it holds ${countOf(now)} finding(s) now): nothing was recorded; run incidents resolve again to see what the mitigation would cover`,
      );
    throw new CliError(`incident ${incidentId} already has a mitigation`);
  }
  const move = await moveIncident(
    store,
    incident,
    IncidentStatus.Resolved,
    `mitigation recorded by ${mitigation.by}`,
  );
  const status = move.moved ? IncidentStatus.Resolved : move.current.status;
  const messageId = await tellOnCall(
    onCall,
    buildMitigationAlert({ ...incident, status }, mitigation),
    `the mitigation was recorded in ${incidentId}`,
  );
  return { incident: { ...incident, status, mitigation }, mitigation, status, messageId };
}
