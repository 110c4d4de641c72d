import {
  DescribeLoadBalancersCommand as DescribeClassicLoadBalancersCommand,
  DescribeTagsCommand as DescribeClassicTagsCommand,
  ElasticLoadBalancingClient,
  type ListenerDescription,
} from '@aws-sdk/client-elastic-load-balancing';
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
  type Listener,
  type LoadBalancer,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { createAwsClients } from '../../../shared/aws/clients';
import { RemediationDeclined } from '../../../shared/errors';
import { elbBackendEncrypted as rule } from '../../../shared/rules/elb-backend-encrypted';
import { actionsOf, type Finding } from '../../../shared/rules/rule';
import { testSettings } from '../../support/incident';
import { SentActions } from '../../support/permissions';
import { recordingContext } from '../../support/remediation';

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const LB = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:loadbalancer/app/ward7/0123456789abcdef`;
const NLB = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:loadbalancer/net/ward7-nlb/0123456789abcdef`;
const GROUP = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:targetgroup/ward7-web/0123456789abcdef`;
const CLASSIC = 'ward7-classic';
const scope = { region: REGION, accountId: ACCOUNT };
const v2Ref = (resourceId = LB, resourceType = 'AWS::ElasticLoadBalancingV2::LoadBalancer') => ({
  resourceType,
  resourceId,
  ...scope,
});
const classicRef = { resourceType: 'AWS::ElasticLoadBalancing::LoadBalancer', resourceId: CLASSIC, ...scope };

const group = (name: string, protocol?: TargetGroup['Protocol'], port = 8443): TargetGroup => ({
  TargetGroupName: name,
  TargetGroupArn: GROUP,
  Protocol: protocol,
  Port: protocol ? port : undefined,
  LoadBalancerArns: [LB],
});
const front = (Protocol: Listener['Protocol'], Port: number): Listener => ({ Protocol, Port });
const classicListener = (
  Protocol: string,
  LoadBalancerPort: number,
  InstanceProtocol: string,
): ListenerDescription => ({
  Listener: { Protocol, LoadBalancerPort, InstanceProtocol, InstancePort: 8080 },
  PolicyNames: [],
});

describe('rule elb-backend-encrypted', () => {
  const elbv2 = mockClient(ElasticLoadBalancingV2Client);
  const elb = mockClient(ElasticLoadBalancingClient);
  const aws = createAwsClients('us-east-1');
  const sent = new SentActions();
  const settings = testSettings();

  function givenV2(
    listeners: Listener[],
    groups: TargetGroup[],
    loadBalancer: LoadBalancer = { LoadBalancerArn: LB, LoadBalancerName: 'ward7', Type: 'application' },
  ) {
    elbv2.on(DescribeLoadBalancersCommand).resolves({ LoadBalancers: [loadBalancer] });
    elbv2.on(DescribeListenersCommand).resolves({ Listeners: listeners });
    elbv2.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: groups });
    elbv2.on(DescribeTagsCommand).resolves({
      TagDescriptions: [
        { ResourceArn: loadBalancer.LoadBalancerArn, Tags: [{ Key: 'team', Value: 'ward7' }] },
      ],
    });
  }

  function givenClassic(listeners: ListenerDescription[]) {
    elb.on(DescribeClassicLoadBalancersCommand).resolves({
      LoadBalancerDescriptions: [{ LoadBalancerName: CLASSIC, ListenerDescriptions: listeners }],
    });
    elb
      .on(DescribeClassicTagsCommand)
      .resolves({ TagDescriptions: [{ LoadBalancerName: CLASSIC, Tags: [] }] });
  }

  async function judge(ref: ReturnType<typeof v2Ref>) {
    const loaded = await rule.load(ref, aws, settings);
    if (!loaded) throw new Error('expected the load balancer');
    return { loaded, verdict: rule.detect(loaded, settings) };
  }

  beforeEach(() => {
    elbv2.reset();
    elb.reset();
  });
  afterEach(() => {
    sent.collect('ElasticLoadBalancingV2Client', elbv2);
    sent.collect('ElasticLoadBalancingClient', elb);
  });
  afterAll(() => {
    elbv2.restore();
    elb.restore();
  });

  it('reads the load balancer, its listeners, target groups and tags in the region the event names', async () => {
    // Prepare
    givenV2([front('HTTPS', 443)], [group('ward7-web', 'HTTP', 8080)]);
    // Act
    const loaded = await rule.load(v2Ref(), aws, settings);
    // Assess
    expect(loaded).toMatchObject({ resourceId: LB, arn: LB, tags: { team: 'ward7' } });
    expect(elbv2).toHaveReceivedCommandWith(DescribeTargetGroupsCommand, { LoadBalancerArn: LB });
    expect(await elbv2.call(0).thisValue.config.region()).toBe(REGION);
  });

  it('finds an ALB whose HTTPS front end forwards to a target group over HTTP, naming each leg', async () => {
    // Prepare
    givenV2([front('HTTPS', 443)], [group('ward7-web', 'HTTP', 8080)]);
    // Act
    const { verdict } = await judge(v2Ref());
    // Assess
    expect(verdict).toEqual({
      compliant: false,
      reason:
        'Application Load Balancer ward7: 1 target group(s) reached over plain HTTP: the front end (HTTPS:443) is encrypted from client to load balancer, the back-end leg from load balancer to targets is not',
      evidence: {
        loadBalancerType: 'application',
        plainBackEnds: 'ward7-web (HTTP:8080)',
        encryptedFrontEnds: 'HTTPS:443',
        plainFrontEnds: '',
        encryptedLeg: 'client to load balancer',
        unencryptedLeg: 'load balancer to targets',
      },
      plan: expect.stringMatching(
        /^nothing automatic: create an HTTPS target group, run a TLS-terminating proxy/,
      ),
    });
  });

  it('says neither leg is encrypted when the front end is plain HTTP too', async () => {
    // Prepare
    givenV2([front('HTTP', 80)], [group('ward7-web', 'HTTP', 8080)]);
    // Act
    const { verdict } = await judge(v2Ref());
    // Assess
    expect(verdict).toMatchObject({
      compliant: false,
      reason: expect.stringContaining(
        'neither the front end nor the back-end leg to the targets is encrypted',
      ),
      evidence: { encryptedLeg: 'none', plainFrontEnds: 'HTTP:80' },
    });
  });

  it('passes an ALB whose target groups are HTTPS, and does not judge Lambda target groups', async () => {
    // Prepare: a Lambda target group has no protocol (invoked, not connected to)
    givenV2([front('HTTPS', 443)], [group('ward7-web', 'HTTPS'), group('ward7-fn')]);
    // Act / Assess
    expect((await judge(v2Ref())).verdict).toEqual({ compliant: true });
  });

  it('passes an NLB TLS listener forwarding to a TLS target group', async () => {
    // Prepare
    givenV2([front('TLS', 443)], [group('ward7-tls', 'TLS')], {
      LoadBalancerArn: NLB,
      LoadBalancerName: 'ward7-nlb',
      Type: 'network',
    });
    // Act / Assess
    expect((await judge(v2Ref(NLB))).verdict).toEqual({ compliant: true });
  });

  it("finds an NLB's TCP and UDP target groups, saying its TLS ones use the load balancer's own back-end policy", async () => {
    // Prepare
    givenV2(
      [front('TLS', 443), front('UDP', 53)],
      [group('ward7-tls', 'TLS'), group('ward7-tcp', 'TCP', 8080), group('ward7-dns', 'UDP', 53)],
      { LoadBalancerArn: NLB, LoadBalancerName: 'ward7-nlb', Type: 'network' },
    );
    // Act
    const { verdict } = await judge(v2Ref(NLB));
    // Assess
    expect(verdict).toMatchObject({
      compliant: false,
      reason: expect.stringContaining(
        'Network Load Balancer ward7-nlb: 2 target group(s) reached over plain TCP/UDP',
      ),
      evidence: {
        plainBackEnds: 'ward7-tcp (TCP:8080); ward7-dns (UDP:53)',
        encryptedFrontEnds: 'TLS:443',
        plainFrontEnds: 'UDP:53',
        tlsTargetGroups: "back-end TLS uses the load balancer's own back-end policy, whatever the listener's",
      },
      plan: expect.stringContaining('create a TLS target group'),
    });
  });

  it("judges a listener's or a rule's call on the load balancer they belong to", async () => {
    // Prepare
    givenV2([front('HTTPS', 443)], [group('ward7-web', 'HTTP', 8080)]);
    const ruleArn = `${LB.replace(':loadbalancer/', ':listener-rule/')}/0123456789abcdef/0123456789abcdef`;
    // Act
    const loaded = await rule.load(v2Ref(ruleArn), aws, settings);
    // Assess
    expect(loaded?.resourceId).toBe(LB);
    expect(elbv2).toHaveReceivedCommandWith(DescribeLoadBalancersCommand, { LoadBalancerArns: [LB] });
  });

  it('reads nothing when the load balancer is gone', async () => {
    // Prepare
    elbv2
      .on(DescribeLoadBalancersCommand)
      .rejects(Object.assign(new Error('gone'), { name: 'LoadBalancerNotFoundException' }));
    // Act / Assess
    expect(await rule.load(v2Ref(), aws, settings)).toBeUndefined();
  });

  it('throws when a read is throttled: never "no resources" or compliant', async () => {
    // Prepare
    givenV2([front('HTTPS', 443)], []);
    elbv2
      .on(DescribeTargetGroupsCommand)
      .rejects(Object.assign(new Error('slow down'), { name: 'Throttling' }));
    // Act / Assess
    await expect(rule.load(v2Ref(), aws, settings)).rejects.toThrow('slow down');
  });

  // moto reads a Classic listener's InstanceProtocol back as its front-end protocol: covered here, not against moto.
  it('finds a Classic HTTPS listener that reaches its instances over HTTP', async () => {
    // Prepare
    givenClassic([classicListener('HTTPS', 443, 'HTTP'), classicListener('SSL', 8443, 'SSL')]);
    // Act
    const { verdict } = await judge(classicRef);
    // Assess
    expect(verdict).toMatchObject({
      compliant: false,
      reason:
        'Classic Load Balancer ward7-classic: 1 listener(s) reach instances over plain HTTP: the front end (HTTPS:443, SSL:8443) is encrypted from client to load balancer, the back-end leg from load balancer to targets is not',
      evidence: { loadBalancerType: 'classic', plainBackEnds: 'HTTPS:443 -> instance HTTP' },
      plan: expect.stringContaining('TLS-terminating proxy on the instance'),
    });
  });

  it('passes a Classic load balancer whose listeners reach instances over HTTPS or SSL', async () => {
    // Prepare: AWS echoes protocols in the case they were given
    givenClassic([classicListener('HTTPS', 443, 'https'), classicListener('TCP', 25, 'SSL')]);
    // Act / Assess
    expect((await judge(classicRef)).verdict).toEqual({ compliant: true });
  });

  it('lists the Application and Network Load Balancers, then the Classic ones, skipping Gateway ones', async () => {
    // Prepare
    givenV2([], []);
    elbv2.on(DescribeLoadBalancersCommand).resolves({
      LoadBalancers: [
        { LoadBalancerArn: LB, LoadBalancerName: 'ward7', Type: 'application' },
        { LoadBalancerArn: 'gwlb', LoadBalancerName: 'inspect', Type: 'gateway' },
      ],
    });
    givenClassic([classicListener('TCP', 25, 'TCP')]);
    // Act
    const listed = [];
    for await (const loaded of rule.list(scope, aws, settings)) listed.push(loaded.resourceId);
    // Assess
    expect(listed).toEqual([LB, CLASSIC]);
  });

  it('only notifies: in enforce mode it declines and changes nothing', async () => {
    // Prepare
    givenV2([front('HTTPS', 443)], [group('ward7-web', 'HTTP', 8080)]);
    const { loaded, verdict } = await judge(v2Ref());
    const { context, steps } = recordingContext(aws, settings);
    // Act / Assess
    await expect(rule.remediate(loaded, verdict as Finding, context)).rejects.toBeInstanceOf(
      RemediationDeclined,
    );
    expect(steps).toEqual([]);
  });

  // Runs last: the contract between what the rule declares and what its tests saw it send.
  it('declares an IAM permission for every AWS call its tests saw it make', () => {
    // Assess
    expect(sent.all.length).toBeGreaterThan(0);
    expect(sent.all.filter((action) => !actionsOf(rule).includes(action))).toEqual([]);
  });
});
