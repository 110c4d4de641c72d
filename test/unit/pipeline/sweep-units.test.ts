import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { createAwsClients } from '../../../shared/aws/clients';
import type { BlastRadiusGuard } from '../../../shared/pipeline/guards';
import { ResponsePipeline } from '../../../shared/pipeline/run-pipeline';
import { SqsUnitQueue, SWEEP_MAX_RECEIVES, type UnitOrigin } from '../../../shared/pipeline/sweep-units';
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

function setUp(env: Record<string, string> = {}, rule = lampRule([]), remainingMs?: () => number) {
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
    ...(remainingMs && { remainingMs }),
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
    expect(sent()).toEqual([unit({ cursor: '2', after: 'arn:lamp:eu-west-1:lamp-1', attempt: 2 })]);
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
    expect(sent()).toEqual([unit({ cursor: '4', after: 'arn:lamp:eu-west-1:lamp-3', attempt: 3 })]);
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
    await expect(
      pipeline.handleUnit(unit(), { ...origin, receiveCount: SWEEP_MAX_RECEIVES }),
    ).rejects.toThrow('Rate exceeded');
    // Assess
    expect(sentAfterFirst).toBe(0);
    expect(sent()).toEqual([unit({ cursor: '2', after: 'arn:lamp:eu-west-1:lamp-1', attempt: 2 })]);
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

/**
 * Lamps whose listing is an array the test can change, every one off (drift) until remediated; each
 * remediation takes `costMs` of a fake invocation clock, so a unit full of drift runs out of time.
 */
function drainingLamps(count: number, costMs: number) {
  const clock = { remaining: 60_000 };
  const lamps = Array.from({ length: count }, (_, index) => `lamp-${index}`);
  const fixed = new Set<string>();
  const remediated: string[] = [];
  /** What each lamp's remediation does besides taking time (a remediation that makes a resource). */
  const hooks: { onRemediate?: (id: string) => void; failing?: string } = {};
  const base = lampRule([]) as unknown as Rule<Lamp>;
  const rule = defineRule<Lamp>({
    ...base,
    detect: (resource, settings) => {
      if (resource.resourceId === hooks.failing) throw new Error(`${hooks.failing} could not be read`);
      return base.detect(resource, settings);
    },
    async *list(scope) {
      for (const id of [...lamps]) yield lamp(scope.region, id, fixed.has(id) || id.startsWith('new-'));
    },
    remediate: async (resource) => {
      await Promise.resolve();
      clock.remaining -= costMs;
      remediated.push(resource.resourceId);
      fixed.add(resource.resourceId);
      hooks.onRemediate?.(resource.resourceId);
      return undefined;
    },
  });
  return { clock, lamps, remediated, hooks, rule };
}

/**
 * Regionless lamps that can be listed from a place without reading the ones before it (as IAM users'
 * keys: Rule.listGlobalAfter); `loaded` names every lamp read, `listings` every listing started.
 */
function placedLamps(ids: readonly string[], off: ReadonlySet<string>) {
  const loaded: string[] = [];
  const listings: string[] = [];
  const read = (id: string) => {
    loaded.push(id);
    return lamp('us-east-1', id, !off.has(id));
  };
  const rule: Rule = {
    ...lampRule([], off),
    async *listGlobal() {
      listings.push('whole');
      for (const id of ids) yield read(id);
    },
    async *listGlobalAfter(_accountId, _aws, _settings, after) {
      listings.push(`after ${after}`);
      let passing = true;
      for (const id of ids) {
        const arn = `arn:lamp:us-east-1:${id}`;
        if (passing) yield { arn, passedOver: true as const };
        else yield read(id);
        if (arn === after) passing = false;
      }
    },
  };
  return { rule, loaded, listings };
}

describe('a regionless sweep unit resumed after its last resource', () => {
  const ids = ['lamp-0', 'lamp-1', 'lamp-2', 'lamp-3', 'lamp-4'];
  const globalUnit = (overrides: Partial<SweepUnit>) => unit({ region: 'global', ...overrides });

  it('reads only the resources after its place, passing over the ones earlier units judged', async () => {
    // Prepare
    const { rule, loaded, listings } = placedLamps(ids, new Set(['lamp-3']));
    const { pipeline, sent } = setUp({}, rule);
    // Act
    const outcomes = await pipeline.handleUnit(
      globalUnit({ cursor: '2', after: 'arn:lamp:us-east-1:lamp-1', attempt: 2 }),
      origin,
    );
    // Assess: lamp-0 and lamp-1 are not read again; the page and one past it are
    expect(listings).toEqual(['after arn:lamp:us-east-1:lamp-1']);
    expect(loaded).toEqual(['lamp-2', 'lamp-3', 'lamp-4']);
    expect(outcomes.map((outcome) => [outcome.resourceId, outcome.compliance])).toEqual([
      ['lamp-2', 'COMPLIANT'],
      ['lamp-3', 'NON_COMPLIANT'],
    ]);
    expect(sent()).toEqual([globalUnit({ cursor: '4', after: 'arn:lamp:us-east-1:lamp-3', attempt: 3 })]);
  });

  it('reads the listing whole from its cursor when its place is gone, never judging a resource it passed over', async () => {
    // Prepare: the resource the last unit judged is gone (lamp-1 deleted)
    const { rule, loaded, listings } = placedLamps(
      ids.filter((id) => id !== 'lamp-1'),
      new Set(['lamp-3']),
    );
    const { pipeline } = setUp({}, rule);
    // Act
    const outcomes = await pipeline.handleUnit(
      globalUnit({ cursor: '2', after: 'arn:lamp:us-east-1:lamp-1', attempt: 2 }),
      origin,
    );
    // Assess: every lamp went by unread, so the unit read the listing again, whole, from its cursor
    expect(listings).toEqual(['after arn:lamp:us-east-1:lamp-1', 'whole']);
    expect(loaded).toEqual(['lamp-0', 'lamp-2', 'lamp-3', 'lamp-4']);
    expect(outcomes.map((outcome) => [outcome.resourceId, outcome.compliance])).toEqual([
      ['lamp-3', 'NON_COMPLIANT'],
      ['lamp-4', 'COMPLIANT'],
    ]);
  });

  it('refuses a listing that passes over a resource after its place: nothing judged from it', async () => {
    // Prepare: a listing that breaks its word and passes over lamp-3, after the place
    const { rule } = placedLamps(ids, new Set(['lamp-3']));
    const broken: Rule = {
      ...rule,
      async *listGlobalAfter() {
        for (const id of ids) {
          const arn = `arn:lamp:us-east-1:${id}`;
          if (id === 'lamp-0' || id === 'lamp-3') yield { arn, passedOver: true as const };
          else yield lamp('us-east-1', id, true);
        }
      },
    };
    const { pipeline, store } = setUp({}, broken);
    // Act / Assess
    await expect(
      pipeline.handleUnit(
        globalUnit({ cursor: '1', after: 'arn:lamp:us-east-1:lamp-0', attempt: 2 }),
        origin,
      ),
    ).rejects.toThrow(/passed over .*lamp-3/);
    expect(store.incidents.size).toBe(0);
  });
});

describe('a sweep unit bounded by its share of the invocation', () => {
  const enforce = { SWEEP_UNIT_RESOURCES: '500', MODE_EBS_ENCRYPTION_BY_DEFAULT: 'enforce' };

  /** Runs `first` and every continuation it leads to, each in an invocation of its own (a full clock). */
  async function drain(
    pipeline: ResponsePipeline,
    sent: () => SweepUnit[],
    clock: { remaining: number },
    first: SweepUnit,
  ) {
    const judged: string[][] = [];
    let next: SweepUnit | undefined = first;
    let handled = sent().length;
    while (next && judged.length < 50) {
      clock.remaining = 60_000;
      judged.push((await pipeline.handleUnit(next, origin)).map((outcome) => outcome.resourceId));
      next = sent()[handled];
      handled = sent().length;
    }
    return judged;
  }

  it('stops taking on resources once its share is used and hands on exactly the ones it did not judge', async () => {
    // Prepare: twenty lamps off, each fix taking 10 s of a 60 s invocation
    const { clock, remediated, rule } = drainingLamps(20, 10_000);
    const { pipeline, sent, store, alerts } = setUp(enforce, rule, () => clock.remaining);
    const all = Array.from({ length: 20 }, (_, index) => `lamp-${index}`);
    // Act
    const first = (await pipeline.handleUnit(unit(), origin)).map((outcome) => outcome.resourceId);
    // Assess: it judged a prefix, started nothing once half the time was gone, and handed on the rest
    expect(first.length).toBeGreaterThan(0);
    expect(first.length).toBeLessThan(20);
    expect(first).toEqual(all.slice(0, first.length));
    expect(clock.remaining).toBeGreaterThan(0);
    expect(sent()).toEqual([
      unit({ cursor: String(first.length), after: `arn:lamp:eu-west-1:${first.at(-1)}`, attempt: 2 }),
    ]);
    // Act: the continuations, each in its own invocation
    const [continuation] = sent();
    if (!continuation) throw new Error('no continuation');
    const rest = await drain(pipeline, sent, clock, continuation);
    // Assess: every lamp judged once across the chain, remediated once, one incident and one alert each
    expect([first, ...rest].flat()).toEqual(all);
    expect(rest.length).toBeGreaterThan(1);
    expect(remediated.sort()).toEqual([...all].sort());
    expect(store.incidents.size).toBe(20);
    expect(alerts.sent).toHaveLength(20);
  });

  it('resumes right after the last resource judged when fixes add resources ahead of its place', async () => {
    // Prepare: each fix makes a new (compliant) resource that the listing shows first, as a replacement volume may
    const { clock, lamps, remediated, hooks, rule } = drainingLamps(12, 10_000);
    hooks.onRemediate = (id) => lamps.unshift(`new-${id}`);
    const { pipeline, sent } = setUp(enforce, rule, () => clock.remaining);
    const all = Array.from({ length: 12 }, (_, index) => `lamp-${index}`);
    // Act
    const judged = await drain(pipeline, sent, clock, unit());
    // Assess: the original lamps judged once each, in order, none skipped; the new ones are not this sweep's
    expect(judged.length).toBeGreaterThan(1);
    expect(judged.flat().filter((id) => id.startsWith('lamp-'))).toEqual(all);
    expect(remediated.sort()).toEqual([...all].sort());
  });

  it('is safe delivered again: no second incident, fix or alert, and every lamp still judged', async () => {
    // Prepare
    const { clock, remediated, rule } = drainingLamps(12, 10_000);
    const { pipeline, sent, store, alerts } = setUp(enforce, rule, () => clock.remaining);
    const all = Array.from({ length: 12 }, (_, index) => `lamp-${index}`);
    // Act: the first unit, then SQS delivers it again (its first run's end was not recorded)
    const first = await pipeline.handleUnit(unit(), origin);
    clock.remaining = 60_000;
    const again = await pipeline.handleUnit(unit(), { ...origin, receiveCount: 2 });
    const [one, two, ...more] = sent();
    if (!one || !two) throw new Error('no continuations');
    const chains = [
      ...(await drain(pipeline, sent, clock, one)),
      ...(await drain(pipeline, sent, clock, two)),
    ];
    // Assess: both deliveries ran out of time and handed on; between them every lamp was judged
    expect(first.length).toBeLessThan(12);
    expect(again.length).toBeLessThan(12);
    expect(more).toEqual([]);
    expect(new Set([...first, ...again].map((outcome) => outcome.resourceId).concat(chains.flat()))).toEqual(
      new Set(all),
    );
    // What was judged twice collapsed on its delivery: one fix, one incident, one alert per lamp
    expect(remediated.sort()).toEqual([...all].sort());
    expect(store.incidents.size).toBe(12);
    expect(alerts.sent).toHaveLength(12);
  });

  it('judges at least one resource however little time is left, so a chain always moves on', async () => {
    // Prepare: the invocation has less than half its time left before the unit starts judging
    const { clock, rule } = drainingLamps(3, 0);
    let calls = 0;
    const { pipeline, sent } = setUp(enforce, rule, () => (calls++ === 0 ? 60_000 : 1_000));
    // Act
    const outcomes = await pipeline.handleUnit(unit(), origin);
    // Assess
    expect(clock.remaining).toBe(60_000);
    expect(outcomes.map((outcome) => outcome.resourceId)).toEqual(['lamp-0']);
    expect(sent()).toEqual([unit({ cursor: '1', after: 'arn:lamp:eu-west-1:lamp-0', attempt: 2 })]);
  });

  it('hands nothing on before its last delivery when a resource it judged failed, then does', async () => {
    // Prepare: lamp-1 cannot be judged
    const { clock, hooks, rule } = drainingLamps(20, 10_000);
    hooks.failing = 'lamp-1';
    const { pipeline, sent } = setUp(enforce, rule, () => clock.remaining);
    // Act / Assess
    await expect(pipeline.handleUnit(unit(), origin)).rejects.toThrow('lamp-1 could not');
    expect(sent()).toEqual([]);
    clock.remaining = 60_000;
    await expect(
      pipeline.handleUnit(unit(), { ...origin, receiveCount: SWEEP_MAX_RECEIVES }),
    ).rejects.toThrow('lamp-1 could not');
    const [continuation, ...more] = sent();
    expect(more).toEqual([]);
    expect(continuation).toMatchObject({
      attempt: 2,
      after: `arn:lamp:eu-west-1:lamp-${Number(continuation?.cursor) - 1}`,
    });
  });

  it('runs out of time in the held drift the listing did not show, and the next unit judges the rest of it', async () => {
    // Prepare: the listing is compliant; six held drifts the listing does not show, each fix 10 s
    const clock = { remaining: 60_000 };
    const remediated: string[] = [];
    const arnOf = (id: string) => `arn:aws:lamp:eu-west-1:${ACCOUNT}:lamp/${id}`;
    const base = lampRule([], new Set());
    const rule = defineRule<Lamp>({
      ...(base as unknown as Rule<Lamp>),
      rejudgesHeldDrift: true,
      // What a held drift's read finds: the lamp under the ARN its lock names.
      load: async (ref) =>
        remediated.includes(ref.resourceId)
          ? undefined
          : { ...lamp(ref.region, ref.resourceId, false), arn: arnOf(ref.resourceId) },
      remediate: async (resource) => {
        await Promise.resolve();
        clock.remaining -= 10_000;
        remediated.push(resource.resourceId);
        return undefined;
      },
    });
    const { pipeline, sent, store } = setUp(enforce, rule, () => clock.remaining);
    const held = ['gone-5', 'gone-2', 'gone-0', 'gone-4', 'gone-1', 'gone-3'];
    store.heldDrifts = async () =>
      held
        .filter((id) => !remediated.includes(id))
        .map((id) => ({ resourceArn: arnOf(id), incidentId: `inc-${id}` }));
    const get = store.get.bind(store);
    store.get = async (incidentId) =>
      (await get(incidentId)) ??
      anIncident({
        incidentId,
        region: 'eu-west-1',
        account: ACCOUNT,
        resourceId: incidentId.slice('inc-'.length),
        resourceArn: arnOf(incidentId.slice('inc-'.length)),
      });
    // Act
    const judged = await drain(pipeline, sent, clock, unit({ cursor: '4', attempt: 3 }));
    // Assess: lamp-4 then the held drift in ARN order, each once, over more than one unit
    expect(judged.flat()).toEqual(['lamp-4', 'gone-0', 'gone-1', 'gone-2', 'gone-3', 'gone-4', 'gone-5']);
    expect(judged.length).toBeGreaterThan(1);
    expect(sent()[0]).toMatchObject({
      cursor: '5',
      after: 'arn:lamp:eu-west-1:lamp-4',
      heldAfter: expect.any(String),
    });
    expect(remediated.sort()).toEqual([...held].sort());
  });
});
