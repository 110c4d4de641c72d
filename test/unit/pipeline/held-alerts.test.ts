import type { Incident } from '../../../shared/model';
import type { PipelineContext } from '../../../shared/pipeline/context';
import { alert } from '../../../shared/pipeline/notify';
import { sshOpenToWorld } from '../../../shared/rules/ssh-open-to-world';
import { anIncident, testSettings } from '../../support/incident';
import { CollectingAlerts, MemoryExemptionLedger, MemoryIncidentStore } from '../../support/memory-store';

/** `ssh lockdown` holds each incident's alert for one summary: recorded pending, never published alone. */
async function contextWith(holdAlert?: (incident: Incident) => void) {
  const store = new MemoryIncidentStore();
  const alerts = new CollectingAlerts();
  const incident = anIncident({ ruleId: sshOpenToWorld.id, steps: [] });
  await store.open(incident, 'run-1#us-east-1#sg-1');
  const ctx = {
    rule: sshOpenToWorld,
    now: () => new Date('2026-11-23T12:00:00.000Z'),
    deps: {
      settings: testSettings(),
      store,
      alerts,
      exemptions: new MemoryExemptionLedger(),
      logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
      metrics: { count: () => undefined },
      ...(holdAlert ? { holdAlert } : {}),
    },
  } as unknown as PipelineContext;
  return { ctx, store, alerts, incident };
}

describe("an incident's alert held for a summary", () => {
  it('is recorded pending and handed over, not published', async () => {
    // Prepare
    const held: Incident[] = [];
    const { ctx, store, alerts, incident } = await contextWith((one) => held.push(one));
    // Act
    const result = await alert(ctx, incident.incidentId);
    // Assess: pending, so a crash before the summary leaves it for the sweep to send
    expect(alerts.sent).toEqual([]);
    expect(held.map((one) => one.incidentId)).toEqual([incident.incidentId]);
    expect(result.alert).toEqual({ status: 'pending', at: '2026-11-23T12:00:00.000Z' });
    expect((await store.get(incident.incidentId))?.alert?.status).toBe('pending');
    expect(await store.pendingAlerts(sshOpenToWorld.id)).toEqual([incident.incidentId]);
  });

  it('is published and recorded sent when nothing holds it', async () => {
    // Prepare
    const { ctx, store, alerts, incident } = await contextWith();
    // Act
    await alert(ctx, incident.incidentId);
    // Assess
    expect(alerts.sent).toHaveLength(1);
    expect((await store.get(incident.incidentId))?.alert).toMatchObject({
      status: 'sent',
      messageId: 'message-1',
    });
  });
});
