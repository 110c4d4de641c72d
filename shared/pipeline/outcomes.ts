import type { Incident } from '../model';
import { keptAsEvidenceNote, verifiedKeptAsEvidence } from './kept-evidence';
import { IncidentStatus } from './lifecycle';

export const Compliance = {
  Compliant: 'COMPLIANT',
  NonCompliant: 'NON_COMPLIANT',
  NotApplicable: 'NOT_APPLICABLE',
} as const;
export type Compliance = (typeof Compliance)[keyof typeof Compliance];

/** What the pipeline did for one resource; also the input of Config's PutEvaluations. */
export interface ResourceOutcome {
  resourceType: string;
  resourceId: string;
  compliance: Compliance;
  /** Short words for Config's annotation and the handler's result. */
  note: string;
  incidentId?: string;
  status?: IncidentStatus;
  /** This delivery's remediation was verified (Config may be asked to evaluate again). */
  remediatedNow?: true;
  /** Not judged: outside the rule's narrowed scope (NOT_APPLICABLE; the sweep counts these). */
  outOfScope?: true;
}

interface ResourceRef {
  resourceType: string;
  resourceId: string;
}

/** A replaced original its incident keeps as evidence: still drift, which that incident answers for (§9). */
export const keptOutcome = (
  { resourceType, resourceId }: ResourceRef,
  incident: Incident,
): ResourceOutcome => ({
  // Named fields only: the outcome is returned and logged, and a loaded resource carries its tags.
  resourceType,
  resourceId,
  compliance: Compliance.NonCompliant,
  note: keptAsEvidenceNote(incident.incidentId),
  incidentId: incident.incidentId,
  status: incident.status,
});

/** The resource's outcome as its incident says: compliant only once remediated. */
export function incidentOutcome(ref: ResourceRef, incident: Incident, note: string): ResourceOutcome {
  if (verifiedKeptAsEvidence(incident)) return keptOutcome(ref, incident);
  return {
    resourceType: ref.resourceType,
    resourceId: ref.resourceId,
    compliance:
      incident.status === IncidentStatus.Remediated ? Compliance.Compliant : Compliance.NonCompliant,
    note,
    incidentId: incident.incidentId,
    status: incident.status,
  };
}
