import type { Incident } from '../model';

/**
 * What the stack's incident event bus carries: one event when an incident is opened and one on each
 * change of its status, for a SIEM, a ticketing system or another account to subscribe to
 * (docs/incident-events.md). Built from the incident item as the table recorded it, so an incident
 * a person changed through the command line is published exactly like one a function changed.
 * Names and statuses only, as in the alerts: no evidence values, tags or payloads.
 */
export const INCIDENT_EVENT_SOURCE = 'compliance-responder';
export const INCIDENT_EVENT_DETAIL_TYPE = 'Incident Status Change';
/** Bumped on any change a consumer could notice; fields are only ever added within a version. */
export const INCIDENT_EVENT_SCHEMA_VERSION = 1;

export interface IncidentEventDetail {
  schemaVersion: typeof INCIDENT_EVENT_SCHEMA_VERSION;
  incidentId: string;
  /** `opened`, or `status` when an existing incident moved. */
  change: 'opened' | 'status';
  status: string;
  /** Absent when opened. */
  previousStatus?: string;
  statusReason?: string;
  ruleId: string;
  title: string;
  severity: string;
  hipaa: readonly string[];
  mode: string;
  account: string;
  region: string;
  resourceType: string;
  resourceId: string;
  resourceArn: string;
  detectedAt: string;
  updatedAt: string;
  /** Who caused the drift, as CloudTrail named them (ARN only). */
  actorArn?: string;
  runbook: string;
}

type IncidentItem = Partial<Incident> & { pk?: unknown };

const isIncident = (item: IncidentItem | undefined): item is Incident & { pk: string } =>
  typeof item?.pk === 'string' && item.pk.startsWith('INCIDENT#') && typeof item.status === 'string';

/**
 * The event one change of a table item makes, or undefined when it makes none: not an incident, or
 * an incident rewritten without a change of status (a step recorded, an alert marked sent).
 */
export function incidentEventOf(
  before: IncidentItem | undefined,
  after: IncidentItem | undefined,
): IncidentEventDetail | undefined {
  if (!isIncident(after)) return undefined;
  const previous = isIncident(before) ? before.status : undefined;
  if (previous === after.status) return undefined;
  return {
    schemaVersion: INCIDENT_EVENT_SCHEMA_VERSION,
    incidentId: after.incidentId,
    change: previous === undefined ? 'opened' : 'status',
    status: after.status,
    ...(previous !== undefined && { previousStatus: previous }),
    ...(after.statusReason !== undefined && { statusReason: after.statusReason }),
    ruleId: after.ruleId,
    title: after.title,
    severity: after.severity,
    hipaa: after.hipaa,
    mode: after.mode,
    account: after.account,
    region: after.region,
    resourceType: after.resourceType,
    resourceId: after.resourceId,
    resourceArn: after.resourceArn,
    detectedAt: after.detectedAt,
    updatedAt: after.updatedAt,
    ...(after.actor?.arn !== undefined && { actorArn: after.actor.arn }),
    runbook: after.runbook,
  };
}
