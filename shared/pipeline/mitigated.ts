import type { FindingRef, Incident, MitigationRecord, Summary } from '../model';
import type { Finding } from '../rules/rule';
import type { PipelineContext } from './context';
import { IncidentStatus, moveIncident } from './lifecycle';
import { alert } from './notify';

/**
 * Incidents that end with a documented mitigation (Rule.endsWithMitigation): one incident stands
 * while findings arrive and clear, and a mitigation covers the findings it held when recorded.
 */

/** The most findings an incident keeps by id (DynamoDB items are capped at 400 KB; ids are short). */
export const MAX_FINDING_REFS = 500;
const ID_LIMIT = 128;
const SEVERITY_LIMIT = 32;
/** Scanners' severities, lowest first (ECR, Inspector, ASFF); an unknown one ranks below them all. */
const SEVERITY_ORDER = ['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'];
const rank = (severity: string) => SEVERITY_ORDER.indexOf(severity);
/** A status reason stays readable in an alert's subject line and body. */
const REASON_LIMIT = 500;

/** Ids and severities only, bounded: what an incident and a mitigation keep of each finding. */
export const boundedFindings = (findings: readonly FindingRef[]): FindingRef[] =>
  findings.slice(0, MAX_FINDING_REFS).map(({ id, severity }) => ({
    id: id.slice(0, ID_LIMIT),
    severity: severity.slice(0, SEVERITY_LIMIT),
  }));

/**
 * What an incident keeps of its findings: the first MAX_FINDING_REFS (ids in the rule's order), and
 * how many there were when that cut some, so growth beyond them can still be told.
 */
export function findingsRecordOf(findings: readonly FindingRef[]): {
  findings: FindingRef[];
  findingsTotal?: number;
} {
  return {
    findings: boundedFindings(findings),
    ...(findings.length > MAX_FINDING_REFS && { findingsTotal: findings.length }),
  };
}

/**
 * How many findings exceed what a mitigation covered by count: with its list cut at
 * MAX_FINDING_REFS, a finding past the cut has no id to compare, so any growth is uncovered.
 */
export function beyondCovered(mitigation: MitigationRecord, total: number): number {
  if (!mitigation.covers) return 0;
  return Math.max(0, total - (mitigation.coversTotal ?? mitigation.covers.length));
}

/**
 * The findings a mitigation does not cover: not among those it covered, or rated higher since (a
 * mitigation of a HIGH finding says nothing about it as a CRITICAL one). A mitigation recorded
 * before covered findings were kept covers everything, as it did.
 */
export function uncoveredBy(mitigation: MitigationRecord, findings: readonly FindingRef[]): FindingRef[] {
  if (!mitigation.covers) return [];
  const covered = new Map(mitigation.covers.map((finding) => [finding.id, finding.severity]));
  return findings.filter((finding) => {
    const was = covered.get(finding.id);
    return was === undefined || rank(finding.severity) > rank(was);
  });
}

const named = (findings: readonly FindingRef[], shown = 10) =>
  `${findings
    .slice(0, shown)
    .map((finding) => `${finding.id} (${finding.severity})`)
    .join(', ')}${findings.length > shown ? `, … (${findings.length} in all)` : ''}`;

const sameFinding = (
  incident: Incident,
  next: { reason: string; evidence: Summary; findings?: FindingRef[]; findingsTotal?: number },
): boolean =>
  incident.reason === next.reason &&
  JSON.stringify(incident.evidence) === JSON.stringify(next.evidence) &&
  JSON.stringify(incident.findings ?? null) === JSON.stringify(next.findings ?? null) &&
  incident.findingsTotal === next.findingsTotal;

/**
 * A delivery that found drift the incident already holds: the incident says what is found now
 * (never a second incident). Once mitigated, a finding the mitigation did not cover reopens it
 * (a lifecycle move: the function that moved it, and why, naming those findings) and pages once;
 * findings it covered join it quietly. A finding that only updates (Finding.updatesOnly) adds to
 * the evidence and keeps the findings as they were last read.
 */
export async function keepFindingCurrent(
  ctx: PipelineContext,
  existing: Incident,
  finding: Finding,
): Promise<Incident> {
  if (!ctx.rule.endsWithMitigation) return existing;
  const { store } = ctx.deps;
  const next = finding.updatesOnly
    ? {
        reason: finding.reason,
        evidence: { ...existing.evidence, ...finding.evidence },
        ...(existing.findings && { findings: existing.findings }),
        ...(existing.findingsTotal !== undefined && { findingsTotal: existing.findingsTotal }),
      }
    : {
        reason: finding.reason,
        evidence: finding.evidence,
        ...(finding.findings && findingsRecordOf(finding.findings)),
      };
  const changed = !sameFinding(existing, next);
  if (changed) await store.updateFinding(existing.incidentId, next);
  const current = async () => (changed ? ((await store.get(existing.incidentId)) ?? existing) : existing);
  const { mitigation } = existing;
  if (finding.updatesOnly || existing.status !== IncidentStatus.Resolved || !mitigation) return current();
  const fresh = uncoveredBy(mitigation, next.findings ?? []);
  const total = next.findingsTotal ?? next.findings?.length ?? 0;
  const beyond = beyondCovered(mitigation, total);
  if (fresh.length === 0 && beyond === 0) return current();
  const by = `the mitigation recorded by ${mitigation.by} at ${mitigation.at}`;
  const why =
    fresh.length > 0
      ? `reopened: ${fresh.length} finding(s) that ${by} did not cover: ${named(fresh)}`
      : // Past the kept ids: only the count tells.
        `reopened: ${total} finding(s) where ${by} covered ${total - beyond} (only the first ${MAX_FINDING_REFS} are kept by id): ${beyond} not covered`;
  const move = await moveIncident(
    store,
    existing,
    IncidentStatus.Open,
    why.length > REASON_LIMIT ? `${why.slice(0, REASON_LIMIT - 1)}…` : why,
  );
  // Another writer moved it first (a concurrent delivery reopened it and pages): nothing more here.
  if (!move.moved) return move.current;
  return alert(ctx, existing.incidentId, { again: true });
}
