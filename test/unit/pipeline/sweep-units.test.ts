import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { createAwsClients } from '../../../shared/aws/clients';
import type { BlastRadiusGuard } from '../../../shared/pipeline/guards';
import { ResponsePipeline } from '../../../shared/pipeline/run-pipeline';
import { SqsUnitQueue, type UnitOrigin } from '../../../shared/pipeline/sweep-units';
import { defineRule, type Loaded, type Rule } from '../../../shared/rules/rule';
import { parseSweepUnit, type SweepUnit } from '../../../shared/triggers/sweep-unit';
import { anIncident, testSettings } from '../../support/incident';
import { CollectingAlerts, MemoryExemptionLedger, MemoryIncidentStore } from '../../support/memory-store';

interface Lamp {
  on: boolean;
}

const ACCOUNT = '111122223333';
const QUEUE_URL = `https://sqs.us-east-1.amazonaws.com/${ACCOUNT}/compliance-responder-dev-ebs-encryption-by-default-sweep`;
const origin: UnitOrigin = {
  accountId: ACCOUNT,
  region: 'us-east-1',
  queueName: 'compliance-responder-dev-ebs-encryption-by-default-sweep',
  receiveCount: 1,
};

const lamp = (region: string, id: string, on: boolean): Loaded<Lamp> => ({
  resourceType: 'AWS::::Account',
  resourceId: id,
  arn: `arn:lamp:${region}:${id}`,
  region,
  accountId: ACCOUNT,
  tags: {},
  state: { on },
});

/** Lamps in every region (five, the second one off), and one regionless lamp; counts every listing. */
function lampRule(listed: string[], off: ReadonlySet<string> = new Set(['lamp-1'])): Rule {
  return defineRule<Lamp>({
    id: 'ebs-encryption-by-default',
    title: 'Lamp is off',
    severity: 'HIGH',
    hipaa: ['164.312(b)'],
    runbook: 'docs/runbooks/ebs-encryption-by-default.md',
    readme: { enforce: 'reports the lamp' },
    defaultMode: 'notify',
    resourceType: 'AWS::::Account',
    triggers: { cloudTrail: { eventNames: ['TurnOff'] }, schedule: 'rate(1 hour)' },
    permissions: [],
    load: async () => undefined,
    async *list(scope) {
      listed.push(scope.region);
      for (let index = 0; index < 5; index++) {
        const id = `lamp-${index}`;
        yield lamp(scope.region, id, !off.has(id));
      }
    },
    async *listGlobal() {
      listed.push('global');
      yield lamp('us-east-1', 'lamp-global', true);
    },
    detect: (resource) =>
      resource.state.on
        ? { compliant: true }
        : { compliant: false, reason: 'lamp off', evidence: {}, plan: 'report it' },
    remediate: async () => undefined,
  });
}

function setUp(env: Record<string, string> = {}, rule = lampRule([])) {
  const sqs = mockClient(SQSClient);
  sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
  const store = new MemoryIncidentStore();
  const alerts = new CollectingAlerts();
  const pipeline = new ResponsePipeline(rule, {
    aws: createAwsClients('us-east-1'),
    settings: testSettings({
      SWEEP_REGIONS: 'eu-west-1,eu-central-1',
      SWEEP_UNIT_RESOURCES: '2',
      MODE_EBS_ENCRYPTION_BY_DEFAULT: 'notify',
      ...env,
    }),
    store,
    alerts,
    guard: { acquire: async () => ({ allowed: true }) } as unknown as BlastRadiusGuard,
    exemptions: new MemoryExemptionLedger(),
    logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
    metrics: { count: () => undefined },
    units: new SqsUnitQueue(new SQSClient({ region: 'us-east-1' }), QUEUE_URL),
  });
  /** Every unit sent to the queue, in order. */
  const sent = (): SweepUnit[] =>
    sqs
      .commandCalls(SendMessageBatchCommand)
      .flatMap((call) => call.args[0].input.Entries ?? [])
      .map((entry) => parseSweepUnit(entry.MessageBody ?? ''));
  return { sqs, store, alerts, pipeline, sent };
}

const unit = (overrides: Partial<SweepUnit> = {}): SweepUnit => ({
  ruleId: 'ebs-encryption-by-default',
  region: 'eu-west-1',
  sweepId: 'sweep-1',
  observedAt: '2026-12-04T10:00:00Z',
  attempt: 1,
  ...overrides,
});

const scheduled = {
  kind: 'sweep' as const,
  sweep: {
    source: 'schedule' as const,
    eventId: 'sweep-1',
    eventName: 'Scheduled Event',
    accountId: ACCOUNT,
    region: 'us-east-1',
    observedAt: '2026-12-04T10:00:00Z',
  },
};

describe('a sweep in units', () => {
  it('plans one unit per swept region and one for the regionless resources, and judges nothing', async () => {
    // Prepare
    const listed: string[] = [];
    const { pipeline, sent, store, sqs } = setUp({}, lampRule(listed));
    // Act
    const outcomes = await pipeline.handle(scheduled);
    // Assess
    expect(outcomes).toEqual([]);
    expect(listed).toEqual([]);
    expect(store.incidents.size).toBe(0);
    expect(sqs).toHaveReceivedCommandWith(SendMessageBatchCommand, { QueueUrl: QUEUE_URL });
    expect(sent()).toEqual([
      unit({ region: 'eu-west-1' }),
      unit({ region: 'eu-central-1' }),
      unit({ region: 'global' }),
    ]);
  });

  it('sends at most ten units per SendMessageBatch', async () => {
    // Prepare
    const regions = [
      'us-east-1',
      'us-east-2',
      'us-west-1',
      'us-west-2',
      'eu-west-1',
      'eu-west-2',
      'eu-west-3',
    ].concat(['eu-central-1', 'eu-north-1', 'ap-south-1', 'ap-northeast-1', 'sa-east-1']);
    const { pipeline, sqs, sent } = setUp({ SWEEP_REGIONS: regions.join(',') });
    // Act
    await pipeline.handle(scheduled);
    // Assess
    const batches = sqs
      .commandCalls(SendMessageBatchCommand)
      .map((call) => call.args[0].input.Entries?.length);
    expect(batches).toEqual([10, 3]);
    expect(new Set(sent().map((each) => each.region)).size).toBe(13);
  });

  it('fails the plan when SQS refuses a unit, so the scheduled invocation is retried', async () => {
    // Prepare
    const { pipeline, sqs } = setUp();
    sqs.on(SendMessageBatchCommand).resolves({
      Successful: [],
      Failed: [{ Id: '1', Code: 'KMS.AccessDenied', SenderFault: true }],
    });
    // Act / Assess
    await expect(pipeline.handle(scheduled)).rejects.toThrow('eu-central-1: KMS.AccessDenied');
  });

  it('judges one page of a region and hands the rest of the listing on with its cursor', async () => {
    // Prepare
    const { pipeline, sent } = setUp();
    // Act
    const outcomes = await pipeline.handleUnit(unit(), origin);
    // Assess: lamp-0 and lamp-1 judged (lamp-1 is drift), the next unit starts at 2
    expect(outcomes.map((outcome) => [outcome.resourceId, outcome.compliance])).toEqual([
      ['lamp-0', 'COMPLIANT'],
      ['lamp-1', 'NON_COMPLIANT'],
    ]);
    expect(sent()).toEqual([unit({ cursor: '2', attempt: 2 })]);
  });

  it('continues from its cursor and ends the chain after the last page', async () => {
    // Prepare
    const { pipeline, sent } = setUp();
    // Act
    const middle = await pipeline.handleUnit(unit({ cursor: '2', attempt: 2 }), origin);
    const last = await pipeline.handleUnit(unit({ cursor: '4', attempt: 3 }), origin);
    // Assess
    expect(middle.map((outcome) => outcome.resourceId)).toEqual(['lamp-2', 'lamp-3']);
    expect(last.map((outcome) => outcome.resourceId)).toEqual(['lamp-4']);
    expect(sent()).toEqual([unit({ cursor: '4', attempt: 3 })]);
  });

  it('opens one incident when a unit is delivered twice (re-delivery re-sweeps the page)', async () => {
    // Prepare
    const { pipeline, store, alerts } = setUp();
    // Act
    await pipeline.handleUnit(unit(), origin);
    await pipeline.handleUnit(unit(), { ...origin, receiveCount: 2 });
    // Assess
    expect([...store.incidents.values()].map((incident) => incident.resourceId)).toEqual(['lamp-1']);
    expect(alerts.sent).toHaveLength(1);
  });

  it.each([
    ['another rule', unit({ ruleId: 'ssh-open-to-world' }), origin, 'ruleId'],
    ['a region the sweep does not cover', unit({ region: 'ap-south-1' }), origin, 'region'],
    ['another account', unit({ account: '444455556666' }), origin, 'account'],
    [
      'another queue',
      unit(),
      { ...origin, queueName: 'compliance-responder-dev-ssh-open-to-world-sweep' },
      'eventSourceARN',
    ],
  ])('refuses a unit naming %s, and changes and sends nothing', async (_what, bad, from, field) => {
    // Prepare
    const listed: string[] = [];
    const { pipeline, store, sqs } = setUp({}, lampRule(listed));
    // Act / Assess
    await expect(pipeline.handleUnit(bad, from)).rejects.toMatchObject({ name: 'ValidationError', field });
    expect(listed).toEqual([]);
    expect(store.incidents.size).toBe(0);
    expect(sqs).not.toHaveReceivedCommand(SendMessageBatchCommand);
  });

  it('does not hand a failed page on before its last delivery, then does', async () => {
    // Prepare: judging lamp-1 fails (a store that cannot open incidents)
    const { pipeline, store, sent } = setUp();
    store.open = async () => {
      throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    };
    // Act
    const first = pipeline.handleUnit(unit(), origin);
    await expect(first).rejects.toThrow('Rate exceeded');
    const sentAfterFirst = sent().length;
    await expect(pipeline.handleUnit(unit(), { ...origin, receiveCount: 3 })).rejects.toThrow(
      'Rate exceeded',
    );
    // Assess
    expect(sentAfterFirst).toBe(0);
    expect(sent()).toEqual([unit({ cursor: '2', attempt: 2 })]);
  });

  it("re-reads, on a region's last page only, the held drift the whole listing did not show", async () => {
    // Prepare: a rule that re-judges held drift; lamp-gone holds a drift lock but is not listed
    const loads: string[] = [];
    const base = lampRule([]);
    const rule = defineRule<Lamp>({
      ...(base as unknown as Rule<Lamp>),
      rejudgesHeldDrift: true,
      load: async (ref) => {
        loads.push(ref.resourceId);
        return lamp(ref.region, ref.resourceId, false);
      },
    });
    const { pipeline, store } = setUp({}, rule);
    const arn = 'arn:aws:lamp:eu-west-1:111122223333:lamp/lamp-gone';
    store.heldDrifts = async () => [{ resourceArn: arn, incidentId: 'inc-held' }];
    store.get = async () =>
      anIncident({
        incidentId: 'inc-held',
        region: 'eu-west-1',
        account: ACCOUNT,
        resourceId: 'lamp-gone',
        resourceArn: arn,
      });
    // Act
    const first = await pipeline.handleUnit(unit(), origin);
    const last = await pipeline.handleUnit(unit({ cursor: '4', attempt: 3 }), origin);
    // Assess
    expect(first.map((outcome) => outcome.resourceId)).not.toContain('lamp-gone');
    expect(last.map((outcome) => outcome.resourceId)).toEqual(['lamp-4', 'lamp-gone']);
    expect(loads).toEqual(['lamp-gone']);
  });

  it('refuses malformed units field by field', () => {
    expect(() => parseSweepUnit(JSON.stringify({ ...unit(), cursor: '-1' }))).toThrow('body.cursor');
    expect(() => parseSweepUnit(JSON.stringify({ ...unit(), extra: 1 }))).toThrow('body');
    expect(() => parseSweepUnit(JSON.stringify({ ...unit(), attempt: 10_001 }))).toThrow('body.attempt');
    expect(() => parseSweepUnit('{')).toThrow('invalid JSON string');
  });
});
