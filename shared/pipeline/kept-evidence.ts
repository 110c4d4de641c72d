import type { AwsClients } from '../aws/clients';
import { type Incident, IncidentStatus } from '../model';
import type { Loaded, Rule } from '../rules/rule';
import type { IncidentStore } from './incident-store';

/**
 * Originals kept as evidence. A remediation that replaces a resource keeps the original (nothing
 * destroyed by default); the original is still drift (Config and `scan` say NON_COMPLIANT), which
 * the incident that replaced it answers for, so nothing opens a second incident or replaces it
 * again. What keeps it is the responder's own record: the drift lock stays with that incident, and
 * the rule re-checks the incident's lineage in AWS. Tags on the resource never decide it.
 */

export const keptAsEvidenceNote = (incidentId: string): string =>
  `kept as evidence by incident ${incidentId}`;

/** The remediated incident holding this resource's drift lock, for a rule that keeps originals. */
export async function evidenceHolder(
  rule: Rule,
  resource: Loaded<unknown>,
  store: Pick<IncidentStore, 'openDrift' | 'get'>,
): Promise<Incident | undefined> {
  if (!rule.keptAsEvidence) return undefined;
  const incidentId = await store.openDrift(rule.id, resource.arn);
  const incident = incidentId ? await store.get(incidentId) : undefined;
  return incident?.status === IncidentStatus.Remediated ? incident : undefined;
}

/** Does `incident` (this rule's, about this resource) keep it as evidence, by a fresh read of AWS? */
export async function keepsAsEvidence(
  rule: Rule,
  resource: Loaded<unknown>,
  incident: Incident,
  aws: AwsClients,
): Promise<boolean> {
  if (!rule.keptAsEvidence || incident.ruleId !== rule.id || incident.resourceArn !== resource.arn)
    return false;
  return rule.keptAsEvidence(resource, incident, aws);
}

/** The incident that keeps this drifted resource as evidence, or undefined. Read-only (`scan` asks too). */
export async function evidenceKeptBy(
  rule: Rule,
  resource: Loaded<unknown>,
  store: Pick<IncidentStore, 'openDrift' | 'get'>,
  aws: AwsClients,
): Promise<Incident | undefined> {
  const holder = await evidenceHolder(rule, resource, store);
  return holder && (await keepsAsEvidence(rule, resource, holder, aws)) ? holder : undefined;
}

/** Did this incident's verification find the original kept as evidence (its Verify step says so)? */
export const verifiedKeptAsEvidence = (incident: Incident): boolean =>
  incident.steps.some((step) => step.action === 'Verify' && step.output?.originalKeptAsEvidence === true);
