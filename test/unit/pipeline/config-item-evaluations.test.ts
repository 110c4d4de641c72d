/**
 * A Config rule invocation asks "was the configuration item Config sent compliant?" (DESIGN §9).
 * The item is judged (through the rule's configuration-item mapping); the live resource is
 * remediated from a fresh read; the evaluation names the incident and its outcome. Config is
 * mocked (GetResourceConfigHistory for an oversized item); the resource is a lamp in memory.
 */
import {
  ConfigServiceClient,
  GetResourceConfigHistoryCommand,
  PutEvaluationsCommand,
  StartConfigRulesEvaluationCommand,
} from '@aws-sdk/client-config-service';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { createAwsClients } from '../../../shared/aws/clients';
import type { Observation } from '../../../shared/model';
import type { BlastRadiusGuard } from '../../../shared/pipeline/guards';
import { ResponsePipeline } from '../../../shared/pipeline/run-pipeline';
import { notInItem } from '../../../shared/resources/config-item';
import { phiDedicatedTenancy } from '../../../shared/rules/phi-dedicated-tenancy';
import { defineRule, type Loaded, type Rule } from '../../../shared/rules/rule';
import type { RuleSetting } from '../../../shared/rules/settings';
import type { TagScope } from '../../../shared/setting-schemas';
import type { TriggerEvent } from '../../../shared/triggers/types';
import { anIncident, testSettings } from '../../support/incident';
import { CollectingAlerts, MemoryExemptionLedger, MemoryIncidentStore } from '../../support/memory-store';

const ACCOUNT = '111122223333';
const LAMP = 'AWS::Lamp::Lamp';
const ARN = `arn:aws:lamp:us-east-1:${ACCOUNT}:lamp/lamp-1`;
const config = mockClient(ConfigServiceClient);

interface Lamp {
  on: boolean;
}

/** A lamp that must be on; Config records `{ on }`, or nothing it can judge (`{ wired: ... }`). */
function lampRule(world: { lamp: Lamp }, remediate?: Rule<Lamp>['remediate']): Rule {
  const loaded = (state: Lamp): Loaded<Lamp> => ({
    resourceType: LAMP,
    resourceId: 'lamp-1',
    arn: ARN,
    region: 'us-east-1',
    accountId: ACCOUNT,
    tags: {},
    state,
  });
  return defineRule<Lamp>({
    id: 'ebs-encryption-by-default',
    title: 'Lamp is off',
    severity: 'HIGH',
    hipaa: ['164.312(b)'],
    runbook: 'docs/runbooks/ebs-encryption-by-default.md',
    readme: { enforce: 'turns the lamp on' },
    defaultMode: 'enforce',
    resourceType: LAMP,
    triggers: { configResourceTypes: [LAMP], schedule: 'rate(1 hour)' },
    permissions: [],
    fromConfigItem: {
      [LAMP]: (item) => {
        const recorded = item.configuration as { on?: boolean };
        return typeof recorded.on === 'boolean' ? loaded({ on: recorded.on }) : notInItem('the switch');
      },
    },
    load: async () => loaded({ ...world.lamp }),
    async *list() {
      yield loaded({ ...world.lamp });
    },
    detect: (resource) =>
      resource.state.on
        ? { compliant: true }
        : { compliant: false, reason: 'the lamp is off', evidence: {}, plan: 'turn it on' },
    remediate:
      remediate ??
      (async (_resource, _finding, { step }) => {
        await step('TurnOn', async () => {
          world.lamp.on = true;
        });
      }),
  });
}

/** A change notification's item, as Config sends it. */
const item = (configuration: unknown) => ({
  resourceType: LAMP,
  resourceId: 'lamp-1',
  awsRegion: 'us-east-1',
  awsAccountId: ACCOUNT,
  configurationItemStatus: 'OK',
  configurationItemCaptureTime: '2026-11-23T10:00:00.000Z',
  tags: {},
  configuration,
});

const invocation = (sent: unknown, overrides: Partial<Observation> = {}): Observation => ({
  source: 'config-rule',
  eventId: 'token-1:lamp-1',
  eventName: 'ConfigurationItemChangeNotification',
  accountId: ACCOUNT,
  region: 'us-east-1',
  resourceType: LAMP,
  resourceId: 'lamp-1',
  observedAt: '2026-11-23T10:00:00.000Z',
  configRuleName: 'compliance-responder-prod-lamp',
  sentItem: () => sent,
  summary: {},
  ...overrides,
});

function pipelineFor(rule: Rule, env: Record<string, string> = {}, store = new MemoryIncidentStore()) {
  const exemptions = new MemoryExemptionLedger();
  const pipeline = new ResponsePipeline(rule, {
    aws: createAwsClients('us-east-1'),
    settings: testSettings(env),
    store,
    alerts: new CollectingAlerts(),
    guard: { acquire: async () => ({ allowed: true }) } as unknown as BlastRadiusGuard,
    exemptions,
    logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
    metrics: { count: () => undefined },
    verify: { attempts: 2, delayMs: 1 },
  });
  const only = () => [...store.incidents.values()];
  const judge = (observation: Observation) =>
    pipeline.handle({ kind: 'resources', observations: [observation] });
  return { pipeline, judge, only, store, exemptions };
}

describe('a Config rule invocation is answered about the item Config sent', () => {
  beforeEach(() => config.reset());

  it('reports drift the item shows NON_COMPLIANT, naming the incident that remediated it', async () => {
    // Prepare
    const world = { lamp: { on: false } };
    const { judge, only } = pipelineFor(lampRule(world));
    // Act
    const [outcome] = await judge(invocation(item({ on: false })));
    // Assess: fixed from a fresh read, and the item's drift is on Config's record
    const [incident] = only();
    expect(world.lamp.on).toBe(true);
    expect(incident?.status).toBe('remediated');
    expect(outcome).toEqual({
      resourceType: LAMP,
      resourceId: 'lamp-1',
      compliance: 'NON_COMPLIANT',
      note: `remediated by ${incident?.incidentId}: the lamp is off`,
      incidentId: incident?.incidentId,
      status: 'remediated',
      remediatedNow: true,
    });
  });

  it('reports drift the CloudTrail path already fixed NON_COMPLIANT, naming that incident (a live read would say COMPLIANT)', async () => {
    // Prepare: the lamp is on again, fixed a moment earlier by an incident the CloudTrail path opened
    const world = { lamp: { on: true } };
    const store = new MemoryIncidentStore();
    const earlier = anIncident({
      incidentId: 'inc-20261123T100001-0a0a0a0a',
      resourceType: LAMP,
      resourceId: 'lamp-1',
      resourceArn: ARN,
      detectedAt: '2026-11-23T10:00:01.000Z',
    });
    store.incidents.set(earlier.incidentId, earlier);
    const { judge, only } = pipelineFor(lampRule(world), {}, store);
    // Act
    const [outcome] = await judge(invocation(item({ on: false })));
    // Assess: nothing new opened or done, and the item's drift is answered by the earlier incident
    expect(only()).toHaveLength(1);
    expect(outcome).toMatchObject({
      compliance: 'NON_COMPLIANT',
      note: 'remediated by inc-20261123T100001-0a0a0a0a: the lamp is off',
      incidentId: 'inc-20261123T100001-0a0a0a0a',
    });
  });

  it('says so when drift the item shows is gone and no incident of ours answers for it', async () => {
    // Prepare
    const world = { lamp: { on: true } };
    const { judge } = pipelineFor(lampRule(world));
    // Act
    const [outcome] = await judge(invocation(item({ on: false })));
    // Assess
    expect(outcome).toMatchObject({
      compliance: 'NON_COMPLIANT',
      note: 'no longer found by a live read (changed outside the responder): the lamp is off',
    });
  });

  it('leaves the drift open in notify mode and says so', async () => {
    // Prepare
    const world = { lamp: { on: false } };
    const { judge, only } = pipelineFor(lampRule(world), {
      MODE_EBS_ENCRYPTION_BY_DEFAULT: 'notify',
    });
    // Act
    const [outcome] = await judge(invocation(item({ on: false })));
    // Assess
    const [incident] = only();
    expect(world.lamp.on).toBe(false);
    expect(outcome).toMatchObject({
      compliance: 'NON_COMPLIANT',
      note: `left open by ${incident?.incidentId}: the lamp is off`,
      status: 'open',
    });
  });

  it('names the incident whose remediation failed', async () => {
    // Prepare
    const world = { lamp: { on: false } };
    const rule = lampRule(world, async (_resource, _finding, { step }) => {
      await step('TurnOn', async () => {
        throw new Error('switch stuck');
      });
    });
    const { judge, only } = pipelineFor(rule);
    // Act
    const [outcome] = await judge(invocation(item({ on: false })));
    // Assess
    const [incident] = only();
    expect(outcome).toMatchObject({
      compliance: 'NON_COMPLIANT',
      note: `remediation failed in ${incident?.incidentId}: the lamp is off`,
      status: 'failed',
    });
  });

  it('names the incident that recorded an exemption', async () => {
    // Prepare
    const world = { lamp: { on: false } };
    const { judge, only, exemptions } = pipelineFor(lampRule(world));
    await exemptions.add({
      exemptionId: 'exm-1',
      ruleId: 'ebs-encryption-by-default',
      resourceArn: ARN,
      reason: 'photo shoot',
      until: new Date(Date.now() + 7 * 86_400_000).toISOString(),
      setBy: 'arn:aws:iam::111122223333:user/approver',
      setAt: new Date(Date.now() - 3_600_000).toISOString(),
    });
    // Act
    const [outcome] = await judge(invocation(item({ on: false })));
    // Assess
    const [incident] = only();
    expect(outcome).toMatchObject({
      compliance: 'NON_COMPLIANT',
      note: `exempted by ${incident?.incidentId}: the lamp is off`,
      status: 'exempted',
    });
  });

  it('reports a compliant item COMPLIANT, and names drift a live read found since', async () => {
    // Prepare: the item shows the lamp on; it was switched off after Config recorded it
    const world = { lamp: { on: false } };
    const { judge, only } = pipelineFor(lampRule(world));
    // Act
    const [outcome] = await judge(invocation(item({ on: true })));
    // Assess: the later drift is handled (its own item will show it), the item was compliant
    const [incident] = only();
    expect(outcome).toMatchObject({
      compliance: 'COMPLIANT',
      note: `compliant as recorded; drift found since: remediated: incident ${incident?.incidentId}`,
    });
  });

  it('falls back to a live read, saying so, when the item lacks a fact the verdict needs', async () => {
    // Prepare
    const world = { lamp: { on: false } };
    const { judge, only } = pipelineFor(lampRule(world));
    // Act
    const [outcome] = await judge(invocation(item({ wired: true })));
    // Assess: judged as today, on the live read
    const [incident] = only();
    expect(outcome).toMatchObject({
      compliance: 'COMPLIANT',
      status: 'remediated',
      note: `remediated: incident ${incident?.incidentId} (judged on a live read: the item lacks the switch)`,
    });
  });

  it('judges an oversized item as fetched from Config, at the capture time it was sent for', async () => {
    // Prepare: the summary carries identity only; Config's history holds the item
    config.on(GetResourceConfigHistoryCommand).resolves({
      configurationItems: [
        {
          resourceType: LAMP,
          resourceId: 'lamp-1',
          awsRegion: 'us-east-1',
          accountId: ACCOUNT,
          configurationItemStatus: 'OK',
          configuration: JSON.stringify({ on: false }),
        } as never,
      ],
    });
    const world = { lamp: { on: true } };
    const { judge } = pipelineFor(lampRule(world));
    // Act
    const [outcome] = await judge(
      invocation(undefined, {
        eventName: 'OversizedConfigurationItemChangeNotification',
        sentItem: undefined,
      }),
    );
    // Assess
    expect(config).toHaveReceivedCommandWith(GetResourceConfigHistoryCommand, {
      resourceType: LAMP as never,
      resourceId: 'lamp-1',
      laterTime: new Date('2026-11-23T10:00:00.000Z'),
      limit: 1,
    });
    expect(outcome).toMatchObject({ compliance: 'NON_COMPLIANT' });
  });

  it('falls back to a live read, saying so, when Config has no item for an oversized notification', async () => {
    // Prepare
    config.on(GetResourceConfigHistoryCommand).resolves({ configurationItems: [] });
    const world = { lamp: { on: true } };
    const { judge } = pipelineFor(lampRule(world));
    // Act
    const [outcome] = await judge(
      invocation(undefined, {
        eventName: 'OversizedConfigurationItemChangeNotification',
        sentItem: undefined,
      }),
    );
    // Assess
    expect(outcome).toMatchObject({
      compliance: 'COMPLIANT',
      note: 'compliant (judged on a live read: the item lacks an item in Config at its capture time)',
    });
  });

  it('answers an item outside a narrowed scope NOT_APPLICABLE naming the scope, never COMPLIANT (shared/rules/scope.ts)', async () => {
    // Prepare: the item shows drift, but the lamp carries no scope tag; the scope is a real rule setting
    const world = { lamp: { on: false } };
    const phiScope = phiDedicatedTenancy.settings?.scope as RuleSetting<TagScope>;
    const scopedLamp = defineRule<unknown>({
      ...(lampRule(world) as Rule<unknown>),
      settings: { scope: phiScope },
      scope: { setting: phiScope, covers: 'lamp' },
    });
    const { judge, only } = pipelineFor(scopedLamp, { PHI_SCOPE: 'tag:phi=true' });
    // Act
    const [outcome] = await judge(invocation(item({ on: false })));
    // Assess
    expect(outcome).toMatchObject({
      compliance: 'NOT_APPLICABLE',
      note: 'out of scope (phiScope tag:phi): not judged as recorded',
    });
    expect(only()).toEqual([]);
    expect(world.lamp.on).toBe(false);
  });
});

describe('after answering, Config is asked to evaluate its rule again', () => {
  beforeEach(() => {
    config.reset();
    config.on(PutEvaluationsCommand).resolves({ FailedEvaluations: [] });
    config.on(StartConfigRulesEvaluationCommand).resolves({});
  });

  const invoked = (observation: Observation): TriggerEvent => ({
    kind: 'resources',
    observations: [observation],
    configEvaluation: {
      resultToken: 'token-1',
      configRuleName: 'compliance-responder-prod-lamp',
      ruleParameters: {},
      orderingTimestamp: '2026-11-23T10:00:00.000Z',
    },
  });

  it('once the evaluation is sent (Config refuses while one runs), naming the rule that invoked it', async () => {
    // Prepare
    const world = { lamp: { on: false } };
    const { pipeline, only } = pipelineFor(lampRule(world));
    const event = invoked(invocation(item({ on: false })));
    // Act
    const outcomes = await pipeline.handle(event);
    const sent = await pipeline.answer(event, outcomes);
    // Assess: the drift first, then the re-evaluation, recorded on the incident
    expect(sent).toBe(1);
    expect(config.calls().map((call) => call.args[0].constructor.name)).toEqual([
      'PutEvaluationsCommand',
      'StartConfigRulesEvaluationCommand',
    ]);
    expect(config).toHaveReceivedCommandWith(PutEvaluationsCommand, {
      Evaluations: [expect.objectContaining({ ComplianceType: 'NON_COMPLIANT' })],
    });
    expect(config).toHaveReceivedCommandWith(StartConfigRulesEvaluationCommand, {
      ConfigRuleNames: ['compliance-responder-prod-lamp'],
    });
    expect(only()[0]?.steps.map((step) => step.action)).toEqual([
      'TurnOn',
      'Verify',
      'StartConfigRulesEvaluation',
    ]);
  });

  it('not when this delivery fixed nothing (the fix was earlier: no loop of re-evaluations)', async () => {
    // Prepare
    const world = { lamp: { on: true } };
    const { pipeline } = pipelineFor(lampRule(world));
    const event = invoked(invocation(item({ on: false })));
    // Act
    await pipeline.answer(event, await pipeline.handle(event));
    // Assess
    expect(config).toHaveReceivedCommandTimes(PutEvaluationsCommand, 1);
    expect(config).not.toHaveReceivedCommand(StartConfigRulesEvaluationCommand);
  });
});

describe('the evaluation Config receives names what the incident answering for the item did', () => {
  beforeEach(() => {
    config.reset();
    config.on(PutEvaluationsCommand).resolves({ FailedEvaluations: [] });
    config.on(StartConfigRulesEvaluationCommand).resolves({});
  });

  const event = (observation: Observation): TriggerEvent => ({
    kind: 'resources',
    observations: [observation],
    configEvaluation: {
      resultToken: 'token-1',
      configRuleName: 'compliance-responder-prod-lamp',
      ruleParameters: {},
      orderingTimestamp: '2026-11-23T10:00:00.000Z',
    },
  });

  /** Handles the invocation and answers it, as the rule's handler does. */
  async function answer(pipeline: ResponsePipeline, observation: Observation): Promise<void> {
    const invoked = event(observation);
    await pipeline.answer(invoked, await pipeline.handle(invoked));
  }

  /** The one evaluation Config was sent, as PutEvaluations carried it. */
  const evaluated = (ComplianceType: string, Annotation: string) =>
    expect(config).toHaveReceivedCommandWith(PutEvaluationsCommand, {
      ResultToken: 'token-1',
      Evaluations: [
        {
          ComplianceResourceType: LAMP,
          ComplianceResourceId: 'lamp-1',
          ComplianceType,
          Annotation,
          OrderingTimestamp: new Date('2026-11-23T10:00:00.000Z'),
        },
      ],
    });

  /** A lamp rule whose fix installs a new lamp and keeps the old one, still off, as evidence. */
  function replacingLampRule(world: { lamp: Lamp; replacedBy?: string }): Rule {
    const rule = lampRule(world, async (_resource, _finding, { step, incidentId }) => {
      await step('InstallNewLamp', async () => {
        world.replacedBy = incidentId;
      });
    });
    return defineRule<unknown>({
      ...(rule as Rule<unknown>),
      keptAsEvidence: async (_resource, incident) => world.replacedBy === incident.incidentId,
    });
  }

  it('a fix in this delivery that kept the original as evidence: NON_COMPLIANT, "kept as evidence by inc-…"', async () => {
    // Prepare
    const world: { lamp: Lamp; replacedBy?: string } = { lamp: { on: false } };
    const { pipeline, only } = pipelineFor(replacingLampRule(world));
    // Act
    await answer(pipeline, invocation(item({ on: false })));
    // Assess: remediated, the original (still off) kept; Config hears the item's drift and who keeps it
    const [incident] = only();
    expect(incident?.status).toBe('remediated');
    expect(world.replacedBy).toBe(incident?.incidentId);
    evaluated('NON_COMPLIANT', `kept as evidence by ${incident?.incidentId}: the lamp is off`);
  });

  it('an original an earlier incident keeps as evidence, found by its Verify step: NON_COMPLIANT, "kept as evidence by inc-…"', async () => {
    // Prepare: the live read finds nothing to do; the newest incident verified it kept the original
    const world = { lamp: { on: true } };
    const store = new MemoryIncidentStore();
    const earlier = anIncident({
      incidentId: 'inc-20261123T100001-0e0e0e0e',
      resourceType: LAMP,
      resourceId: 'lamp-1',
      resourceArn: ARN,
      detectedAt: '2026-11-23T10:00:01.000Z',
      steps: [
        {
          action: 'Verify',
          at: '2026-11-23T10:00:02.000Z',
          result: 'succeeded',
          output: { originalKeptAsEvidence: true },
        },
      ],
    });
    store.incidents.set(earlier.incidentId, earlier);
    const { pipeline } = pipelineFor(lampRule(world), {}, store);
    // Act
    await answer(pipeline, invocation(item({ on: false })));
    // Assess
    evaluated('NON_COMPLIANT', 'kept as evidence by inc-20261123T100001-0e0e0e0e: the lamp is off');
  });

  it('a remediation left waiting for AWS: NON_COMPLIANT, "being remediated by inc-…"', async () => {
    // Prepare: the fix must wait (as a snapshot does); an event or the sweep resumes it
    const world = { lamp: { on: false } };
    const rule = lampRule(world, async () => ({ waitingFor: 'the lamp to warm up' }));
    const { pipeline, only } = pipelineFor(rule);
    // Act
    await answer(pipeline, invocation(item({ on: false })));
    // Assess
    const [incident] = only();
    expect(incident?.status).toBe('remediating');
    evaluated('NON_COMPLIANT', `being remediated by ${incident?.incidentId}: the lamp is off`);
  });

  it('drift a person fixed while its incident stood open: resolved, NON_COMPLIANT, "resolved by inc-…"', async () => {
    // Prepare: notify mode left an incident open holding the drift; the lamp is on again
    const world = { lamp: { on: true } };
    const store = new MemoryIncidentStore();
    const left = anIncident({
      incidentId: 'inc-20261123T095500-0f0f0f0f',
      resourceType: LAMP,
      resourceId: 'lamp-1',
      resourceArn: ARN,
      detectedAt: '2026-11-23T09:55:00.000Z',
      updatedAt: '2026-11-23T09:55:00.000Z',
      mode: 'notify',
      status: 'open',
      steps: [],
    });
    await store.open(left, 'e-left');
    const { pipeline } = pipelineFor(lampRule(world), {}, store);
    // Act
    await answer(pipeline, invocation(item({ on: false })));
    // Assess: the live read resolved it; the item's drift is answered by it
    expect(store.incidents.get(left.incidentId)?.status).toBe('resolved');
    evaluated('NON_COMPLIANT', 'resolved by inc-20261123T095500-0f0f0f0f: the lamp is off');
  });

  it.each([
    ['undone', 'fix undone by a person in'],
    ['suppressed', 'suppressed by'],
  ] as const)('an earlier incident now %s: NON_COMPLIANT, "%s inc-…"', async (status, words) => {
    // Prepare: the live read finds nothing to do; the newest incident about the lamp has this status
    const world = { lamp: { on: true } };
    const store = new MemoryIncidentStore();
    const earlier = anIncident({
      incidentId: 'inc-20261123T100001-0d0d0d0d',
      resourceType: LAMP,
      resourceId: 'lamp-1',
      resourceArn: ARN,
      detectedAt: '2026-11-23T10:00:01.000Z',
      status,
    });
    store.incidents.set(earlier.incidentId, earlier);
    const { pipeline, only } = pipelineFor(lampRule(world), {}, store);
    // Act
    await answer(pipeline, invocation(item({ on: false })));
    // Assess: nothing opened; Config hears the item's drift and the incident's outcome
    expect(only()).toHaveLength(1);
    evaluated('NON_COMPLIANT', `${words} inc-20261123T100001-0d0d0d0d: the lamp is off`);
  });
});
