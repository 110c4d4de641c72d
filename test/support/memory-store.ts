import type { AlertRecord, Incident, IncidentStatus, Step, Workflow } from '../../shared/model';
import type { AlertMessage, AlertPublisher } from '../../shared/pipeline/alerts';
import type { IncidentFilter, IncidentStore, OpenResult } from '../../shared/pipeline/incident-store';

/** The IncidentStore contract in memory, for pipeline unit tests (the DynamoDB one is tested against moto). */
export class MemoryIncidentStore implements IncidentStore {
  readonly incidents = new Map<string, Incident>();
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
    this.incidents.set(incident.incidentId, structuredClone(incident));
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

  async setStatus(incidentId: string, status: IncidentStatus, statusReason?: string) {
    this.change(incidentId, (incident) => Object.assign(incident, { status, statusReason }));
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

  async claim() {
    return true;
  }

  async releaseDrift(ruleId: string, resourceArn: string, incidentId: string) {
    const key = `${ruleId}|${resourceArn}`;
    if (this.drifts.get(key) === incidentId) this.drifts.delete(key);
  }

  async openDrift(ruleId: string, resourceArn: string) {
    return this.drifts.get(`${ruleId}|${resourceArn}`);
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
