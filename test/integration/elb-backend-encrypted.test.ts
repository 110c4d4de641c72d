import type { HandlerResult } from '../../shared/pipeline/rule-handler';
import {
  addForwardingRule,
  addListener,
  createLoadBalancer,
  listener,
  listenerCall,
  targetGroupProtocol,
} from '../support/load-balancers';
import { LocalResponder, resetAccount } from '../support/local-responder';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const STRONG = 'ELBSecurityPolicy-TLS13-1-2-2021-06';
const loadFunction = () => require('../../functions/elb-backend-encrypted');

/**
 * moto reads a Classic listener's InstanceProtocol back as its front-end protocol, so the Classic
 * back end is judged in the unit test with the mocked SDK, not here.
 */
describe('elb-backend-encrypted end to end against moto (elbv2, acm)', () => {
  let responder: LocalResponder;
  let handle: (event: unknown) => Promise<HandlerResult>;

  beforeEach(async () => {
    await resetAccount();
    responder = await LocalResponder.provision();
    handle = responder.handlerOf(loadFunction);
  });

  it('notifies of a target group reached over HTTP behind an ALB HTTPS listener, and changes nothing', async () => {
    // Prepare: the fixture's target group is HTTP:8080
    const alb = await createLoadBalancer('ward7-backend');
    const https = await addListener(alb, 'HTTPS', 443, { policy: STRONG });
    // Act
    const result = await handle(listenerCall('CreateListener', { loadBalancerArn: alb.arn }));
    // Assess: open and paged, naming the encrypted and the plain leg
    expect(result.outcomes).toEqual([expect.objectContaining({ status: 'open' })]);
    const [incident, ...others] = await responder.incidents();
    expect(others).toEqual([]);
    expect(incident).toMatchObject({
      ruleId: 'elb-backend-encrypted',
      hipaa: ['164.312(e)(1)', '164.312(e)(2)(ii)'],
      resourceType: 'AWS::ElasticLoadBalancingV2::LoadBalancer',
      resourceArn: alb.arn,
      status: 'open',
      actor: { arn: `arn:aws:iam::${ACCOUNT}:user/dev-dana` },
      evidence: {
        loadBalancerType: 'application',
        plainBackEnds: 'ward7-backend-targets (HTTP:8080)',
        encryptedFrontEnds: 'HTTPS:443',
        encryptedLeg: 'client to load balancer',
        unencryptedLeg: 'load balancer to targets',
      },
      steps: [],
    });
    expect(incident?.reason).toContain('the back-end leg from load balancer to targets is not');
    expect(await responder.alerts()).toHaveLength(1);
    // Nothing changed: the target group and the listener read back as they were
    expect(await targetGroupProtocol(REGION, alb.targetGroupArn)).toBe('HTTP');
    expect(await listener(REGION, https)).toMatchObject({
      Protocol: 'HTTPS',
      SslPolicy: STRONG,
      DefaultActions: [expect.objectContaining({ Type: 'forward', TargetGroupArn: alb.targetGroupArn })],
    });
  });

  it('judges a CreateRule call that attaches a plain target group on the load balancer of its listener', async () => {
    // Prepare: the listener answers itself; only the rule forwards to the HTTP target group
    const alb = await createLoadBalancer('ward7-modified');
    const https = await addListener(alb, 'HTTPS', 443, {
      policy: STRONG,
      actions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404' } }],
    });
    await addForwardingRule(alb, https);
    // Act
    const result = await handle(listenerCall('CreateRule', { listenerArn: https }));
    // Assess
    expect(result.outcomes).toEqual([expect.objectContaining({ status: 'open' })]);
    const [incident] = await responder.incidents();
    expect(incident).toMatchObject({
      resourceArn: alb.arn,
      evidence: { plainBackEnds: 'ward7-modified-targets (HTTP:8080)' },
    });
  });
});
