import {
  type Action,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeRulesCommand,
  DescribeSSLPoliciesCommand,
  DescribeTagsCommand,
  ElasticLoadBalancingV2Client,
  type Listener,
  type Rule as ListenerRule,
  type LoadBalancerTypeEnum,
  ModifyListenerCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { createAwsClients } from '../../../shared/aws/clients';
import { RemediationDeclined } from '../../../shared/errors';
import { type LoadBalancerState, elbListenerTls as rule } from '../../../shared/rules/elb-listener-tls';
import { actionsOf, type Finding } from '../../../shared/rules/rule';
import { testSettings } from '../../support/incident';
import { SentActions } from '../../support/permissions';
import { recordingContext } from '../../support/remediation';

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const LB = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:loadbalancer/app/web/50dc6c495c0c9188`;
const NLB = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:loadbalancer/net/tls/60dc6c495c0c9188`;
const listenerArn = (lb: string, id: string) => `${lb.replace(':loadbalancer/', ':listener/')}/${id}`;
const HTTPS = listenerArn(LB, 'aaaa000000000001');
const HTTP = listenerArn(LB, 'aaaa000000000002');
const ref = (arn = LB) => ({
  resourceType: 'AWS::ElasticLoadBalancingV2::LoadBalancer',
  resourceId: arn,
  region: REGION,
  accountId: ACCOUNT,
});

const POLICIES: Record<string, string[]> = {
  'ELBSecurityPolicy-2016-08': ['TLSv1', 'TLSv1.1', 'TLSv1.2'],
  'ELBSecurityPolicy-TLS13-1-2-2021-06': ['TLSv1.2', 'TLSv1.3'],
  'ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04': ['TLSv1.2', 'TLSv1.3'],
  'ELBSecurityPolicy-TLS13-1-1-2021-06': ['TLSv1.1', 'TLSv1.2', 'TLSv1.3'],
};
const FORWARD: Action[] = [{ Type: 'forward', TargetGroupArn: 'arn:aws:elasticloadbalancing:tg' }];

describe('rule elb-listener-tls', () => {
  const elbv2 = mockClient(ElasticLoadBalancingV2Client);
  const aws = createAwsClients('us-east-1');
  const sent = new SentActions();
  const settings = testSettings();

  function given(
    listeners: Listener[],
    options: { type?: LoadBalancerTypeEnum; arn?: string; rules?: ListenerRule[] } = {},
  ) {
    const arn = options.arn ?? LB;
    elbv2.on(DescribeLoadBalancersCommand).resolves({
      LoadBalancers: [{ LoadBalancerArn: arn, LoadBalancerName: 'web', Type: options.type ?? 'application' }],
    });
    elbv2.on(DescribeListenersCommand).resolves({ Listeners: listeners });
    elbv2.on(DescribeRulesCommand).resolves({
      Rules: [{ RuleArn: 'default', IsDefault: true, Actions: FORWARD }, ...(options.rules ?? [])],
    });
    elbv2.on(DescribeSSLPoliciesCommand).callsFake((input: { Names: string[] }) => ({
      SslPolicies: input.Names.filter((name) => POLICIES[name]).map((Name) => ({
        Name,
        SslProtocols: POLICIES[Name],
      })),
    }));
    elbv2
      .on(DescribeTagsCommand)
      .resolves({ TagDescriptions: [{ ResourceArn: arn, Tags: [{ Key: 'team', Value: 'web' }] }] });
  }
  const https = (policy: string, port = 443): Listener => ({
    ListenerArn: HTTPS,
    Port: port,
    Protocol: 'HTTPS',
    SslPolicy: policy,
    DefaultActions: FORWARD,
  });
  const http = (actions: Action[] = FORWARD): Listener => ({
    ListenerArn: HTTP,
    Port: 80,
    Protocol: 'HTTP',
    DefaultActions: actions,
  });

  async function judge(arn = LB) {
    const loaded = await rule.load(ref(arn), aws, settings);
    if (!loaded) throw new Error('expected the load balancer');
    return { loaded, verdict: rule.detect(loaded, settings) };
  }

  beforeEach(() => elbv2.reset());
  afterEach(() => sent.collect('ElasticLoadBalancingV2Client', elbv2));
  afterAll(() => elbv2.restore());

  it('reads the load balancer, its listeners and tags in the region the event names', async () => {
    // Prepare
    given([https('ELBSecurityPolicy-TLS13-1-2-2021-06')]);
    // Act
    const loaded = await rule.load(ref(), aws, settings);
    // Assess
    expect(loaded).toMatchObject({ resourceId: LB, arn: LB, tags: { team: 'web' } });
    expect((loaded?.state as LoadBalancerState | undefined)?.listeners[0]?.sslProtocols).toEqual([
      'TLSv1.2',
      'TLSv1.3',
    ]);
    expect(await elbv2.call(0).thisValue.config.region()).toBe(REGION);
  });

  it('finds the load balancer from a listener ARN (a compliance change names a listener)', async () => {
    // Prepare
    given([https('ELBSecurityPolicy-TLS13-1-2-2021-06')]);
    // Act
    const loaded = await rule.load(ref(HTTPS), aws, settings);
    // Assess
    expect(loaded?.resourceId).toBe(LB);
    expect(elbv2).toHaveReceivedCommandWith(DescribeLoadBalancersCommand, { LoadBalancerArns: [LB] });
  });

  it('reads nothing when the load balancer is gone, and throws on any other failure', async () => {
    // Prepare
    elbv2
      .on(DescribeLoadBalancersCommand)
      .rejectsOnce(Object.assign(new Error('gone'), { name: 'LoadBalancerNotFoundException' }))
      .rejectsOnce(Object.assign(new Error('slow down'), { name: 'Throttling' }));
    // Act / Assess
    expect(await rule.load(ref(), aws, settings)).toBeUndefined();
    await expect(rule.load(ref(), aws, settings)).rejects.toThrow('slow down');
  });

  it('judges an NLB TLS listener on the 2016-08 policy by the protocols it lists, not its name', async () => {
    // Prepare
    given([{ ...https('ELBSecurityPolicy-2016-08'), Protocol: 'TLS', ListenerArn: listenerArn(NLB, 'b1') }], {
      type: 'network',
      arn: NLB,
    });
    // Act
    const { verdict } = await judge(NLB);
    // Assess
    expect(verdict).toMatchObject({
      compliant: false,
      reason: expect.stringContaining('allow TLS below TLSv1.2'),
      evidence: expect.objectContaining({ weakTlsListeners: expect.stringContaining('TLSv1, TLSv1.1') }),
    });
  });

  it.each([
    ['the default policy', 'ELBSecurityPolicy-TLS13-1-2-2021-06'],
    ['a FIPS variant', 'ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04'],
  ])('passes an HTTPS listener on %s, with HTTP redirected', async (_case, policy) => {
    // Prepare
    given([
      https(policy),
      http([
        { Type: 'redirect', RedirectConfig: { Protocol: 'HTTPS', Port: '443', StatusCode: 'HTTP_301' } },
      ]),
    ]);
    // Act / Assess
    expect((await judge()).verdict).toEqual({ compliant: true });
  });

  it('raises the minimum: TLS 1.2 is weak when TLSv1.3 is required', async () => {
    // Prepare
    given([https('ELBSecurityPolicy-TLS13-1-2-2021-06')]);
    const strict = testSettings({ ELB_MINIMUM_TLS_VERSION: 'TLSv1.3' });
    const loaded = await rule.load(ref(), aws, strict);
    // Act / Assess
    expect(loaded && rule.detect(loaded, strict).compliant).toBe(false);
  });

  it('counts a policy AWS does not list as drift, never as compliant', async () => {
    // Prepare
    given([https('ELBSecurityPolicy-Made-Up')]);
    // Act / Assess
    expect((await judge()).verdict).toMatchObject({ compliant: false });
  });

  it('sets the configured policy on a weak listener, recording the previous policy as the undo', async () => {
    // Prepare
    given([https('ELBSecurityPolicy-2016-08')]);
    elbv2.on(ModifyListenerCommand).resolves({});
    const { loaded, verdict } = await judge();
    const { context, steps } = recordingContext(aws, settings);
    // Act
    await rule.remediate(loaded, verdict as Finding, context);
    // Assess
    expect(elbv2).toHaveReceivedCommandWith(ModifyListenerCommand, {
      ListenerArn: HTTPS,
      SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
    });
    expect(steps).toEqual([
      {
        action: 'ModifyListener',
        undo: {
          service: 'elasticloadbalancing',
          action: 'ModifyListener',
          input: { ListenerArn: HTTPS, SslPolicy: 'ELBSecurityPolicy-2016-08', Region: REGION },
        },
      },
    ]);
  });

  it('refuses to set a configured policy that is itself below the minimum', async () => {
    // Prepare
    given([https('ELBSecurityPolicy-2016-08')]);
    const weakConfig = testSettings({ ELB_TLS_POLICY: 'ELBSecurityPolicy-TLS13-1-1-2021-06' });
    const loaded = await rule.load(ref(), aws, weakConfig);
    if (!loaded) throw new Error('expected the load balancer');
    const { context, steps } = recordingContext(aws, weakConfig);
    // Act / Assess
    await expect(rule.remediate(loaded, rule.detect(loaded, weakConfig) as Finding, context)).rejects.toThrow(
      /ELBSecurityPolicy-TLS13-1-1-2021-06 \(ELB_TLS_POLICY\) allows TLSv1.1/,
    );
    expect(steps).toEqual([]);
    expect(elbv2).not.toHaveReceivedCommand(ModifyListenerCommand);
  });

  it('redirects HTTP to HTTPS:443 when an HTTPS listener on 443 exists, keeping the old action as the undo', async () => {
    // Prepare
    given([https('ELBSecurityPolicy-TLS13-1-2-2021-06'), http()]);
    elbv2.on(ModifyListenerCommand).resolves({});
    const { loaded, verdict } = await judge();
    const { context, steps } = recordingContext(aws, settings);
    // Act
    await rule.remediate(loaded, verdict as Finding, context);
    // Assess
    expect(elbv2).toHaveReceivedCommandWith(ModifyListenerCommand, {
      ListenerArn: HTTP,
      DefaultActions: [
        expect.objectContaining({
          Type: 'redirect',
          RedirectConfig: expect.objectContaining({ Protocol: 'HTTPS', Port: '443' }),
        }),
      ],
    });
    expect(steps[0]?.undo?.input).toEqual({ ListenerArn: HTTP, DefaultActions: FORWARD, Region: REGION });
  });

  it('declines, saying why, when only HTTP exists: nothing to redirect to', async () => {
    // Prepare
    given([http()]);
    const { loaded, verdict } = await judge();
    const { context, steps } = recordingContext(aws, settings);
    // Act / Assess
    await expect(rule.remediate(loaded, verdict as Finding, context)).rejects.toThrow(
      expect.objectContaining({
        name: RemediationDeclined.name,
        message: expect.stringContaining('no HTTPS listener on 443'),
      }),
    );
    expect(steps).toEqual([]);
  });

  it('reports a listener rule forwarding plain HTTP without rewriting it, after fixing and reading back the rest', async () => {
    // Prepare
    const redirect: Action[] = [
      { Type: 'redirect', RedirectConfig: { Protocol: 'HTTPS', Port: '443', StatusCode: 'HTTP_301' } },
    ];
    given([https('ELBSecurityPolicy-2016-08'), http(redirect)], {
      rules: [{ RuleArn: 'arn:rule/api', IsDefault: false, Actions: FORWARD }],
    });
    elbv2.on(ModifyListenerCommand).resolves({});
    const { loaded, verdict } = await judge();
    // The read back shows the new policy.
    elbv2
      .on(DescribeListenersCommand, { ListenerArns: [HTTPS] })
      .resolves({ Listeners: [{ ...https('ELBSecurityPolicy-TLS13-1-2-2021-06') }] });
    const { context, steps } = recordingContext(aws, settings);
    // Act / Assess
    await expect(rule.remediate(loaded, verdict as Finding, context)).rejects.toThrow(
      /1 listener rule\(s\) forward plain HTTP \(reported, never rewritten\): arn:rule\/api/,
    );
    expect(steps.map((step) => step.action)).toEqual(['ModifyListener', 'ReadBack']);
    expect(elbv2).toHaveReceivedCommandTimes(ModifyListenerCommand, 1);
  });

  it('judges several listeners on one load balancer in one incident', async () => {
    // Prepare
    given([
      https('ELBSecurityPolicy-2016-08'),
      { ...https('ELBSecurityPolicy-2016-08', 8443), ListenerArn: listenerArn(LB, 'aaaa000000000003') },
      https('ELBSecurityPolicy-TLS13-1-2-2021-06', 9443),
    ]);
    elbv2.on(ModifyListenerCommand).resolves({});
    const { loaded, verdict } = await judge();
    const { context, steps } = recordingContext(aws, settings);
    // Act
    await rule.remediate(loaded, verdict as Finding, context);
    // Assess
    expect(verdict).toMatchObject({
      reason: expect.stringContaining('2 listener(s) allow TLS below TLSv1.2'),
    });
    expect(steps).toHaveLength(2);
  });

  it('lists Application and Network Load Balancers, not Gateway ones', async () => {
    // Prepare
    given([]);
    elbv2.on(DescribeLoadBalancersCommand).resolves({
      LoadBalancers: [
        { LoadBalancerArn: LB, Type: 'application' },
        { LoadBalancerArn: NLB, Type: 'network' },
        { LoadBalancerArn: 'gwy', Type: 'gateway' },
      ],
    });
    // Act
    const listed = [];
    for await (const resource of rule.list({ accountId: ACCOUNT, region: REGION }, aws, settings)) {
      listed.push(resource.resourceId);
    }
    // Assess
    expect(listed).toEqual([LB, NLB]);
  });

  // Runs last: the contract between what the rule declares and what its tests saw it send.
  it('declares an IAM permission for every AWS call its tests saw it make', () => {
    // Assess
    expect(sent.all.length).toBeGreaterThan(0);
    expect(sent.all.filter((action) => !actionsOf(rule).includes(action))).toEqual([]);
  });
});
