import { scheduledEvent } from '../../scripts/lib/events';
import type { HandlerResult } from '../../shared/pipeline/rule-handler';
import { runCli } from '../support/cli';
import {
  classicCall,
  classicListenerPolicies,
  createClassicLoadBalancer,
  setStickyAndNegotiation,
} from '../support/load-balancers';
import { LocalResponder, resetAccount } from '../support/local-responder';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const OURS = 'compliance-responder-ELBSecurityPolicy-TLS-1-2-2017-01';
const loadFunction = () => require('../../functions/elb-classic-listener-tls');

/**
 * moto gaps, covered with the mock in test/unit/rules/elb-classic-listener-tls.test.ts: moto reads a Classic
 * listener's InstanceProtocol back as its front-end protocol (so every listener here is HTTPS to
 * HTTPS or HTTP to HTTP), and accepts any name in SetLoadBalancerPoliciesOfListener, a bare
 * predefined policy name included (AWS needs a policy of the load balancer). moto serves no
 * predefined policies: scripts/moto/sitecustomize.py serves the three these tests reference.
 */
describe('elb-classic-listener-tls end to end against moto (elb, acm)', () => {
  let responder: LocalResponder;
  let handle: (event: unknown) => Promise<HandlerResult>;

  beforeEach(async () => {
    await resetAccount();
    responder = await LocalResponder.provision();
    handle = responder.handlerOf(loadFunction);
  });

  it('sets a policy referencing TLS-1-2-2017-01 on a weak HTTPS listener, keeping its stickiness policy', async () => {
    // Prepare
    const name = await createClassicLoadBalancer('sticky-front', [
      { Protocol: 'HTTPS', LoadBalancerPort: 443, InstanceProtocol: 'HTTPS', InstancePort: 8443 },
    ]);
    const before = await setStickyAndNegotiation(name, 443, ['TLSv1', 'TLSv1.1', 'TLSv1.2']);
    // Act
    const result = await handle(classicCall('SetLoadBalancerPoliciesOfListener', name));
    // Assess: stickiness kept, the weak negotiation policy replaced by the responder's
    expect(await classicListenerPolicies(name, 443)).toEqual(['sticky', OURS]);
    expect(result.outcomes).toEqual([expect.objectContaining({ status: 'remediated' })]);
    const [incident, ...others] = await responder.incidents();
    expect(others).toEqual([]);
    expect(incident).toMatchObject({
      ruleId: 'elb-classic-listener-tls',
      hipaa: ['164.312(e)(1)', '164.312(e)(2)(ii)'],
      resourceType: 'AWS::ElasticLoadBalancing::LoadBalancer',
      resourceId: name,
      status: 'remediated',
      actor: { arn: `arn:aws:iam::${ACCOUNT}:user/dev-dana` },
      evidence: { weakTlsListeners: 'HTTPS:443 negotiation allows TLSv1, TLSv1.1' },
    });
    expect(incident?.steps).toEqual([
      expect.objectContaining({ action: 'CreateLoadBalancerPolicy', result: 'succeeded' }),
      expect.objectContaining({
        action: 'SetLoadBalancerPoliciesOfListener',
        result: 'succeeded',
        undo: {
          service: 'elasticloadbalancing',
          action: 'SetLoadBalancerPoliciesOfListener',
          input: { LoadBalancerName: name, LoadBalancerPort: 443, PolicyNames: before, Region: REGION },
        },
      }),
      expect.objectContaining({ action: 'Verify', result: 'succeeded' }),
    ]);
    expect(await responder.alerts()).toHaveLength(1);
  });

  it('reports an HTTP front end from the sweep and changes nothing', async () => {
    // Prepare
    const name = await createClassicLoadBalancer('plain-front', [
      { Protocol: 'HTTP', LoadBalancerPort: 80, InstanceProtocol: 'HTTP', InstancePort: 8080 },
    ]);
    // Act
    await handle(scheduledEvent({ accountId: ACCOUNT, region: REGION }));
    // Assess
    const [incident] = await responder.incidents();
    expect(incident).toMatchObject({
      resourceId: name,
      status: 'open',
      statusReason: expect.stringContaining('HTTP:80 carry plain traffic from clients'),
      steps: [],
    });
    expect(await classicListenerPolicies(name, 80)).toEqual([]);
  });

  it('leaves a Classic CreateLoadBalancer to the Classic rule: the v2 listener rule neither opens an incident nor calls it gone', async () => {
    // Prepare: v2 and Classic log CreateLoadBalancer under one name and service; both functions get it
    const name = await createClassicLoadBalancer('shared-name', [
      { Protocol: 'HTTPS', LoadBalancerPort: 443, InstanceProtocol: 'HTTPS', InstancePort: 8443 },
    ]);
    const v2 = responder.handlerOf(() => require('../../functions/elb-listener-tls'));
    // Act
    const result = await v2(classicCall('CreateLoadBalancer', name));
    // Assess
    expect(result.outcomes).toEqual([]);
    expect(await responder.incidents()).toEqual([]);
  });

  it('incidents undo restores the previous policies exactly', async () => {
    // Prepare
    const name = await createClassicLoadBalancer('undo-front', [
      { Protocol: 'HTTPS', LoadBalancerPort: 443, InstanceProtocol: 'HTTPS', InstancePort: 8443 },
    ]);
    const before = await setStickyAndNegotiation(name, 443, ['TLSv1', 'TLSv1.2']);
    await handle(classicCall('CreateLoadBalancerListeners', name));
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
    expect(undo.stdout).toContain('1 call(s) succeeded');
    expect(await classicListenerPolicies(name, 443)).toEqual(before);
  });
});
