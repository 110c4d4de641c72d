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
  Step,
  Summary,
  Workflow,
} from '../../shared/model';
import type { AlertMessage, AlertPublisher } from '../../shared/pipeline/alerts';
import type { IncidentFilter, IncidentStore, OpenResult } from '../../shared/pipeline/incident-store';

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
    if (this.incidents.get(incidentId)?.status !== from) return false;
    this.change(incidentId, (incident) => {
      Object.assign(incident, { status, statusReason });
      // As the DynamoDB store: a change of status is appended to the history.
      if (from !== status) {
        const at = new Date().toISOString();
        const reason = statusReason === undefined ? {} : { reason: statusReason };
        incident.transitions = [
          ...(incident.transitions ?? []),
          { from, to: status, at, by: this.writer, ...reason },
        ];
      }
    });
    return true;
  }

  async appendStep(incidentId: string, step: Step) {
    let index = -1;
    this.change(incidentId, (incident) => {
      index = incident.steps.push(step) - 1;
    });
    return index;
  }

  async replaceStep(incidentId: string, index: number, step: Step) {
    this.change(incidentId, (incident) => {
      incident.steps[index] = step;
    });
  }

  async setAlert(incidentId: string, alert: AlertRecord) {
    this.change(incidentId, (incident) => Object.assign(incident, { alert }));
  }

  async setWorkflow(incidentId: string, workflow: Workflow) {
    this.change(incidentId, (incident) => Object.assign(incident, { workflow }));
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
