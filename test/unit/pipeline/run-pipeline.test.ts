import { RemediationDeclined } from '../../../shared/errors';
import type { Exemption } from '../../../shared/exemptions/ledger';
import type { Incident } from '../../../shared/model';
import type { AlertMessage } from '../../../shared/pipeline/alerts';
import { defineRule, type Loaded, type Rule } from '../../../shared/rules/rule';
import { anIncident } from '../../support/incident';
import { type Lamp, lampRule, observation, pipelineFor } from '../../support/lamp';
import { MemoryIncidentStore } from '../../support/memory-store';

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

  it("verifies by the rule's narrower re-read where it has one, never a second full load", async () => {
    // Prepare: the re-read reads only the lamp; identity and tags come from the load before
    const world = { lamp: { on: false } };
    const base = lampRule(world, async (_r, _f, ctx) => {
      await ctx.step('TurnOn', async () => {
        world.lamp.on = true;
      });
    }) as Rule<Lamp>;
    const loads = jest.fn(base.load);
    const reloads = jest.fn(async (before: Loaded<Lamp>) => ({ ...before, state: { ...world.lamp } }));
    const rule = defineRule<Lamp>({ ...base, load: loads, reload: reloads });
    const { pipeline, only } = pipelineFor(rule);
    // Act
    await pipeline.handle({ kind: 'resources', observations: [observation] });
    // Assess
    expect(only()[0]?.status).toBe('remediated');
    expect(loads).toHaveBeenCalledTimes(1);
    expect(reloads).toHaveBeenCalledTimes(1);
    expect(reloads.mock.calls[0]?.[0]).toMatchObject({ arn: 'arn:lamp', state: { on: false } });
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

  it("sweeps a rule's regionless resources once, even when the swept regions leave out us-east-1", async () => {
    // Prepare: lamps in each region, and one lamp that belongs to no region (as IAM users do)
    const lamp = (region: string, id: string): Loaded<Lamp> => ({
      resourceType: 'AWS::::Account',
      resourceId: id,
      arn: `arn:lamp:${id}`,
      region,
      accountId: '111122223333',
      tags: {},
      state: { on: true },
    });
    const listed: string[] = [];
    const rule = defineRule<Lamp>({
      ...lampRule({ lamp: { on: true } }, async () => undefined),
      async *list(scope) {
        listed.push(scope.region);
        yield lamp(scope.region, `lamp-${scope.region}`);
      },
      async *listGlobal() {
        listed.push('global');
        yield lamp('us-east-1', 'lamp-global');
      },
    } as Rule<Lamp>);
    const { pipeline } = pipelineFor(rule, { SWEEP_REGIONS: 'eu-west-1,eu-central-1' });
    // Act
    const swept = await pipeline.handle({
      kind: 'sweep',
      sweep: { ...observation, region: 'eu-west-1', eventId: 'sweep-3', source: 'schedule' },
    });
    const evaluated = await pipeline.handle({
      kind: 'sweep',
      sweep: { ...observation, region: 'eu-west-1', eventId: 'evaluation-1', source: 'config-rule' },
    });
    // Assess: the schedule covers both regions and the global lamp; Config's evaluation its own region
    expect(swept.map((outcome) => outcome.resourceId).sort()).toEqual([
      'lamp-eu-central-1',
      'lamp-eu-west-1',
      'lamp-global',
    ]);
    expect(evaluated.map((outcome) => outcome.resourceId)).toEqual(['lamp-eu-west-1']);
    expect(listed.filter((scope) => scope === 'global')).toEqual(['global']);
  });

  it('reads the drift locks of a sweep once, and resolves only the compliant resource that holds one', async () => {
    // Prepare: a lamp that drifted (its incident holds the lock) and is on again, and 20 lamps always on
    const world = { lamp: { on: false } };
    const rule = lampRule(world, async () => undefined);
    const { pipeline, store, only } = pipelineFor(rule, { MODE_EBS_ENCRYPTION_BY_DEFAULT: 'notify' });
    await pipeline.handle({ kind: 'resources', observations: [observation] });
    world.lamp.on = true;
    const others = Array.from({ length: 20 }, (_, index) => `arn:lamp:other-${index}`);
    const swept = defineRule<Lamp>({
      ...(rule as Rule<Lamp>),
      async *list() {
        yield* (rule as Rule<Lamp>).list(
          { accountId: '111122223333', region: 'us-east-1' },
          {} as never,
          {} as never,
        );
        for (const arn of others)
          yield {
            resourceType: 'AWS::::Account',
            resourceId: arn,
            arn,
            region: 'us-east-1',
            accountId: '111122223333',
            tags: {},
            state: { on: true },
          };
      },
    } as Rule<Lamp>);
    const sweeper = pipelineFor(swept, { MODE_EBS_ENCRYPTION_BY_DEFAULT: 'notify' }, store).pipeline;
    const lockReads = jest.spyOn(store, 'openDrift');
    const lockQueries = jest.spyOn(store, 'heldDrifts');
    // Act
    await sweeper.handle({
      kind: 'sweep',
      sweep: { ...observation, eventId: 'sweep-locks', source: 'schedule' },
    });
    // Assess: one Query of the locks; one lock read, for the lamp whose incident held it
    expect(lockQueries).toHaveBeenCalledTimes(1);
    expect(lockReads.mock.calls.map(([, arn]) => arn)).toEqual(['arn:lamp']);
    expect(only()[0]).toMatchObject({ status: 'resolved' });
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

  describe('exemptions', () => {
    const anExemption = (overrides: Partial<Exemption> = {}): Exemption => ({
      exemptionId: 'exm-20261123T100000-0a1b2c3d',
      ruleId: 'ebs-encryption-by-default',
      resourceArn: 'arn:lamp',
      reason: 'CHG-42 photo shoot',
      until: new Date(Date.now() + 86_400_000).toISOString(),
      setBy: 'arn:aws:iam::111122223333:user/oncall-bob',
      setAt: new Date().toISOString(),
      ...overrides,
    });
    const mustNotRemediate = async () => {
      throw new Error('must not remediate an exempt resource');
    };

    it('records a finding the ledger exempts with who, why and until, without paging (no tags needed)', async () => {
      // Prepare: the lamp is account-level, without tags
      const { pipeline, only, alerts, exemptions } = pipelineFor(
        lampRule({ lamp: { on: false } }, mustNotRemediate),
      );
      const exemption = anExemption();
      await exemptions.add(exemption);
      // Act
      const outcomes = await pipeline.handle({ kind: 'resources', observations: [observation] });
      // Assess
      expect(outcomes[0]).toMatchObject({ compliance: 'NON_COMPLIANT', status: 'exempted' });
      expect(only()[0]).toMatchObject({
        status: 'exempted',
        statusReason: `exempt until ${exemption.until} by ${exemption.setBy} (${exemption.exemptionId}): CHG-42 photo shoot`,
        exemption: {
          exemptionId: exemption.exemptionId,
          reason: 'CHG-42 photo shoot',
          until: exemption.until,
          setBy: exemption.setBy,
          setAt: exemption.setAt,
        },
      });
      expect(alerts.sent).toEqual([]);
      expect(exemptions.lookups).toBe(1);
    });

    it('treats exemption tags alone as a request: remediates, pages, and says how to confirm it', async () => {
      // Prepare
      const until = new Date(Date.now() + 86_400_000).toISOString();
      const world = {
        lamp: { on: false },
        tags: {
          'compliance-responder:exempt': 'CHG-42 photo shoot',
          'compliance-responder:exempt-until': until,
        },
      };
      const rule = lampRule(world, async (_r, _f, ctx) => {
        await ctx.step('TurnOn', async () => {
          world.lamp.on = true;
        });
      });
      const { pipeline, only, alerts } = pipelineFor(rule);
      // Act
      await pipeline.handle({ kind: 'resources', observations: [observation] });
      // Assess
      const [incident] = only();
      expect(incident?.status).toBe('remediated');
      expect(incident?.exemption).toBeUndefined();
      expect(incident?.exemptionRequest?.until).toBe(until);
      expect(incident?.exemptionRequest?.note).toContain(
        'an exemption was requested by tag (compliance-responder:exempt) and is not confirmed',
      );
      expect(incident?.exemptionRequest?.note).toContain(
        `compliance-responder exemptions add arn:lamp --rule ebs-encryption-by-default --until ${until} --reason`,
      );
      // Tag values never enter the incident
      expect(JSON.stringify(incident)).not.toContain('photo shoot');
      expect(alerts.sent.map((alert) => alert.attributes.status)).toEqual(['remediated']);
    });

    it('does not exempt once the exemption has expired', async () => {
      // Prepare
      const world = { lamp: { on: false } };
      const rule = lampRule(world, async (_r, _f, ctx) => {
        await ctx.step('TurnOn', async () => {
          world.lamp.on = true;
        });
      });
      const { pipeline, only, exemptions } = pipelineFor(rule);
      await exemptions.add(anExemption({ until: new Date(Date.now() - 1000).toISOString() }));
      // Act
      await pipeline.handle({ kind: 'resources', observations: [observation] });
      // Assess
      expect(only()[0]).toMatchObject({ status: 'remediated' });
      expect(only()[0]?.exemption).toBeUndefined();
    });

    it('remediates the next delivery once the exemption is removed, keeping the exempted record', async () => {
      // Prepare: one delivery while exempt
      const world = { lamp: { on: false } };
      const rule = lampRule(world, async (_r, _f, ctx) => {
        await ctx.step('TurnOn', async () => {
          world.lamp.on = true;
        });
      });
      const { pipeline, only, alerts, exemptions } = pipelineFor(rule);
      const exemption = anExemption();
      await exemptions.add(exemption);
      await pipeline.handle({ kind: 'resources', observations: [observation] });
      // Act
      await exemptions.remove(exemption.exemptionId, 'arn:aws:iam::111122223333:user/oncall-bob', new Date());
      await pipeline.handle({ kind: 'resources', observations: [{ ...observation, eventId: 'event-2' }] });
      // Assess
      expect(only().map((incident) => incident.status)).toEqual(['exempted', 'remediated']);
      expect(alerts.sent.map((alert) => alert.attributes.status)).toEqual(['remediated']);
    });

    it('keeps one exempted incident while the exemption stays in force', async () => {
      // Prepare
      const { pipeline, only, exemptions } = pipelineFor(lampRule({ lamp: { on: false } }, mustNotRemediate));
      await exemptions.add(anExemption());
      // Act
      await pipeline.handle({ kind: 'resources', observations: [observation] });
      await pipeline.handle({ kind: 'resources', observations: [{ ...observation, eventId: 'event-2' }] });
      // Assess
      expect(only().map((incident) => incident.status)).toEqual(['exempted']);
    });
  });

  describe('an alert a crashed process left unsent', () => {
    const STALE = { REMEDIATION_STALE_SECONDS: '300' };
    const fresh = () => new Date().toISOString();
    const stale = () => new Date(Date.now() - 301_000).toISOString();
    /** The incident a process left holding the lamp's drift lock when it died before its alert went out. */
    async function leftBehind(store: MemoryIncidentStore, overrides: Partial<Incident>) {
      const incident = anIncident({ resourceArn: 'arn:lamp', alert: undefined, ...overrides });
      await store.open(incident, 'the-crashed-delivery');
      return incident.incidentId;
    }
    // Another delivery of the same drift: it collapses on the drift lock and looks at the alert.
    const redelivery = { kind: 'resources' as const, observations: [{ ...observation, eventId: 'event-2' }] };
    const offRule = () => lampRule({ lamp: { on: false } }, async () => undefined);
    const pagedFor = (sent: readonly AlertMessage[]) =>
      sent.map((alert) => (JSON.parse(JSON.parse(alert.message).default) as Incident).incidentId);

    it('does not resend a pending alert while the incident is fresh: its process may still be sending', async () => {
      // Prepare
      const store = new MemoryIncidentStore();
      await leftBehind(store, {
        status: 'remediated',
        updatedAt: fresh(),
        alert: { status: 'pending', at: fresh() },
      });
      const { pipeline, alerts } = pipelineFor(offRule(), STALE, store);
      // Act
      await pipeline.handle(redelivery);
      // Assess
      expect(alerts.sent).toEqual([]);
    });

    it('resends a pending alert once the incident is stale, exactly once under two concurrent resumers', async () => {
      // Prepare
      const store = new MemoryIncidentStore();
      const incidentId = await leftBehind(store, {
        status: 'remediated',
        updatedAt: stale(),
        alert: { status: 'pending', at: stale() },
      });
      const first = pipelineFor(offRule(), STALE, store);
      const second = pipelineFor(offRule(), STALE, store);
      // Act
      await Promise.all([first.pipeline.handle(redelivery), second.pipeline.handle(redelivery)]);
      // Assess
      const sent = [...first.alerts.sent, ...second.alerts.sent];
      expect(pagedFor(sent)).toEqual([incidentId]);
      expect(store.incidents.get(incidentId)?.alert?.status).toBe('sent');
    });

    it('pages for a stale remediated incident with no alert record at all (died before recording it)', async () => {
      // Prepare
      const store = new MemoryIncidentStore();
      const incidentId = await leftBehind(store, { status: 'remediated', updatedAt: stale() });
      const { pipeline, alerts } = pipelineFor(offRule(), STALE, store);
      // Act
      await pipeline.handle(redelivery);
      await pipeline.handle({ ...redelivery, observations: [{ ...observation, eventId: 'event-3' }] });
      // Assess: one page, not one per later delivery
      expect(pagedFor(alerts.sent)).toEqual([incidentId]);
    });

    it('pages for it when an EBS notification about its workflow comes back to it (recover, as events and the sweep do)', async () => {
      // Prepare
      const store = new MemoryIncidentStore();
      const incidentId = await leftBehind(store, {
        status: 'remediated',
        resourceId: '111122223333',
        updatedAt: stale(),
        alert: { status: 'pending', at: stale() },
      });
      const rule: Rule = {
        ...offRule(),
        incidentFor: async () => ({ incidentId, madeFrom: '111122223333' }),
      };
      const { pipeline, alerts } = pipelineFor(rule, STALE, store);
      const notified = { ...observation, source: 'ebs-notification' as const, eventName: 'createSnapshot' };
      // Act
      const [outcome] = await pipeline.handle({ kind: 'resources', observations: [notified] });
      // Assess
      expect(pagedFor(alerts.sent)).toEqual([incidentId]);
      expect(outcome).toMatchObject({ incidentId, status: 'remediated', compliance: 'COMPLIANT' });
    });

    it("never honours a claim for another account's notification: a tag naming one account's incident, on a snapshot of another account", async () => {
      // Prepare: the incident is account 111122223333's; the notification is 444455556666's, whose
      // snapshot carries that incident's tag and names a volume of the same id
      const store = new MemoryIncidentStore();
      const incidentId = await leftBehind(store, {
        status: 'remediated',
        resourceId: '111122223333',
        updatedAt: stale(),
        alert: { status: 'pending', at: stale() },
      });
      const rule: Rule = {
        ...offRule(),
        incidentFor: async () => ({ incidentId, madeFrom: '111122223333' }),
      };
      const { pipeline, alerts, only } = pipelineFor(rule, STALE, store);
      const elsewhere = {
        ...observation,
        source: 'ebs-notification' as const,
        eventName: 'createSnapshot',
        accountId: '444455556666',
      };
      // Act
      const outcomes = await pipeline.handle({ kind: 'resources', observations: [elsewhere] });
      // Assess: not its workflow: nothing paged, nothing resumed, the incident as it was
      expect(outcomes).toEqual([]);
      expect(alerts.sent).toEqual([]);
      expect(only().map((incident) => [incident.incidentId, incident.alert?.status])).toEqual([
        [incidentId, 'pending'],
      ]);
    });
  });

  describe('an incident its process opened and never decided (it died before the guard)', () => {
    const STALE = { REMEDIATION_STALE_SECONDS: '300' };
    const undecided = (updatedAt: string) =>
      anIncident({ resourceArn: 'arn:lamp', status: 'open', steps: [], alert: undefined, updatedAt });
    const redelivery = { kind: 'resources' as const, observations: [{ ...observation, eventId: 'event-2' }] };
    const lampTurnedOn = (world: { lamp: Lamp }) =>
      lampRule(world, async (_r, _f, ctx) => {
        await ctx.step('TurnOn', async () => {
          world.lamp.on = true;
        });
      });

    it('is remediated and paged once by the next delivery after the stale limit', async () => {
      // Prepare
      const store = new MemoryIncidentStore();
      const world = { lamp: { on: false } };
      const incident = undecided(new Date(Date.now() - 301_000).toISOString());
      await store.open(incident, 'the-crashed-delivery');
      const { pipeline, alerts } = pipelineFor(lampTurnedOn(world), STALE, store);
      // Act
      await pipeline.handle(redelivery);
      await pipeline.handle({ ...redelivery, observations: [{ ...observation, eventId: 'event-3' }] });
      // Assess
      expect(world.lamp.on).toBe(true);
      expect(store.incidents.get(incident.incidentId)?.status).toBe('remediated');
      expect(alerts.sent.map((alert) => alert.attributes.status)).toEqual(['remediated']);
    });

    it('is left to its process while fresh', async () => {
      // Prepare
      const store = new MemoryIncidentStore();
      const world = { lamp: { on: false } };
      const incident = undecided(new Date().toISOString());
      await store.open(incident, 'the-crashed-delivery');
      const { pipeline, alerts } = pipelineFor(lampTurnedOn(world), STALE, store);
      // Act
      await pipeline.handle(redelivery);
      // Assess
      expect(world.lamp.on).toBe(false);
      expect(store.incidents.get(incident.incidentId)?.status).toBe('open');
      expect(alerts.sent).toEqual([]);
    });
  });

  it('does nothing at all when the rule is off, and says so loudly: a warning and a RuleOff metric', async () => {
    // Prepare
    const rule = lampRule({ lamp: { on: false } }, async () => undefined);
    const warnings: string[] = [];
    const counted: string[] = [];
    const { pipeline, only } = pipelineFor(rule, { MODE_EBS_ENCRYPTION_BY_DEFAULT: 'off' }, undefined, {
      logger: { info: () => undefined, warn: (message) => warnings.push(message), error: () => undefined },
      metrics: { count: (name) => counted.push(name) },
    });
    // Act
    const outcomes = await pipeline.handle({ kind: 'resources', observations: [observation] });
    // Assess
    expect(outcomes).toEqual([]);
    expect(only()).toEqual([]);
    expect(warnings).toEqual([expect.stringContaining('rule is off')]);
    expect(counted).toEqual(['RuleOff']);
  });
});

describe('a drift found compliant again', () => {
  it('keeps an undone incident undone (a person reversed the fix on purpose) and lets go of its drift', async () => {
    // Prepare: a failed fix left the lamp off and the drift held; a person then undid the incident
    const world = { lamp: { on: false } };
    const rule = lampRule(world, async (_r, _f, ctx) => {
      await ctx.step('TurnOn', async () => {
        throw new Error('bulb missing');
      });
    });
    const { pipeline, store, only } = pipelineFor(rule);
    await pipeline.handle({ kind: 'resources', observations: [observation] });
    const [failed] = only();
    await store.setStatus(
      failed?.incidentId ?? '',
      'failed',
      'undone',
      'undone by arn:aws:iam::111122223333:user/bob',
    );
    world.lamp.on = true;
    // Act
    await pipeline.handle({ kind: 'resources', observations: [{ ...observation, eventId: 'event-2' }] });
    // Assess
    expect(only().map((incident) => incident.status)).toEqual(['undone']);
    expect(await store.openDrift(rule.id, 'arn:lamp')).toBeUndefined();
  });

  it('marks a failed incident resolved', async () => {
    // Prepare
    const world = { lamp: { on: false } };
    const rule = lampRule(world, async (_r, _f, ctx) => {
      await ctx.step('TurnOn', async () => {
        throw new Error('bulb missing');
      });
    });
    const { pipeline, only } = pipelineFor(rule);
    await pipeline.handle({ kind: 'resources', observations: [observation] });
    world.lamp.on = true;
    // Act
    await pipeline.handle({ kind: 'resources', observations: [{ ...observation, eventId: 'event-2' }] });
    // Assess
    expect(only().map((incident) => incident.status)).toEqual(['resolved']);
  });
});
