import { createAwsClients } from '../../../shared/aws/clients';
import { RemediationDeclined } from '../../../shared/errors';
import type { Observation } from '../../../shared/model';
import type { BlastRadiusGuard } from '../../../shared/pipeline/guards';
import { IncidentStatus, moveIncident } from '../../../shared/pipeline/lifecycle';
import { MAX_FINDING_REFS } from '../../../shared/pipeline/mitigated';
import { ResponsePipeline } from '../../../shared/pipeline/run-pipeline';
import { defineRule, type Loaded, type Rule, type Verdict } from '../../../shared/rules/rule';
import { testSettings } from '../../support/incident';
import { CollectingAlerts, MemoryExemptionLedger, MemoryIncidentStore } from '../../support/memory-store';

/**
 * A rule whose incidents end with a documented mitigation (image-findings-mitigated): one incident
 * per resource, its evidence kept current as findings arrive and clear, never a second incident
 * while the first holds the drift, and a recorded mitigation never overwritten.
 */
interface Image {
  /** Finding ids, CRITICAL unless `severities` says otherwise. */
  findings: string[];
  severities?: Record<string, string>;
  /** Deleted from the registry while a task still runs it: its findings cannot be read. */
  deletedButRunning?: boolean;
  /** Deleted and run by nobody: no listing shows it, a read finds nothing to mitigate. */
  deletedAndStopped?: boolean;
}

const ENDED_BY_DELETION =
  'deleted from claims/api; no ECS task in us-east-1 runs it (EKS, Lambda, other regions and hosts not read)';

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
      // A deleted image is in no repository's listing.
      if (!world.deletedButRunning && !world.deletedAndStopped) yield loaded();
    },
    rejudgesHeldDrift: true,
    detect: (resource): Verdict =>
      world.deletedAndStopped
        ? { compliant: true, endsIncident: ENDED_BY_DELETION }
        : world.deletedButRunning
          ? {
              compliant: false,
              reason: 'deleted from the registry but still running in 1 task(s) (phi/t1)',
              evidence: { imageDeleted: true, runningTasks: 1 },
              plan: 'nothing automatic',
              updatesOnly: true,
            }
          : resource.state.findings.length === 0
            ? { compliant: true }
            : {
                compliant: false,
                reason: `${resource.state.findings.length} critical finding(s)`,
                evidence: {
                  findingIds: resource.state.findings.join(','),
                  findings: resource.state.findings.length,
                },
                plan: 'nothing automatic',
                findings: resource.state.findings.map((id) => ({
                  id,
                  severity: world.severities?.[id] ?? 'CRITICAL',
                })),
              },
    remediate: async () => {
      throw new RemediationDeclined('never changes anything');
    },
  });
}

let delivery = 0;
const mitigation = {
  text: 'not reachable',
  by: 'arn:aws:iam::111122223333:user/dev-bob',
  at: '2026-11-23T11:00:00Z',
};

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

function pipelineFor(world: Image, now: () => Date = () => new Date()) {
  const store = new MemoryIncidentStore();
  const alerts = new CollectingAlerts();
  const pipeline = new ResponsePipeline(findingsRule(world), {
    aws: createAwsClients('us-east-1'),
    settings: testSettings({ SWEEP_REGIONS: 'us-east-1' }),
    store,
    alerts,
    guard: { acquire: async () => ({ allowed: true }) } as unknown as BlastRadiusGuard,
    exemptions: new MemoryExemptionLedger(),
    logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
    metrics: { count: () => undefined },
    verify: { attempts: 2, delayMs: 1 },
    now,
  });
  const handle = () => pipeline.handle({ kind: 'resources', observations: [scanned()] });
  const sweep = () =>
    pipeline.handle({
      kind: 'sweep',
      sweep: {
        source: 'schedule',
        eventId: `sweep-${++delivery}`,
        eventName: 'Scheduled Event',
        accountId: '111122223333',
        region: 'us-east-1',
        observedAt: '2026-11-23T12:00:00Z',
      },
    });
  const incidents = () => [...store.incidents.values()];
  return { handle, sweep, incidents, store, alerts };
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

  it('records the findings it holds (ids and severities), kept current as they arrive', async () => {
    // Prepare
    const world = { findings: ['CVE-1'] };
    const { handle, incidents } = pipelineFor(world);
    await handle();
    world.findings = ['CVE-1', 'CVE-2'];

    // Act
    await handle();

    // Assess
    expect(incidents()).toEqual([
      expect.objectContaining({
        findings: [
          { id: 'CVE-1', severity: 'CRITICAL' },
          { id: 'CVE-2', severity: 'CRITICAL' },
        ],
      }),
    ]);
  });

  it('a finding the mitigation did not cover reopens the incident (who, why) and pages once, naming it', async () => {
    // Prepare: mitigated while CVE-1 was the finding
    const world: Image = { findings: ['CVE-1'] };
    const { handle, incidents, store, alerts } = pipelineFor(world);
    await handle();
    const [opened] = incidents();
    if (!opened) throw new Error('expected an incident');
    await store.recordMitigation(opened.incidentId, {
      ...mitigation,
      covers: [{ id: 'CVE-1', severity: 'CRITICAL' }],
    });
    await moveIncident(store, opened, IncidentStatus.Resolved, 'mitigation recorded');
    world.findings = ['CVE-1', 'CVE-2'];

    // Act
    await handle();
    await handle();

    // Assess: open again, the move recorded with who and why, one more page naming CVE-2 only
    const [incident] = incidents();
    expect(incidents()).toHaveLength(1);
    expect(incident).toMatchObject({ status: 'open', mitigation: { text: 'not reachable' } });
    expect(incident?.statusReason).toContain('CVE-2');
    expect(incident?.statusReason).not.toMatch(/CVE-1\b/);
    expect(incident?.statusReason).toContain('arn:aws:iam::111122223333:user/dev-bob');
    expect(incident?.transitions?.at(-1)).toMatchObject({
      from: 'resolved',
      to: 'open',
      by: expect.any(String),
      reason: expect.stringContaining('CVE-2'),
    });
    expect(alerts.sent).toHaveLength(2);
    expect(JSON.stringify(alerts.sent[1])).toContain('CVE-2');
  });

  it('records how many findings there were when it keeps only the first 500, and not otherwise', async () => {
    // Prepare
    const ids = (count: number) =>
      Array.from({ length: count }, (_, n) => `CVE-${String(n).padStart(4, '0')}`);
    const world: Image = { findings: ids(MAX_FINDING_REFS) };
    const { handle, incidents } = pipelineFor(world);
    await handle();
    expect(incidents()[0]?.findingsTotal).toBeUndefined();

    // Act
    world.findings = ids(MAX_FINDING_REFS + 100);
    await handle();

    // Assess
    expect(incidents()[0]?.findings).toHaveLength(MAX_FINDING_REFS);
    expect(incidents()[0]?.findingsTotal).toBe(MAX_FINDING_REFS + 100);
  });

  it('a finding beyond the 500 a cut mitigation covered reopens it and pages, though no kept id is new', async () => {
    // Prepare: 600 findings, of which the incident (and so the mitigation) keeps the first 500 ids
    const ids = (count: number) =>
      Array.from({ length: count }, (_, n) => `CVE-${String(n).padStart(4, '0')}`);
    const world: Image = { findings: ids(600) };
    const { handle, incidents, store, alerts } = pipelineFor(world);
    await handle();
    const [opened] = incidents();
    if (!opened) throw new Error('expected an incident');
    await store.recordMitigation(opened.incidentId, {
      ...mitigation,
      covers: opened.findings ?? [],
      ...(opened.findingsTotal !== undefined && { coversTotal: opened.findingsTotal }),
    });
    await moveIncident(store, opened, IncidentStatus.Resolved, 'mitigation recorded');
    // The same count again (still covered), then one more, sorting after every kept id
    await handle();
    expect(incidents()[0]?.status).toBe('resolved');
    world.findings = ids(601);

    // Act
    await handle();

    // Assess
    const [incident] = incidents();
    expect(incident).toMatchObject({ status: 'open' });
    expect(incident?.statusReason).toMatch(
      /601 finding\(s\) where the mitigation .* covered 600 .*: 1 not covered/,
    );
    expect(alerts.sent).toHaveLength(2);
  });

  it('a covered finding rated higher since the mitigation reopens it; one rated the same or lower does not', async () => {
    // Prepare
    const world: Image = { findings: ['CVE-1'], severities: { 'CVE-1': 'HIGH' } };
    const { handle, incidents, store, alerts } = pipelineFor(world);
    await handle();
    const [opened] = incidents();
    if (!opened) throw new Error('expected an incident');
    await store.recordMitigation(opened.incidentId, {
      ...mitigation,
      covers: [{ id: 'CVE-1', severity: 'HIGH' }],
    });
    await moveIncident(store, opened, IncidentStatus.Resolved, 'mitigation recorded');

    // Act / Assess: the same rating joins quietly
    await handle();
    expect(incidents()).toEqual([expect.objectContaining({ status: 'resolved' })]);
    expect(alerts.sent).toHaveLength(1);

    // Act / Assess: re-rated CRITICAL reopens
    world.severities = { 'CVE-1': 'CRITICAL' };
    await handle();
    expect(incidents()).toEqual([expect.objectContaining({ status: 'open' })]);
    expect(alerts.sent).toHaveLength(2);
  });

  it('an image deleted while still running updates the incident it has, and opens none of its own', async () => {
    // Prepare
    const world: Image = { findings: ['CVE-1'] };
    const { handle, incidents, alerts } = pipelineFor(world);
    await handle();
    world.deletedButRunning = true;

    // Act
    await handle();

    // Assess: still open, says it is deleted but running, no new page
    expect(incidents()).toEqual([
      expect.objectContaining({
        status: 'open',
        reason: expect.stringContaining('deleted from the registry but still running'),
        evidence: expect.objectContaining({ imageDeleted: true, findingIds: 'CVE-1' }),
      }),
    ]);
    expect(alerts.sent).toHaveLength(1);

    // Act / Assess: with no incident, nothing opens
    const fresh = pipelineFor({ findings: [], deletedButRunning: true });
    await fresh.handle();
    expect(fresh.incidents()).toEqual([]);
    expect(fresh.alerts.sent).toEqual([]);
  });

  it('the sweep re-judges an incident whose image no listing shows: still running, it stays open saying so; run by nobody, it closes', async () => {
    // Prepare
    const world: Image = { findings: ['CVE-1'] };
    const { handle, sweep, incidents, alerts, store } = pipelineFor(world);
    await handle();
    world.deletedButRunning = true;

    // Act
    await sweep();

    // Assess
    expect(incidents()).toEqual([
      expect.objectContaining({
        status: 'open',
        reason: expect.stringContaining('deleted from the registry but still running'),
      }),
    ]);

    // Act: the last task stops
    world.deletedButRunning = false;
    world.deletedAndStopped = true;
    await sweep();

    // Assess: closed after a narrow read, it says what was read and pages once, so a person can
    // check what was not (EKS, Lambda, other regions, hosts)
    const [incident] = incidents();
    expect(incident).toMatchObject({ status: 'resolved', statusReason: ENDED_BY_DELETION });
    expect(await store.openDrift('image-findings-mitigated', String(incident?.resourceArn))).toBeUndefined();
    expect(alerts.sent).toHaveLength(2);
    expect(alerts.sent[1]?.subject).toMatch(/: resolved — /);
    expect(alerts.sent[1]?.message).toContain('EKS, Lambda, other regions and hosts not read');

    // Act: a later sweep and a late delivery find nothing more to say
    await sweep();
    await handle();

    // Assess
    expect(alerts.sent).toHaveLength(2);
  });

  it('a deletion that ends an incident still pages after a crash between closing it and the alert', async () => {
    // Prepare
    const world: Image = { findings: ['CVE-1'] };
    let later = 0;
    const { handle, sweep, incidents, alerts, store } = pipelineFor(
      world,
      () => new Date(Date.now() + later),
    );
    await handle();
    world.deletedAndStopped = true;
    const publish = alerts.publish.bind(alerts);
    alerts.publish = async () => {
      throw new Error('process killed');
    };
    await sweep().catch(() => undefined);
    alerts.publish = publish;
    expect(alerts.sent).toHaveLength(1);

    // Act: the next sweep, once the stale window has passed
    later = 86_400_000;
    await sweep();

    // Assess
    const [incident] = incidents();
    expect(incident).toMatchObject({ status: 'resolved', statusReason: ENDED_BY_DELETION });
    expect(alerts.sent).toHaveLength(2);
    expect(await store.openDrift('image-findings-mitigated', String(incident?.resourceArn))).toBeUndefined();
  });
});
