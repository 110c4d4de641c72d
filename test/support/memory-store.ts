import {
  type Exemption,
  ExemptionAlreadyRemovedError,
  ExemptionInForceError,
  type ExemptionLedger,
  ExemptionNotFoundError,
  isInForce,
} from '../../shared/exemptions/ledger';
import type {
  AlertRecord,
  FindingRef,
  Incident,
  IncidentStatus,
  MitigationRecord,
  Summary,
} from '../../shared/model';
import type { AlertMessage, AlertPublisher } from '../../shared/pipeline/alerts';
import type {
  Collapse,
  DriftRef,
  IncidentChange,
  IncidentFilter,
  IncidentStore,
  OpenResult,
} from '../../shared/pipeline/incident-store';

/** The IncidentStore contract in memory, for pipeline unit tests (the DynamoDB one is tested against moto). */
export class MemoryIncidentStore implements IncidentStore {
  readonly incidents = new Map<string, Incident>();
  /** Who the transitions name. */
  writer = 'memory-store';
  private readonly deliveries = new Map<string, string>();
  private readonly drifts = new Map<string, string>();

  async open(incident: Incident, deliveryKey: string): Promise<OpenResult> {
    const delivery = `${deliveryKey}|${incident.ruleId}`;
    const drift = `${incident.ruleId}|${incident.resourceArn}`;
    const seen = this.deliveries.get(delivery);
    if (seen) return { opened: false, existingIncidentId: seen, collapsedOn: 'duplicate-delivery' };
    const holder = this.drifts.get(drift);
    if (holder) return { opened: false, existingIncidentId: holder, collapsedOn: 'open-drift' };
    this.deliveries.set(delivery, incident.incidentId);
    this.drifts.set(drift, incident.incidentId);
    const opening = { to: incident.status, at: incident.detectedAt, by: this.writer };
    this.incidents.set(incident.incidentId, {
      ...structuredClone(incident),
      transitions: incident.transitions ?? [opening],
    });
    return { opened: true };
  }

  async seen(deliveryKey: string, ruleId: string, resourceArn: string): Promise<Collapse | undefined> {
    const seen = this.deliveries.get(`${deliveryKey}|${ruleId}`);
    if (seen) return { opened: false, existingIncidentId: seen, collapsedOn: 'duplicate-delivery' };
    const holder = this.drifts.get(`${ruleId}|${resourceArn}`);
    return holder ? { opened: false, existingIncidentId: holder, collapsedOn: 'open-drift' } : undefined;
  }

  async get(incidentId: string) {
    const incident = this.incidents.get(incidentId);
    return incident ? structuredClone(incident) : undefined;
  }

  private change(incidentId: string, apply: (incident: Incident) => void) {
    const incident = this.incidents.get(incidentId);
    if (!incident) throw new Error(`no incident ${incidentId}`);
    apply(incident);
  }

  /** As DynamoDB's conditional update: only from the status the writer read. */
  async setStatus(incidentId: string, from: IncidentStatus, status: IncidentStatus, statusReason?: string) {
    const move = { from, to: status, at: new Date().toISOString(), reason: statusReason };
    return (await this.commit(incidentId, { from, moves: [move] })) !== undefined;
  }

  async commit(incidentId: string, change: IncidentChange) {
    if (this.incidents.get(incidentId)?.status !== change.from) return undefined;
    this.change(incidentId, (incident) => {
      const last = change.moves?.at(-1);
      if (last) Object.assign(incident, { status: last.to, statusReason: last.reason });
      // As the DynamoDB store: each change of status is appended to the history.
      for (const { reason, ...move } of change.moves ?? [])
        if (move.from !== move.to)
          incident.transitions = [
            ...(incident.transitions ?? []),
            { ...move, by: this.writer, ...(reason === undefined ? {} : { reason }) },
          ];
      if (change.steps) incident.steps = structuredClone([...change.steps]);
      if (change.workflow) incident.workflow = structuredClone(change.workflow);
      if (change.alert) incident.alert = { ...change.alert };
    });
    return this.get(incidentId);
  }

  async alertSent(incidentId: string, sent: AlertRecord, release?: DriftRef) {
    await this.setAlert(incidentId, sent);
    if (release) await this.releaseDrift(release.ruleId, release.resourceArn, incidentId);
  }

  async setAlert(incidentId: string, alert: AlertRecord) {
    this.change(incidentId, (incident) => Object.assign(incident, { alert }));
  }

  async updateFinding(
    incidentId: string,
    finding: { reason: string; evidence: Summary; findings?: FindingRef[]; findingsTotal?: number },
  ) {
    this.change(incidentId, (incident) => {
      // As the DynamoDB store: the total goes with the list it counts.
      if (finding.findings && finding.findingsTotal === undefined) delete incident.findingsTotal;
      Object.assign(incident, finding);
    });
  }

  /** As DynamoDB's conditional update: the first mitigation stays. */
  async recordMitigation(
    incidentId: string,
    mitigation: MitigationRecord,
    replacing?: MitigationRecord,
    seenUpdatedAt?: string,
  ) {
    const current = this.incidents.get(incidentId);
    if (seenUpdatedAt !== undefined && current?.updatedAt !== seenUpdatedAt) return false;
    if (!replacing) {
      if (current?.mitigation) return false;
      this.change(incidentId, (incident) => Object.assign(incident, { mitigation }));
      return true;
    }
    if (current?.status !== 'open' || current.mitigation?.at !== replacing.at) return false;
    this.change(incidentId, (incident) =>
      Object.assign(incident, {
        mitigation,
        earlierMitigations: [...(incident.earlierMitigations ?? []), replacing],
      }),
    );
    return true;
  }

  /** As DynamoDB's conditional update: only the first claim on the same `updatedAt` wins. */
  async claim(incidentId: string, seenUpdatedAt: string) {
    const incident = this.incidents.get(incidentId);
    if (!incident || incident.updatedAt !== seenUpdatedAt) return false;
    incident.updatedAt = new Date(Math.max(Date.now(), Date.parse(seenUpdatedAt) + 1)).toISOString();
    return true;
  }

  async releaseDrift(ruleId: string, resourceArn: string, incidentId: string) {
    const key = `${ruleId}|${resourceArn}`;
    if (this.drifts.get(key) === incidentId) this.drifts.delete(key);
  }

  async heldDrifts(ruleId: string) {
    return [...this.drifts]
      .filter(([key]) => key.startsWith(`${ruleId}|`))
      .map(([key, incidentId]) => ({ resourceArn: key.slice(ruleId.length + 1), incidentId }));
  }

  async openDrift(ruleId: string, resourceArn: string) {
    return this.drifts.get(`${ruleId}|${resourceArn}`);
  }

  async pendingAlerts(ruleId: string) {
    return [...this.incidents.values()]
      .filter((incident) => incident.ruleId === ruleId && incident.alert?.status === 'pending')
      .map((incident) => incident.incidentId);
  }

  async list(filter: IncidentFilter) {
    return [...this.incidents.values()].filter(
      (incident) =>
        (!filter.status || incident.status === filter.status) &&
        (!filter.ruleId || incident.ruleId === filter.ruleId),
    );
  }
}

export class CollectingAlerts implements AlertPublisher {
  readonly sent: AlertMessage[] = [];
  async publish(alert: AlertMessage) {
    this.sent.push(alert);
    return `message-${this.sent.length}`;
  }
}

/** The ExemptionLedger contract in memory, for pipeline unit tests (the DynamoDB one is tested against moto). */
export class MemoryExemptionLedger implements ExemptionLedger {
  readonly records = new Map<string, Exemption>();
  private readonly currents = new Map<string, string>();
  /** How many times the pipeline read the current exemption of a rule and resource. */
  lookups = 0;

  async add(exemption: Exemption, options: { supersedes?: Exemption; now?: Date } = {}) {
    const key = `${exemption.ruleId}|${exemption.resourceArn}`;
    const current = this.records.get(this.currents.get(key) ?? '');
    const now = options.now ?? new Date();
    if (current && isInForce(current, now) && current.exemptionId !== options.supersedes?.exemptionId) {
      throw new ExemptionInForceError(current);
    }
    if (options.supersedes) {
      await this.remove(options.supersedes.exemptionId, exemption.setBy, now, 'superseded');
    }
    this.records.set(exemption.exemptionId, structuredClone(exemption));
    this.currents.set(key, exemption.exemptionId);
  }

  async get(exemptionId: string) {
    const exemption = this.records.get(exemptionId);
    return exemption ? structuredClone(exemption) : undefined;
  }

  async current(ruleId: string, resourceArn: string) {
    this.lookups += 1;
    return this.get(this.currents.get(`${ruleId}|${resourceArn}`) ?? '');
  }

  async list(endingAfter?: Date) {
    return [...this.records.values()]
      .filter((exemption) => !endingAfter || Date.parse(exemption.until) > endingAfter.getTime())
      .sort((a, b) => a.until.localeCompare(b.until));
  }

  async remove(exemptionId: string, removedBy: string, at: Date, reason?: string) {
    const exemption = this.records.get(exemptionId);
    if (!exemption) throw new ExemptionNotFoundError(exemptionId);
    if (exemption.removedAt) throw new ExemptionAlreadyRemovedError(exemption);
    const removed = {
      ...exemption,
      removedAt: at.toISOString(),
      removedBy,
      ...(reason ? { removeReason: reason } : {}),
    };
    this.records.set(exemptionId, removed);
    return structuredClone(removed);
  }
}
