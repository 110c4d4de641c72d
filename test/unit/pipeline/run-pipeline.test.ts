import { createAwsClients } from '../../../shared/aws/clients';
import { RemediationDeclined } from '../../../shared/errors';
import type { Observation } from '../../../shared/model';
import type { BlastRadiusGuard } from '../../../shared/pipeline/guards';
import { ResponsePipeline } from '../../../shared/pipeline/run-pipeline';
import { defineRule, type Loaded, type Rule } from '../../../shared/rules/rule';
import { testSettings } from '../../support/incident';
import { CollectingAlerts, MemoryIncidentStore } from '../../support/memory-store';

interface Lamp {
  on: boolean;
}

/** A rule about a lamp that must be on: the pipeline's behaviour without any AWS service. */
function lampRule(
  world: { lamp: Lamp; tags?: Record<string, string> },
  remediate: Rule<Lamp>['remediate'],
): Rule {
  const loaded = (): Loaded<Lamp> => ({
    resourceType: 'AWS::::Account',
    resourceId: '111122223333',
    arn: 'arn:lamp',
    region: 'us-east-1',
    accountId: '111122223333',
    tags: world.tags ?? {},
    state: { ...world.lamp },
  });
  return defineRule<Lamp>({
    id: 'ebs-encryption-by-default',
    title: 'Lamp is off',
    severity: 'HIGH',
    hipaa: ['164.312(b)'],
    runbook: 'docs/runbooks/ebs-encryption-by-default.md',
    defaultMode: 'enforce',
    resourceType: 'AWS::::Account',
    triggers: { cloudTrail: { eventSource: 'lamp', eventNames: ['TurnOff'] }, schedule: 'rate(1 hour)' },
    permissions: [],
    load: async () => loaded(),
    async *list() {
      yield loaded();
    },
    detect: (resource) =>
      resource.state.on
        ? { compliant: true }
        : { compliant: false, reason: 'lamp off', evidence: {}, plan: 'turn it on' },
    remediate,
  });
}

const observation: Observation = {
  source: 'cloudtrail',
  eventId: 'event-1',
  eventName: 'TurnOff',
  accountId: '111122223333',
  region: 'us-east-1',
  resourceType: 'AWS::::Account',
  resourceId: '111122223333',
  observedAt: '2026-11-23T10:00:00Z',
  actor: { arn: 'arn:aws:iam::111122223333:user/dev-alice' },
  summary: {},
};

function pipelineFor(rule: Rule, env: Record<string, string> = {}) {
  const store = new MemoryIncidentStore();
  const alerts = new CollectingAlerts();
  const guard = { acquire: async () => ({ allowed: true }) } as unknown as BlastRadiusGuard;
  const pipeline = new ResponsePipeline(rule, {
    aws: createAwsClients('us-east-1'),
    settings: testSettings(env),
    store,
    alerts,
    guard,
    logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
    metrics: { count: () => undefined },
    verify: { attempts: 2, delayMs: 1 },
  });
  const only = () => [...store.incidents.values()].map((incident) => structuredClone(incident));
  return { pipeline, store, alerts, only };
}

describe('the response pipeline', () => {
  it('marks the incident failed, naming the step and its error, and alerts once', async () => {
    // Prepare
    const world = { lamp: { on: false } };
    const rule = lampRule(world, async (_r, _f, ctx) => {
      await ctx.step('TurnOn', async () => {
        throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      });
    });
    const { pipeline, only, alerts } = pipelineFor(rule);
    // Act
    const outcomes = await pipeline.handle({ kind: 'resources', observations: [observation] });
    // Assess
    expect(outcomes[0]).toMatchObject({ compliance: 'NON_COMPLIANT', status: 'failed' });
    expect(only()[0]).toMatchObject({
      status: 'failed',
      statusReason: 'ThrottlingException: Rate exceeded',
      steps: [{ action: 'TurnOn', result: 'failed', error: 'ThrottlingException: Rate exceeded' }],
    });
    expect(alerts.sent.map((alert) => alert.attributes.status)).toEqual(['failed']);
  });

  it('does not call it remediated when a read shows the change did not take', async () => {
    // Prepare: the step "succeeds" but the lamp stays off
    const world = { lamp: { on: false } };
    const rule = lampRule(world, async (_r, _f, ctx) => {
      await ctx.step('TurnOn', async () => undefined);
    });
    const { pipeline, only } = pipelineFor(rule);
    // Act
    await pipeline.handle({ kind: 'resources', observations: [observation] });
    // Assess
    expect(only()[0]?.status).toBe('failed');
    expect(only()[0]?.steps.map((step) => [step.action, step.result])).toEqual([
      ['TurnOn', 'succeeded'],
      ['Verify', 'failed'],
    ]);
  });

  it('leaves a declined remediation open with its reason and alerts', async () => {
    // Prepare
    const rule = lampRule({ lamp: { on: false } }, async () => {
      throw new RemediationDeclined('the lamp belongs to an Auto Scaling group');
    });
    const { pipeline, only, alerts } = pipelineFor(rule);
    // Act
    await pipeline.handle({ kind: 'resources', observations: [observation] });
    // Assess
    expect(only()[0]).toMatchObject({
      status: 'open',
      statusReason: 'the lamp belongs to an Auto Scaling group',
    });
    expect(alerts.sent).toHaveLength(1);
  });

  it('keeps a waiting remediation open without paging until it finishes', async () => {
    // Prepare
    const world = { lamp: { on: false } };
    let calls = 0;
    const rule = lampRule(world, async (_r, _f, ctx) => {
      calls += 1;
      if (calls === 1) {
        await ctx.workflow.save({ warmingUp: true });
        return { waitingFor: 'the bulb to warm up' };
      }
      world.lamp.on = Boolean(ctx.workflow.state.warmingUp);
      return undefined;
    });
    const { pipeline, only, alerts } = pipelineFor(rule);
    // Act
    await pipeline.handle({ kind: 'resources', observations: [observation] });
    const waiting = only()[0];
    await pipeline.handle({
      kind: 'sweep',
      sweep: { ...observation, eventId: 'sweep-1', source: 'schedule' },
    });
    // Assess
    expect(waiting).toMatchObject({ status: 'remediating', workflow: { waitingFor: 'the bulb to warm up' } });
    expect(only()).toHaveLength(1);
    expect(only()[0]?.status).toBe('remediated');
    expect(alerts.sent.map((alert) => alert.attributes.status)).toEqual(['remediated']);
  });

  it('fails and pages a remediation still waiting past the stuck limit, naming what it waited for', async () => {
    // Prepare
    const rule = lampRule({ lamp: { on: false } }, async () => ({ waitingFor: 'snapshot snap-1 (3%)' }));
    const { pipeline, store, only, alerts } = pipelineFor(rule, { WORKFLOW_STUCK_MINUTES: '60' });
    await pipeline.handle({ kind: 'resources', observations: [observation] });
    const [waiting] = only();
    const incident = store.incidents.get(waiting?.incidentId ?? '');
    if (!incident?.workflow) throw new Error('expected a waiting workflow');
    incident.workflow.startedAt = new Date(Date.now() - 61 * 60_000).toISOString();
    // Act
    await pipeline.handle({
      kind: 'sweep',
      sweep: { ...observation, eventId: 'sweep-2', source: 'schedule' },
    });
    // Assess
    expect(only()[0]).toMatchObject({ status: 'failed' });
    expect(only()[0]?.statusReason).toContain(
      'stuck: still waiting for snapshot snap-1 (3%) after 60 minutes',
    );
    expect(alerts.sent.map((alert) => alert.attributes.status)).toEqual(['failed']);
  });

  it('records an exempted finding without paging anyone', async () => {
    // Prepare
    const until = new Date(Date.now() + 86_400_000).toISOString();
    const world = {
      lamp: { on: false },
      tags: {
        'compliance-responder:exempt': 'CHG-42 photo shoot',
        'compliance-responder:exempt-until': until,
      },
    };
    const rule = lampRule(world, async () => {
      throw new Error('must not remediate an exempt resource');
    });
    const { pipeline, only, alerts } = pipelineFor(rule);
    // Act
    await pipeline.handle({ kind: 'resources', observations: [observation] });
    // Assess
    expect(only()[0]).toMatchObject({ status: 'exempted' });
    expect(alerts.sent).toEqual([]);
  });

  it('does nothing at all when the rule is off', async () => {
    // Prepare
    const rule = lampRule({ lamp: { on: false } }, async () => undefined);
    const { pipeline, only } = pipelineFor(rule, { MODE_EBS_ENCRYPTION_BY_DEFAULT: 'off' });
    // Act
    const outcomes = await pipeline.handle({ kind: 'resources', observations: [observation] });
    // Assess
    expect(outcomes).toEqual([]);
    expect(only()).toEqual([]);
  });
});
