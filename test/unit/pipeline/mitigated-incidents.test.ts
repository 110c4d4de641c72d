import { createAwsClients } from '../../../shared/aws/clients';
import { RemediationDeclined } from '../../../shared/errors';
import type { Observation } from '../../../shared/model';
import type { BlastRadiusGuard } from '../../../shared/pipeline/guards';
import { IncidentStatus, moveIncident } from '../../../shared/pipeline/lifecycle';
import { ResponsePipeline } from '../../../shared/pipeline/run-pipeline';
import { defineRule, type Loaded, type Rule } from '../../../shared/rules/rule';
import { testSettings } from '../../support/incident';
import { CollectingAlerts, MemoryExemptionLedger, MemoryIncidentStore } from '../../support/memory-store';

/**
 * A rule whose incidents end with a documented mitigation (image-findings-mitigated): one incident
 * per resource, its evidence kept current as findings arrive and clear, never a second incident
 * while the first holds the drift, and a recorded mitigation never overwritten.
 */
interface Image {
  findings: string[];
}

function findingsRule(world: Image): Rule {
  const loaded = (): Loaded<Image> => ({
    resourceType: 'AWS::ECR::Image',
    resourceId: 'claims/api@sha256:abc',
    arn: 'arn:aws:ecr:us-east-1:111122223333:repository/claims/api/sha256:abc',
    region: 'us-east-1',
    accountId: '111122223333',
    tags: {},
    state: { findings: [...world.findings] },
  });
  return defineRule<Image>({
    id: 'image-findings-mitigated',
    title: 'Image vulnerability without a mitigation',
    severity: 'HIGH',
    hipaa: ['164.308(a)(1)(ii)(B)'],
    runbook: 'docs/runbooks/image-findings-mitigated.md',
    readme: { enforce: 'nothing' },
    defaultMode: 'notify',
    resourceType: 'AWS::ECR::Image',
    endsWithMitigation: true,
    triggers: { schedule: 'rate(1 hour)' },
    permissions: [],
    load: async () => loaded(),
    async *list() {
      yield loaded();
    },
    detect: (resource) =>
      resource.state.findings.length === 0
        ? { compliant: true }
        : {
            compliant: false,
            reason: `${resource.state.findings.length} critical finding(s)`,
            evidence: {
              findingIds: resource.state.findings.join(','),
              findings: resource.state.findings.length,
            },
            plan: 'nothing automatic',
          },
    remediate: async () => {
      throw new RemediationDeclined('never changes anything');
    },
  });
}

let delivery = 0;
const scanned = (): Observation => ({
  source: 'image-scan',
  eventId: `scan-${++delivery}`,
  eventName: 'Inspector2 Finding',
  accountId: '111122223333',
  region: 'us-east-1',
  resourceType: 'AWS::ECR::Image',
  resourceId: 'claims/api@sha256:abc',
  observedAt: '2026-11-23T10:00:00Z',
  summary: {},
});

function pipelineFor(world: Image) {
  const store = new MemoryIncidentStore();
  const alerts = new CollectingAlerts();
  const pipeline = new ResponsePipeline(findingsRule(world), {
    aws: createAwsClients('us-east-1'),
    settings: testSettings(),
    store,
    alerts,
    guard: { acquire: async () => ({ allowed: true }) } as unknown as BlastRadiusGuard,
    exemptions: new MemoryExemptionLedger(),
    logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
    metrics: { count: () => undefined },
    verify: { attempts: 2, delayMs: 1 },
  });
  const handle = () => pipeline.handle({ kind: 'resources', observations: [scanned()] });
  const incidents = () => [...store.incidents.values()];
  return { handle, incidents, store, alerts };
}

describe('incidents that end with a mitigation', () => {
  it('keeps one incident per resource, its evidence brought up to date as findings arrive, paging once', async () => {
    // Prepare
    const world = { findings: ['CVE-1'] };
    const { handle, incidents, alerts } = pipelineFor(world);
    await handle();
    world.findings = ['CVE-1', 'CVE-2'];

    // Act
    await handle();

    // Assess
    expect(incidents()).toEqual([
      expect.objectContaining({
        status: 'open',
        evidence: { findingIds: 'CVE-1,CVE-2', findings: 2 },
        reason: '2 critical finding(s)',
      }),
    ]);
    expect(alerts.sent).toHaveLength(1);
  });

  it('resolves the incident once a later scan is clean', async () => {
    // Prepare
    const world = { findings: ['CVE-1'] };
    const { handle, incidents } = pipelineFor(world);
    await handle();
    world.findings = [];

    // Act
    await handle();

    // Assess
    expect(incidents()).toEqual([expect.objectContaining({ status: 'resolved' })]);
  });

  it('after a mitigation, later findings join the resolved incident without a new one or a page', async () => {
    // Prepare
    const world = { findings: ['CVE-1'] };
    const { handle, incidents, store, alerts } = pipelineFor(world);
    await handle();
    const [opened] = incidents();
    if (!opened) throw new Error('expected an incident');
    const mitigation = {
      text: 'not reachable',
      by: 'arn:aws:iam::111122223333:user/dev-bob',
      at: '2026-11-23T11:00:00Z',
    };
    await store.recordMitigation(opened.incidentId, mitigation);
    await moveIncident(store, opened, IncidentStatus.Resolved, 'mitigation recorded');

    // Act
    await handle();
    world.findings = [];
    await handle();

    // Assess: the mitigation and its reason stand; the lock is let go once the scan is clean
    expect(incidents()).toEqual([
      expect.objectContaining({ status: 'resolved', statusReason: 'mitigation recorded', mitigation }),
    ]);
    expect(alerts.sent).toHaveLength(1);
    expect(await store.openDrift('image-findings-mitigated', opened.resourceArn)).toBeUndefined();
  });
});
