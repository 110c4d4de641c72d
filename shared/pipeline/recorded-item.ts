import { GetResourceConfigHistoryCommand, type ResourceType } from '@aws-sdk/client-config-service';
import type { AwsClients } from '../aws/clients';
import type { Settings } from '../config';
import { type Incident, type Observation, TriggerSource } from '../model';
import { isNotInItem, isRecordedByConfig, loadFromConfigItem, notInItem } from '../resources/config-item';
import type { Finding, Rule } from '../rules/rule';
import { ConfigMessageType } from '../triggers/config-item';
import type { IncidentStore } from './incident-store';
import { verifiedKeptAsEvidence } from './kept-evidence';
import { IncidentStatus } from './lifecycle';
import { Compliance, type ResourceOutcome } from './outcomes';

/**
 * Config asks "was the configuration item I sent compliant?" (DESIGN §9). The item is judged as
 * Config recorded it, through the rule's mapping, while the resource is remediated from a fresh
 * read as for any trigger. So drift the item shows stays NON_COMPLIANT on Config's timeline even
 * when this invocation (or the CloudTrail path a moment earlier) fixed it, and the annotation
 * names the incident that answers for it; the fix's own item closes the timeline.
 */

/** What the item shows: drift, compliance, or not enough (the live read is judged instead). */
export type ItemVerdict =
  | { readonly judged: 'item'; readonly finding?: Finding; readonly outOfScope?: string }
  | { readonly judged: 'live'; readonly lacks: string };

/**
 * The verdict on the item a Config rule invocation sent (for an oversized one, the item Config
 * holds at its capture time). Undefined when there is no item to judge: another trigger, a
 * region-level setting (Config records no item for it), a type the rule has no mapping for.
 */
export async function judgeSentItem(
  rule: Rule,
  observation: Observation,
  aws: Pick<AwsClients, 'config'>,
  settings: Settings,
): Promise<ItemVerdict | undefined> {
  if (observation.source !== TriggerSource.ConfigRule) return undefined;
  if (!isRecordedByConfig(observation.resourceType) || !rule.fromConfigItem?.[observation.resourceType])
    return undefined;
  const item = observation.sentItem?.() ?? (await fetchOversizedItem(observation, aws));
  const reading =
    item === undefined ? notInItem('an item in Config at its capture time') : loadFromConfigItem(rule, item);
  if (isNotInItem(reading)) return { judged: 'live', lacks: reading.notInItem };
  // A deleted item: the adapter answered NOT_APPLICABLE already; nothing is drift.
  if (!reading) return { judged: 'item' };
  const verdict = rule.detect(reading, settings);
  if (!verdict.compliant) return { judged: 'item', finding: verdict };
  return verdict.outOfScope ? { judged: 'item', outOfScope: verdict.outOfScope } : { judged: 'item' };
}

/** An oversized notification carries a summary only: the item is read from Config's history. */
async function fetchOversizedItem(
  observation: Observation,
  aws: Pick<AwsClients, 'config'>,
): Promise<unknown> {
  if (observation.eventName !== ConfigMessageType.OversizedItemChange) return undefined;
  const history = await aws.config(observation.region).send(
    new GetResourceConfigHistoryCommand({
      // Config's own type names: the observation holds the one Config sent.
      resourceType: observation.resourceType as ResourceType,
      resourceId: observation.resourceId,
      // The newest item at or before the capture time the notification was sent for.
      laterTime: new Date(observation.observedAt),
      limit: 1,
    }),
  );
  return history.configurationItems?.[0];
}

/** What the incident answering for the item's drift did with it, in the words of an annotation. */
export function incidentWords(incident: Pick<ResourceOutcome, 'status' | 'compliance'>, id: string): string {
  switch (incident.status) {
    case IncidentStatus.Remediated:
      // A remediated incident's outcome is NON_COMPLIANT only when it keeps the original as evidence.
      return incident.compliance === Compliance.NonCompliant
        ? `kept as evidence by ${id}`
        : `remediated by ${id}`;
    case IncidentStatus.Remediating:
      return `being remediated by ${id}`;
    case IncidentStatus.Failed:
      return `remediation failed in ${id}`;
    case IncidentStatus.Exempted:
      return `exempted by ${id}`;
    case IncidentStatus.Undone:
      return `fix undone by a person in ${id}`;
    case IncidentStatus.Resolved:
      return `resolved by ${id}`;
    case IncidentStatus.Suppressed:
      return `suppressed by ${id}`;
    default:
      return `left open by ${id}`;
  }
}

/**
 * The evaluation for the item, from the verdict on it and what the pipeline did with the live
 * resource (`live`). `answering` finds the incident that already answered for the item's drift when
 * the live read found none (fixed a moment earlier through another trigger).
 */
export async function answerForItem(
  verdict: ItemVerdict,
  live: ResourceOutcome,
  answering: () => Promise<Incident | undefined>,
): Promise<ResourceOutcome> {
  if (verdict.judged === 'live')
    return { ...live, note: `${live.note} (judged on a live read: the item lacks ${verdict.lacks})` };
  // The item was outside the rule's narrowed scope: not judged, and Config is told which scope.
  if (verdict.outOfScope)
    return { ...live, compliance: Compliance.NotApplicable, note: `${verdict.outOfScope} as recorded` };
  if (!verdict.finding) {
    const since = live.incidentId ? `; drift found since: ${live.note}` : '';
    return { ...live, compliance: Compliance.Compliant, note: `compliant as recorded${since}` };
  }
  const reason = verdict.finding.reason;
  if (live.incidentId) {
    return {
      ...live,
      compliance: Compliance.NonCompliant,
      note: `${incidentWords(live, live.incidentId)}: ${reason}`,
    };
  }
  const earlier = await answering();
  if (!earlier) {
    return {
      ...live,
      compliance: Compliance.NonCompliant,
      note: `no longer found by a live read (changed outside the responder): ${reason}`,
    };
  }
  const kept = verifiedKeptAsEvidence(earlier) ? Compliance.NonCompliant : Compliance.Compliant;
  return {
    ...live,
    compliance: Compliance.NonCompliant,
    note: `${incidentWords({ status: earlier.status, compliance: kept }, earlier.incidentId)}: ${reason}`,
    incidentId: earlier.incidentId,
    status: earlier.status,
  };
}

/**
 * A periodic Config evaluation asks about the resource at the notification time: drift this
 * delivery found and fixed was there then (NON_COMPLIANT, naming the incident); the re-evaluation
 * asked for after the answer reports the fix.
 */
export const asFoundAtNotification = (outcome: ResourceOutcome): ResourceOutcome =>
  outcome.remediatedNow && outcome.incidentId
    ? {
        ...outcome,
        compliance: Compliance.NonCompliant,
        note: incidentWords(outcome, outcome.incidentId),
      }
    : outcome;

/** How far before the item's capture time an incident answering for its drift may have been opened. */
const ANSWERING_WINDOW_MS = 24 * 3600 * 1000;

/** The newest incident of this rule about this resource, opened around the item's capture time or since. */
export async function latestIncidentFor(
  store: Pick<IncidentStore, 'list'>,
  ruleId: string,
  resourceArn: string,
  capturedAt: string,
): Promise<Incident | undefined> {
  const captured = new Date(capturedAt).getTime();
  const since = new Date((Number.isNaN(captured) ? Date.now() : captured) - ANSWERING_WINDOW_MS);
  const incidents = await store.list({ ruleId, since: since.toISOString() });
  return incidents
    .filter((incident) => incident.resourceArn === resourceArn)
    .sort((a, b) => b.detectedAt.localeCompare(a.detectedAt))[0];
}
