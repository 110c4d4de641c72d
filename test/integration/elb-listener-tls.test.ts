import { AddTagsCommand, RemoveTagsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { scheduledEvent } from '../../scripts/lib/events';
import type { HandlerResult } from '../../shared/pipeline/rule-handler';
import { runCli } from '../support/cli';
import {
  addForwardingRule,
  addListener,
  createLoadBalancer,
  elbv2,
  listener,
  listenerCall,
} from '../support/load-balancers';
import { LocalResponder, resetAccount } from '../support/local-responder';
import { recordCalls } from '../support/recorder';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const STRONG = 'ELBSecurityPolicy-TLS13-1-2-2021-06';
const loadFunction = () => require('../../functions/elb-listener-tls');

describe('elb-listener-tls end to end against moto (elbv2, acm)', () => {
  let responder: LocalResponder;
  let handle: (event: unknown) => Promise<HandlerResult>;

  beforeEach(async () => {
    await resetAccount();
    responder = await LocalResponder.provision();
    handle = responder.handlerOf(loadFunction);
  });

  it('sets the strong policy on an NLB TLS listener on 2016-08, reads it back and records the undo', async () => {
    // Prepare
    const nlb = await createLoadBalancer('tls-front', 'network');
    const tls = await addListener(nlb, 'TLS', 443, { policy: 'ELBSecurityPolicy-2016-08' });
    // Act
    const result = await handle(listenerCall('CreateListener', { loadBalancerArn: nlb.arn }));
    // Assess: the listener now reads with the configured policy
    expect((await listener(REGION, tls))?.SslPolicy).toBe(STRONG);
    expect(result.outcomes).toEqual([expect.objectContaining({ status: 'remediated' })]);
    const [incident, ...others] = await responder.incidents();
    expect(others).toEqual([]);
    expect(incident).toMatchObject({
      ruleId: 'elb-listener-tls',
      hipaa: ['164.312(e)(1)', '164.312(e)(2)(ii)'],
      resourceType: 'AWS::ElasticLoadBalancingV2::LoadBalancer',
      resourceArn: nlb.arn,
      status: 'remediated',
      actor: { arn: `arn:aws:iam::${ACCOUNT}:user/dev-dana` },
      evidence: { loadBalancerType: 'network', weakTlsListeners: expect.stringContaining('TLSv1, TLSv1.1') },
    });
    expect(incident?.steps).toEqual([
      expect.objectContaining({
        action: 'ModifyListener',
        result: 'succeeded',
        undo: {
          service: 'elasticloadbalancing',
          action: 'ModifyListener',
          input: { ListenerArn: tls, SslPolicy: 'ELBSecurityPolicy-2016-08', Region: REGION },
        },
      }),
      expect.objectContaining({ action: 'Verify', result: 'succeeded' }),
    ]);
    expect(await responder.alerts()).toHaveLength(1);
  });

  it('finds an ALB HTTPS listener on the API default policy from the sweep', async () => {
    // Prepare: no SslPolicy given, so the API default (2016-08, TLS 1.0 and 1.1 allowed)
    const alb = await createLoadBalancer('api-default');
    const https = await addListener(alb, 'HTTPS', 443);
    expect((await listener(REGION, https))?.SslPolicy).toBe('ELBSecurityPolicy-2016-08');
    // Act
    await handle(scheduledEvent({ accountId: ACCOUNT, region: REGION }));
    // Assess
    expect((await listener(REGION, https))?.SslPolicy).toBe(STRONG);
    const [incident] = await responder.incidents();
    expect(incident).toMatchObject({ status: 'remediated', trigger: { source: 'schedule' } });
  });

  it('redirects HTTP:80 to HTTPS:443 when the ALB has both, verified by reading the listener back', async () => {
    // Prepare
    const alb = await createLoadBalancer('both');
    await addListener(alb, 'HTTPS', 443, { policy: STRONG });
    const http = await addListener(alb, 'HTTP', 80);
    // Act
    await handle(listenerCall('CreateListener', { loadBalancerArn: alb.arn }));
    // Assess
    const after = await listener(REGION, http);
    expect(after?.DefaultActions).toEqual([
      expect.objectContaining({
        Type: 'redirect',
        RedirectConfig: expect.objectContaining({ Protocol: 'HTTPS', Port: '443', StatusCode: 'HTTP_301' }),
      }),
    ]);
    const [incident] = await responder.incidents();
    expect(incident?.status).toBe('remediated');
    expect(incident?.steps[0]?.undo?.input).toMatchObject({
      ListenerArn: http,
      DefaultActions: [expect.objectContaining({ Type: 'forward', TargetGroupArn: alb.targetGroupArn })],
    });
  });

  it('reports a listener rule forwarding HTTP and never rewrites it', async () => {
    // Prepare: HTTP redirects by default, but one rule forwards /api/* over plain HTTP
    const alb = await createLoadBalancer('rule-forward');
    await addListener(alb, 'HTTPS', 443, { policy: STRONG });
    const http = await addListener(alb, 'HTTP', 80, {
      actions: [
        { Type: 'redirect', RedirectConfig: { Protocol: 'HTTPS', Port: '443', StatusCode: 'HTTP_301' } },
      ],
    });
    const ruleArn = await addForwardingRule(alb, http);
    // Act
    await handle(listenerCall('CreateRule', { listenerArn: http }));
    // Assess: open, naming the rule; the rule is still there, unchanged
    const [incident] = await responder.incidents();
    expect(incident).toMatchObject({
      status: 'open',
      statusReason: expect.stringContaining(`forward plain HTTP (reported, never rewritten): ${ruleArn}`),
      steps: [],
    });
    expect(await responder.alerts()).toHaveLength(1);
  });

  it('declines an ALB with only HTTP, saying why, and changes nothing', async () => {
    // Prepare
    const alb = await createLoadBalancer('http-only');
    const http = await addListener(alb, 'HTTP', 80);
    const before = await listener(REGION, http);
    // Act
    await handle(listenerCall('CreateListener', { loadBalancerArn: alb.arn }));
    // Assess
    const [incident] = await responder.incidents();
    expect(incident).toMatchObject({
      status: 'open',
      statusReason: expect.stringContaining('no HTTPS listener on 443 to redirect to'),
    });
    expect(await listener(REGION, http)).toEqual(before);
  });

  it('fixes several listeners of one load balancer in one incident, and each undo restores its own policy', async () => {
    // Prepare
    const alb = await createLoadBalancer('several');
    const first = await addListener(alb, 'HTTPS', 443, { policy: 'ELBSecurityPolicy-2016-08' });
    const second = await addListener(alb, 'HTTPS', 8443, { policy: 'ELBSecurityPolicy-TLS-1-1-2017-01' });
    const http = await addListener(alb, 'HTTP', 80);
    // Act
    await handle(listenerCall('ModifyListener', { listenerArn: second }));
    // Assess
    const [incident, ...others] = await responder.incidents();
    expect(others).toEqual([]);
    expect(incident?.status).toBe('remediated');
    for (const arn of [first, second]) expect((await listener(REGION, arn))?.SslPolicy).toBe(STRONG);
    expect((await listener(REGION, http))?.DefaultActions?.[0]?.Type).toBe('redirect');
    expect(incident?.steps.map((step) => step.undo?.input)).toEqual([
      { ListenerArn: first, SslPolicy: 'ELBSecurityPolicy-2016-08', Region: REGION },
      { ListenerArn: second, SslPolicy: 'ELBSecurityPolicy-TLS-1-1-2017-01', Region: REGION },
      expect.objectContaining({ ListenerArn: http }),
      undefined,
    ]);
  });

  it('incidents undo restores the previous policies and default actions exactly', async () => {
    // Prepare
    const alb = await createLoadBalancer('undo');
    const https = await addListener(alb, 'HTTPS', 443, { policy: 'ELBSecurityPolicy-2016-08' });
    const http = await addListener(alb, 'HTTP', 80);
    const before = [await listener(REGION, https), await listener(REGION, http)];
    await handle(listenerCall('CreateListener', { loadBalancerArn: alb.arn }));
    const [incident] = await responder.incidents();
    expect(incident?.status).toBe('remediated');
    // Act
    const undo = await runCli(
      ['incidents', 'undo', incident?.incidentId ?? '', '--yes', '--reason', 'change window CHG-12'],
      {
        INCIDENT_TABLE: responder.stack.tableName,
      },
    );
    // Assess
    expect(undo.stdout).toContain('2 call(s) succeeded');
    expect([await listener(REGION, https), await listener(REGION, http)]).toEqual(before);
  });

  describe('narrowed by elbListenerScope to tagged load balancers, never silently', () => {
    /** The scope's value is configuration: it never appears in a note, incident or alert. */
    const SCOPE_VALUE = 'ward-seven';
    const NARROWED = { ELB_LISTENER_SCOPE: `tag:phi=${SCOPE_VALUE}` };
    const ELB_WRITES = [
      'ModifyListener',
      'ModifyRule',
      'DeleteListener',
      'DeleteRule',
      'AddTags',
      'RemoveTags',
    ];

    it('fixes the tagged ALB, leaves the untagged one unjudged and says so (NOT_APPLICABLE naming the scope)', async () => {
      // Prepare: two ALBs on the weak API default, one tagged into the scope
      const tagged = await createLoadBalancer('phi-front');
      const untagged = await createLoadBalancer('build-front');
      const taggedHttps = await addListener(tagged, 'HTTPS', 443);
      const untaggedHttps = await addListener(untagged, 'HTTPS', 443);
      await elbv2(REGION).send(
        new AddTagsCommand({ ResourceArns: [tagged.arn], Tags: [{ Key: 'phi', Value: SCOPE_VALUE }] }),
      );
      const narrowed = responder.handlerOf(loadFunction, NARROWED);
      // Act
      const result = await narrowed(scheduledEvent({ accountId: ACCOUNT, region: REGION }));
      // Assess
      expect((await listener(REGION, taggedHttps))?.SslPolicy).toBe(STRONG);
      expect((await listener(REGION, untaggedHttps))?.SslPolicy).toBe('ELBSecurityPolicy-2016-08');
      const byArn = Object.fromEntries(result.outcomes.map((outcome) => [outcome.resourceId, outcome]));
      expect(byArn[untagged.arn]).toMatchObject({
        compliance: 'NOT_APPLICABLE',
        note: 'out of scope (elbListenerScope tag:phi): not judged',
        outOfScope: true,
      });
      expect(byArn[tagged.arn]).toMatchObject({ status: 'remediated' });
      expect((await responder.incidents()).map((incident) => incident.resourceArn)).toEqual([tagged.arn]);
    });

    it('records and pages a RemoveTags that takes an ALB out of the scope, and changes nothing', async () => {
      // Prepare: an in-scope ALB on the weak default; someone removes its scope tag
      const alb = await createLoadBalancer('leaving');
      const https = await addListener(alb, 'HTTPS', 443);
      await elbv2(REGION).send(
        new AddTagsCommand({ ResourceArns: [alb.arn], Tags: [{ Key: 'phi', Value: SCOPE_VALUE }] }),
      );
      await elbv2(REGION).send(new RemoveTagsCommand({ ResourceArns: [alb.arn], TagKeys: ['phi'] }));
      const before = await listener(REGION, https);
      const enforce = responder.handlerOf(loadFunction, { ...NARROWED, MODE_ELB_LISTENER_TLS: 'enforce' });
      // Act
      const calls = await recordCalls(() =>
        enforce(listenerCall('RemoveTags', { resourceArns: [alb.arn], tagKeys: ['phi'] })),
      );
      // Assess: recorded and paged; no ELB write, the listener as it was
      expect(calls.filter((call) => ELB_WRITES.includes(call.action))).toEqual([]);
      expect(await listener(REGION, https)).toEqual(before);
      const [incident, ...others] = await responder.incidents();
      expect(others).toEqual([]);
      expect(incident).toMatchObject({
        resourceArn: alb.arn,
        status: 'open',
        trigger: { eventName: 'RemoveTags' },
        actor: { arn: `arn:aws:iam::${ACCOUNT}:user/dev-dana` },
        evidence: { leftScopeBy: 'RemoveTags', scope: 'tag:phi', scopeSetting: 'elbListenerScope' },
        reason: expect.stringContaining('its phi tag was removed (RemoveTags)'),
      });
      const alerts = await responder.alerts();
      expect(alerts).toHaveLength(1);
      expect(JSON.stringify({ incident, alerts })).not.toContain(SCOPE_VALUE);
    });

    it('changes nothing for a forged RemoveTags: the fresh read still shows the tag', async () => {
      // Prepare: the tag is still there, and the listener is strong
      const alb = await createLoadBalancer('forged');
      await addListener(alb, 'HTTPS', 443, { policy: STRONG });
      await elbv2(REGION).send(
        new AddTagsCommand({ ResourceArns: [alb.arn], Tags: [{ Key: 'phi', Value: SCOPE_VALUE }] }),
      );
      const enforce = responder.handlerOf(loadFunction, { ...NARROWED, MODE_ELB_LISTENER_TLS: 'enforce' });
      // Act
      const result = await enforce(listenerCall('RemoveTags', { resourceArns: [alb.arn], tagKeys: ['phi'] }));
      // Assess
      expect(result.outcomes).toEqual([expect.objectContaining({ compliance: 'COMPLIANT' })]);
      expect(await responder.incidents()).toEqual([]);
      expect(await responder.alerts()).toEqual([]);
    });
  });
});
