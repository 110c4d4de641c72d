/**
 * The listener rule covers every load balancer; `elbListenerScope` may narrow it, never silently
 * (issue 19): an out-of-scope load balancer is NOT_APPLICABLE naming the scope, the sweep counts
 * what it left out, a cold start warns, and an AddTags/RemoveTags that takes a load balancer out of
 * the scope is recorded and paged, confirmed by a fresh read, never remediated. The kit's scope
 * (shared/rules/scope.ts) does all of it; elbv2 and Config are mocked.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { ConfigServiceClient, PutEvaluationsCommand } from '@aws-sdk/client-config-service';
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeRulesCommand,
  DescribeSSLPoliciesCommand,
  DescribeTagsCommand,
  ElasticLoadBalancingV2Client,
  type LoadBalancer,
  ModifyListenerCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { cloudTrailEvent, humanCaller, scheduledEvent } from '../../../scripts/lib/events';
import { createAwsClients } from '../../../shared/aws/clients';
import type { BlastRadiusGuard } from '../../../shared/pipeline/guards';
import { ruleHandler } from '../../../shared/pipeline/rule-handler';
import { ResponsePipeline } from '../../../shared/pipeline/run-pipeline';
import { elbListenerTls as rule } from '../../../shared/rules/elb-listener-tls';
import { parseTriggerEvent } from '../../../shared/triggers';
import type { TriggerEvent } from '../../../shared/triggers/types';
import { testSettings } from '../../support/incident';
import { CollectingAlerts, MemoryExemptionLedger, MemoryIncidentStore } from '../../support/memory-store';

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const TAGGED = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:loadbalancer/app/ward7/50dc6c495c0c9188`;
const UNTAGGED = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:loadbalancer/app/build/60dc6c495c0c9188`;
const WEAK = 'ELBSecurityPolicy-2016-08';
/** The scope's tag value: configuration, never shown in an annotation, log, incident or alert. */
const SCOPE_VALUE = 'ward-seven-secret';
const NARROWED = { ELB_LISTENER_SCOPE: `tag:phi=${SCOPE_VALUE}` };

const elbv2 = mockClient(ElasticLoadBalancingV2Client);
const config = mockClient(ConfigServiceClient);

/** Two ALBs, each with one HTTPS listener on the weak API default; `tags` by load balancer ARN. */
function given(tags: Record<string, Record<string, string>>) {
  const balancers: LoadBalancer[] = [TAGGED, UNTAGGED].map((arn) => ({
    LoadBalancerArn: arn,
    LoadBalancerName: arn.split('/')[2],
    Type: 'application',
  }));
  elbv2.on(DescribeLoadBalancersCommand).callsFake((input: { LoadBalancerArns?: string[] }) => ({
    LoadBalancers: input.LoadBalancerArns
      ? balancers.filter((lb) => input.LoadBalancerArns?.includes(lb.LoadBalancerArn ?? ''))
      : balancers,
  }));
  elbv2.on(DescribeListenersCommand).callsFake((input: { LoadBalancerArn: string }) => ({
    Listeners: [
      {
        ListenerArn: `${input.LoadBalancerArn.replace(':loadbalancer/', ':listener/')}/aaaa000000000001`,
        Port: 443,
        Protocol: 'HTTPS',
        SslPolicy: WEAK,
        DefaultActions: [{ Type: 'forward', TargetGroupArn: 'arn:aws:elasticloadbalancing:tg' }],
      },
    ],
  }));
  elbv2.on(DescribeRulesCommand).resolves({ Rules: [] });
  elbv2.on(DescribeSSLPoliciesCommand).callsFake((input: { Names: string[] }) => ({
    SslPolicies: input.Names.map((Name) => ({
      Name,
      SslProtocols: Name === WEAK ? ['TLSv1', 'TLSv1.1', 'TLSv1.2'] : ['TLSv1.2', 'TLSv1.3'],
    })),
  }));
  elbv2.on(DescribeTagsCommand).callsFake((input: { ResourceArns: string[] }) => ({
    TagDescriptions: input.ResourceArns.map((arn) => ({
      ResourceArn: arn,
      Tags: Object.entries(tags[arn] ?? {}).map(([Key, Value]) => ({ Key, Value })),
    })),
  }));
}

function pipelineFor(env: Record<string, string>) {
  const store = new MemoryIncidentStore();
  const alerts = new CollectingAlerts();
  const logged: { level: string; message: string; details: unknown }[] = [];
  const counted: Record<string, number> = {};
  const log = (level: string) => (message: string, details?: unknown) => {
    logged.push({ level, message, details });
  };
  const settings = testSettings({ SWEEP_REGIONS: 'own-region', ...env });
  const pipeline = new ResponsePipeline(rule, {
    aws: createAwsClients('us-east-1'),
    settings,
    store,
    alerts,
    guard: { acquire: async () => ({ allowed: true }) } as unknown as BlastRadiusGuard,
    exemptions: new MemoryExemptionLedger(),
    logger: { info: log('info'), warn: log('warn'), error: log('error') },
    metrics: {
      count: (name, value = 1) => {
        counted[name] = (counted[name] ?? 0) + value;
      },
    },
    verify: { attempts: 2, delayMs: 1 },
  });
  return { pipeline, store, alerts, logged, counted };
}

const writes = () =>
  elbv2
    .calls()
    .map((call) => (call.args[0] as { constructor: { name: string } }).constructor.name)
    .filter((name) => !name.startsWith('Describe'));

/** A Config custom rule invocation about one load balancer (a change notification). */
const configInvocation = (arn: string): TriggerEvent => ({
  kind: 'resources',
  observations: [
    {
      source: 'config-rule',
      eventId: `token-1:${arn}`,
      eventName: 'ConfigurationItemChangeNotification',
      accountId: ACCOUNT,
      region: REGION,
      resourceType: 'AWS::ElasticLoadBalancingV2::LoadBalancer',
      resourceId: arn,
      observedAt: '2026-12-04T10:00:00.000Z',
      configRuleName: 'hipaa-elb-listeners',
      summary: {},
    },
  ],
  configEvaluation: {
    resultToken: 'token-1',
    configRuleName: 'hipaa-elb-listeners',
    ruleParameters: {},
    orderingTimestamp: '2026-12-04T10:00:00.000Z',
  },
});

/** An ELB v2 tag call as CloudTrail logs it (keys and values in `tags`, keys only in `tagKeys`). */
function tagCall(eventName: 'AddTags' | 'RemoveTags', arn: string, tags: Record<string, string>) {
  const event = cloudTrailEvent({
    eventName,
    eventSource: 'elasticloadbalancing.amazonaws.com',
    region: REGION,
    caller: humanCaller(ACCOUNT, 'dev-dana'),
    requestParameters:
      eventName === 'AddTags'
        ? { resourceArns: [arn], tags: Object.entries(tags).map(([key, value]) => ({ key, value })) }
        : { resourceArns: [arn], tagKeys: Object.keys(tags) },
  });
  return { ...event, detail: { ...event.detail, apiVersion: '2015-12-01' } };
}

describe('elb-listener-tls scope (elbListenerScope)', () => {
  beforeEach(() => {
    elbv2.reset();
    config.reset();
    config.on(PutEvaluationsCommand).resolves({ FailedEvaluations: [] });
  });

  describe('by default every load balancer is judged', () => {
    it('finds the weak listener of an untagged load balancer', async () => {
      // Prepare
      given({});
      const { pipeline, store } = pipelineFor({ MODE_ELB_LISTENER_TLS: 'notify' });
      // Act
      const outcomes = await pipeline.handle(configInvocation(UNTAGGED));
      // Assess
      expect(outcomes).toEqual([expect.objectContaining({ compliance: 'NON_COMPLIANT' })]);
      expect(store.incidents.size).toBe(1);
    });
  });

  describe('narrowed to a tag, never silently', () => {
    it('answers a Config evaluation of a load balancer out of scope NOT_APPLICABLE, naming the scope (not COMPLIANT)', async () => {
      // Prepare
      given({ [TAGGED]: { phi: SCOPE_VALUE } });
      const { pipeline, store } = pipelineFor({ ...NARROWED, CONFIG_TEST_MODE: 'false' });
      const event = configInvocation(UNTAGGED);
      // Act
      const outcomes = await pipeline.handle(event);
      await pipeline.answer(event, outcomes);
      // Assess
      expect(outcomes).toEqual([
        expect.objectContaining({
          resourceId: UNTAGGED,
          compliance: 'NOT_APPLICABLE',
          note: expect.stringContaining('elbListenerScope'),
        }),
      ]);
      expect(outcomes[0]?.note).toContain('tag:phi');
      expect(outcomes[0]?.note).not.toContain(SCOPE_VALUE);
      expect(config).toHaveReceivedCommandWith(PutEvaluationsCommand, {
        Evaluations: [
          expect.objectContaining({ ComplianceResourceId: UNTAGGED, ComplianceType: 'NOT_APPLICABLE' }),
        ],
      });
      expect(store.incidents.size).toBe(0);
      // Not even the listener reads a judgement needs.
      expect(elbv2).not.toHaveReceivedCommand(DescribeListenersCommand);
    });

    it('still judges a load balancer in scope', async () => {
      // Prepare
      given({ [TAGGED]: { phi: SCOPE_VALUE } });
      const { pipeline } = pipelineFor({ ...NARROWED, MODE_ELB_LISTENER_TLS: 'notify' });
      // Act
      const outcomes = await pipeline.handle(configInvocation(TAGGED));
      // Assess
      expect(outcomes).toEqual([expect.objectContaining({ compliance: 'NON_COMPLIANT' })]);
    });

    it('makes the sweep count and report the load balancers it left out of scope', async () => {
      // Prepare
      given({ [TAGGED]: { phi: SCOPE_VALUE } });
      const { pipeline, store, logged, counted } = pipelineFor({
        ...NARROWED,
        MODE_ELB_LISTENER_TLS: 'notify',
      });
      // Act
      const outcomes = await pipeline.handle(
        parseTriggerEvent(scheduledEvent({ accountId: ACCOUNT, region: REGION })),
      );
      // Assess
      expect(Object.fromEntries(outcomes.map((outcome) => [outcome.resourceId, outcome.compliance]))).toEqual(
        {
          [TAGGED]: 'NON_COMPLIANT',
          [UNTAGGED]: 'NOT_APPLICABLE',
        },
      );
      expect([...store.incidents.values()].map((incident) => incident.resourceArn)).toEqual([TAGGED]);
      expect(counted.ResourcesOutOfScope).toBe(1);
      const report = logged.find((entry) => entry.message.includes('out of scope'));
      expect(report?.details).toMatchObject({ outOfScope: 1, scope: 'tag:phi', setting: 'elbListenerScope' });
      expect(JSON.stringify(logged)).not.toContain(SCOPE_VALUE);
    });

    it('says nothing of scope in a sweep that covers every load balancer', async () => {
      // Prepare
      given({});
      const { pipeline, logged, counted } = pipelineFor({ MODE_ELB_LISTENER_TLS: 'notify' });
      // Act
      await pipeline.handle(parseTriggerEvent(scheduledEvent({ accountId: ACCOUNT, region: REGION })));
      // Assess
      expect(counted.ResourcesOutOfScope).toBeUndefined();
      expect(logged.filter((entry) => entry.message.includes('out of scope'))).toEqual([]);
    });

    describe('a cold start', () => {
      const saved = { ...process.env };
      afterEach(() => {
        process.env = { ...saved };
        jest.restoreAllMocks();
      });
      const coldStart = (env: Record<string, string>) => {
        Object.assign(process.env, {
          AWS_REGION: 'us-east-1',
          INCIDENT_TABLE: 'incidents',
          ALERT_TOPIC_ARN: `arn:aws:sns:us-east-1:${ACCOUNT}:alerts`,
          RESPONDER_ROLE_ARNS: `arn:aws:iam::${ACCOUNT}:role/responder`,
          ...env,
        });
        const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
        ruleHandler(rule);
        return warn.mock.calls.map((call) => JSON.stringify(call));
      };

      it('warns once, stating the narrowed scope (its key, never its value)', () => {
        // Act
        const warnings = coldStart(NARROWED);
        // Assess
        expect(warnings).toHaveLength(1);
        expect(warnings[0]).toContain('elbListenerScope');
        expect(warnings[0]).toContain('tag:phi');
        expect(warnings[0]).not.toContain(SCOPE_VALUE);
      });

      it('does not warn when the scope is every load balancer', () => {
        expect(coldStart({ ELB_LISTENER_SCOPE: 'all' })).toEqual([]);
      });
    });

    describe('a tag call that takes a load balancer out of the scope', () => {
      it.each([
        ['RemoveTags', { phi: SCOPE_VALUE }, 'removed'],
        ['AddTags', { phi: 'not-phi-anymore' }, 'set to a value outside the scope'],
      ] as const)(
        'records %s and pages, confirmed by a fresh read, and changes nothing',
        async (eventName, tags, how) => {
          // Prepare: the fresh read agrees: the tag is gone (or holds another value)
          given({ [TAGGED]: eventName === 'AddTags' ? { phi: 'not-phi-anymore' } : {} });
          const { pipeline, store, alerts } = pipelineFor({ ...NARROWED, MODE_ELB_LISTENER_TLS: 'enforce' });
          // Act
          const outcomes = await pipeline.handle(parseTriggerEvent(tagCall(eventName, TAGGED, tags)));
          // Assess
          const [incident, ...others] = [...store.incidents.values()];
          expect(others).toEqual([]);
          expect(incident).toMatchObject({
            resourceArn: TAGGED,
            status: 'open',
            trigger: { eventName },
            actor: { arn: `arn:aws:iam::${ACCOUNT}:user/dev-dana` },
            evidence: { leftScopeBy: eventName, scope: 'tag:phi' },
            reason: expect.stringContaining(`its phi tag was ${how} (${eventName})`),
          });
          expect(outcomes).toEqual([expect.objectContaining({ compliance: 'NON_COMPLIANT' })]);
          expect(alerts.sent).toHaveLength(1);
          expect(writes()).toEqual([]);
          expect(elbv2).not.toHaveReceivedCommand(ModifyListenerCommand);
          const shown = JSON.stringify({ incident, alerts: alerts.sent });
          expect(shown).not.toContain(SCOPE_VALUE);
          expect(shown).not.toContain('not-phi-anymore');
        },
      );

      it('changes nothing on a forged RemoveTags the fresh read contradicts (the tag is still there)', async () => {
        // Prepare: the call says the tag went; AWS still shows it, on a compliant listener
        given({ [TAGGED]: { phi: SCOPE_VALUE } });
        elbv2.on(DescribeListenersCommand).resolves({ Listeners: [] });
        const { pipeline, store, alerts } = pipelineFor({ ...NARROWED, MODE_ELB_LISTENER_TLS: 'enforce' });
        // Act
        const outcomes = await pipeline.handle(
          parseTriggerEvent(tagCall('RemoveTags', TAGGED, { phi: SCOPE_VALUE })),
        );
        // Assess
        expect(outcomes).toEqual([expect.objectContaining({ compliance: 'COMPLIANT' })]);
        expect(store.incidents.size).toBe(0);
        expect(alerts.sent).toEqual([]);
        expect(writes()).toEqual([]);
      });

      it('leaves a Classic tag call alone (another type, another rule), reading nothing', async () => {
        // Prepare
        given({});
        const { pipeline, store } = pipelineFor({ ...NARROWED, MODE_ELB_LISTENER_TLS: 'enforce' });
        const event = cloudTrailEvent({
          eventName: 'RemoveTags',
          eventSource: 'elasticloadbalancing.amazonaws.com',
          region: REGION,
          caller: humanCaller(ACCOUNT, 'dev-dana'),
          requestParameters: { loadBalancerNames: ['legacy'], tags: [{ key: 'phi' }] },
        });
        // Act
        const outcomes = await pipeline.handle(parseTriggerEvent(event));
        // Assess
        expect(outcomes).toEqual([]);
        expect(store.incidents.size).toBe(0);
        expect(elbv2.calls()).toEqual([]);
      });

      it('records a RemoveTags too long to read in full as taking the scope tag (fails closed), without failing', async () => {
        // Prepare: 40 keys (AWS allows 50), the scope's among them past the bound a call's facts keep
        given({ [TAGGED]: {} });
        const { pipeline, store, alerts } = pipelineFor({ ...NARROWED, MODE_ELB_LISTENER_TLS: 'enforce' });
        const keys = Object.fromEntries([
          ...Array.from({ length: 39 }, (_, i) => [`cost-allocation-key-${i}`, 'x']),
          ['phi', SCOPE_VALUE],
        ]);
        // Act
        const outcomes = await pipeline.handle(parseTriggerEvent(tagCall('RemoveTags', TAGGED, keys)));
        // Assess
        expect(outcomes).toEqual([expect.objectContaining({ compliance: 'NON_COMPLIANT' })]);
        expect([...store.incidents.values()]).toEqual([
          expect.objectContaining({
            resourceArn: TAGGED,
            evidence: expect.objectContaining({ leftScopeBy: 'RemoveTags' }),
          }),
        ]);
        expect(alerts.sent).toHaveLength(1);
        expect(writes()).toEqual([]);
      });

      it.each(['RemoveTags', 'sweep'] as const)(
        'pages, never closes quietly, when a load balancer with an open drift incident leaves the scope (seen by %s)',
        async (seenBy) => {
          // Prepare: notify mode, the weak listener's incident is open and holds the drift lock
          given({ [TAGGED]: { phi: SCOPE_VALUE } });
          const { pipeline, store, alerts } = pipelineFor({ ...NARROWED, MODE_ELB_LISTENER_TLS: 'notify' });
          await pipeline.handle(parseTriggerEvent(scheduledEvent({ accountId: ACCOUNT, region: REGION })));
          const [open] = [...store.incidents.values()];
          expect(open).toMatchObject({ resourceArn: TAGGED, status: 'open' });
          expect(alerts.sent).toHaveLength(1);
          // Act: the scope tag goes; the next delivery about it is the tag call, or a later sweep
          given({ [TAGGED]: {} });
          const event =
            seenBy === 'sweep'
              ? scheduledEvent({ accountId: ACCOUNT, region: REGION })
              : tagCall('RemoveTags', TAGGED, { phi: SCOPE_VALUE });
          await pipeline.handle(parseTriggerEvent(event));
          const pagedAtOnce = alerts.sent.length - 1;
          await pipeline.handle(parseTriggerEvent(scheduledEvent({ accountId: ACCOUNT, region: REGION })));
          // Assess: one page, at once, saying it left the scope with its drift unresolved; nothing changed
          const notices = alerts.sent.slice(1);
          expect(pagedAtOnce).toBe(1);
          expect(notices).toHaveLength(1);
          // The tag call opens an incident of its own about leaving; a later check finding it out of
          // scope sends a left-scope notice naming the incident it closes.
          expect(notices[0]?.attributes).toMatchObject({
            status: seenBy === 'sweep' ? 'left-scope' : 'open',
            actionNeeded: 'true',
          });
          expect(notices[0]?.message).toContain(
            seenBy === 'sweep' ? (open?.incidentId ?? '-') : 'left the scope',
          );
          expect(store.incidents.get(open?.incidentId ?? '')?.statusReason).toContain('left the scope');
          expect(writes()).toEqual([]);
          expect(JSON.stringify(notices)).not.toContain(SCOPE_VALUE);
        },
      );

      it('finds nothing new when another tag key is removed from a load balancer out of scope', async () => {
        // Prepare
        given({});
        const { pipeline, store } = pipelineFor({ ...NARROWED, MODE_ELB_LISTENER_TLS: 'enforce' });
        // Act
        const outcomes = await pipeline.handle(
          parseTriggerEvent(tagCall('RemoveTags', UNTAGGED, { team: 'x' })),
        );
        // Assess
        expect(outcomes).toEqual([expect.objectContaining({ compliance: 'NOT_APPLICABLE' })]);
        expect(store.incidents.size).toBe(0);
      });
    });
  });
});
