import {
  CreateLoadBalancerPolicyCommand,
  DescribeLoadBalancerPoliciesCommand,
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  ElasticLoadBalancingClient,
  type ListenerDescription,
  type PolicyDescription,
  SetLoadBalancerPoliciesOfListenerCommand,
} from '@aws-sdk/client-elastic-load-balancing';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { createAwsClients } from '../../../shared/aws/clients';
import { RemediationDeclined } from '../../../shared/errors';
import {
  type ClassicLoadBalancerState,
  elbClassicListenerTls as rule,
} from '../../../shared/rules/elb-classic-listener-tls';
import { actionsOf, type Finding } from '../../../shared/rules/rule';
import { testSettings } from '../../support/incident';
import { SentActions } from '../../support/permissions';
import { recordingContext } from '../../support/remediation';

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const NAME = 'ward7-classic';
const OURS = 'compliance-responder-ELBSecurityPolicy-TLS-1-2-2017-01';
const ref = (name = NAME) => ({
  resourceType: 'AWS::ElasticLoadBalancing::LoadBalancer',
  resourceId: name,
  region: REGION,
  accountId: ACCOUNT,
});

const protocols = (...allowed: string[]) =>
  ['SSLv3', 'TLSv1', 'TLSv1.1', 'TLSv1.2'].map((version) => ({
    AttributeName: `Protocol-${version}`,
    AttributeValue: String(allowed.includes(version)),
  }));
/** The predefined policies, as AWS answers DescribeLoadBalancerPolicies without a load balancer. */
const PREDEFINED: Record<string, PolicyDescription> = {
  'ELBSecurityPolicy-2016-08': {
    PolicyName: 'ELBSecurityPolicy-2016-08',
    PolicyTypeName: 'SSLNegotiationPolicyType',
    PolicyAttributeDescriptions: protocols('TLSv1', 'TLSv1.1', 'TLSv1.2'),
  },
  'ELBSecurityPolicy-TLS-1-2-2017-01': {
    PolicyName: 'ELBSecurityPolicy-TLS-1-2-2017-01',
    PolicyTypeName: 'SSLNegotiationPolicyType',
    PolicyAttributeDescriptions: protocols('TLSv1.2'),
  },
};
const STICKY: PolicyDescription = { PolicyName: 'sticky', PolicyTypeName: 'AppCookieStickinessPolicy' };
const negotiation = (name: string, attributes = protocols('TLSv1', 'TLSv1.1', 'TLSv1.2')) => ({
  PolicyName: name,
  PolicyTypeName: 'SSLNegotiationPolicyType',
  PolicyAttributeDescriptions: attributes,
});
const https = (policyNames: string[], port = 443): ListenerDescription => ({
  Listener: { Protocol: 'HTTPS', LoadBalancerPort: port, InstanceProtocol: 'HTTP', InstancePort: 8080 },
  PolicyNames: policyNames,
});

describe('rule elb-classic-listener-tls', () => {
  const elb = mockClient(ElasticLoadBalancingClient);
  const aws = createAwsClients('us-east-1');
  const sent = new SentActions();
  const settings = testSettings();

  function given(listeners: ListenerDescription[], policies: PolicyDescription[] = []) {
    elb.on(DescribeLoadBalancersCommand).resolves({
      LoadBalancerDescriptions: [{ LoadBalancerName: NAME, ListenerDescriptions: listeners }],
    });
    elb
      .on(DescribeLoadBalancerPoliciesCommand)
      .callsFake((input: { LoadBalancerName?: string; PolicyNames?: string[] }) => {
        if (input.LoadBalancerName) return { PolicyDescriptions: policies };
        const found = (input.PolicyNames ?? []).map((name) => PREDEFINED[name]);
        if (found.some((policy) => !policy)) {
          throw Object.assign(new Error('no such policy'), { name: 'PolicyNotFoundException' });
        }
        return { PolicyDescriptions: found };
      });
    elb.on(DescribeTagsCommand).resolves({
      TagDescriptions: [{ LoadBalancerName: NAME, Tags: [{ Key: 'team', Value: 'ward7' }] }],
    });
  }

  async function judge(custom = settings) {
    const loaded = await rule.load(ref(), aws, custom);
    if (!loaded) throw new Error('expected the load balancer');
    return { loaded, verdict: rule.detect(loaded, custom) };
  }

  beforeEach(() => elb.reset());
  afterEach(() => sent.collect('ElasticLoadBalancingClient', elb));
  afterAll(() => elb.restore());

  it('reads the load balancer, its listeners, policies and tags in the region the event names', async () => {
    // Prepare
    given([https(['sticky', 'weak'])], [STICKY, negotiation('weak')]);
    // Act
    const loaded = await rule.load(ref(), aws, settings);
    // Assess
    expect(loaded).toMatchObject({
      resourceId: NAME,
      arn: `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:loadbalancer/${NAME}`,
      tags: { team: 'ward7' },
    });
    expect((loaded?.state as ClassicLoadBalancerState | undefined)?.listeners[0]?.policyNames).toEqual([
      'sticky',
      'weak',
    ]);
    expect(await elb.call(0).thisValue.config.region()).toBe(REGION);
  });

  it('reads nothing for another type or a load balancer that is gone, and throws on any other failure', async () => {
    // Prepare
    elb
      .on(DescribeLoadBalancersCommand)
      .rejectsOnce(Object.assign(new Error('gone'), { name: 'AccessPointNotFoundException' }))
      .rejectsOnce(Object.assign(new Error('slow down'), { name: 'Throttling' }));
    // Act / Assess
    expect(await rule.load({ ...ref(), resourceType: 'AWS::EC2::Volume' }, aws, settings)).toBeUndefined();
    expect(await rule.load(ref(), aws, settings)).toBeUndefined();
    await expect(rule.load(ref(), aws, settings)).rejects.toThrow('slow down');
  });

  it('judges a negotiation policy by the protocols its attributes allow, not by its name', async () => {
    // Prepare: named like the strong predefined policy, but allowing TLS 1.0
    given(
      [https(['ELBSecurityPolicy-TLS-1-2-2017-01'])],
      [negotiation('ELBSecurityPolicy-TLS-1-2-2017-01', protocols('TLSv1', 'TLSv1.2'))],
    );
    // Act
    const { verdict } = await judge();
    // Assess
    expect(verdict).toMatchObject({
      compliant: false,
      reason: expect.stringContaining('1 listener(s) allow TLS below TLSv1.2'),
      evidence: { weakTlsListeners: 'HTTPS:443 ELBSecurityPolicy-TLS-1-2-2017-01 allows TLSv1' },
    });
  });

  it('reads a policy that lists only its Reference-Security-Policy through the predefined policy', async () => {
    // Prepare
    const referencing = (reference: string) => ({
      ...negotiation('ref'),
      PolicyAttributeDescriptions: [
        { AttributeName: 'Reference-Security-Policy', AttributeValue: reference },
      ],
    });
    given([https(['ref'])], [referencing('ELBSecurityPolicy-TLS-1-2-2017-01')]);
    // Act / Assess
    expect((await judge()).verdict).toEqual({ compliant: true });
    // Prepare: the same reference to the API's old default
    given([https(['ref'])], [referencing('ELBSecurityPolicy-2016-08')]);
    // Act / Assess
    expect((await judge()).verdict).toMatchObject({
      evidence: { weakTlsListeners: 'HTTPS:443 ref allows TLSv1, TLSv1.1' },
    });
  });

  it('finds an HTTPS listener without any negotiation policy weak (never assumed strong)', async () => {
    // Prepare
    given([https([])]);
    // Act
    const { verdict } = await judge();
    // Assess
    expect(verdict).toMatchObject({
      evidence: { weakTlsListeners: 'HTTPS:443 allows no SSL negotiation policy listed' },
    });
  });

  it('judges the front end, not the instance protocol (moto reads InstanceProtocol back as the front end: covered here)', async () => {
    // Prepare: plain HTTP from clients, HTTPS to the instances
    given([
      {
        Listener: { Protocol: 'HTTP', LoadBalancerPort: 80, InstanceProtocol: 'HTTPS', InstancePort: 8443 },
        PolicyNames: [],
      },
    ]);
    // Act
    const { loaded, verdict } = await judge();
    // Assess
    expect(verdict).toMatchObject({ evidence: { plainFrontEnds: 'HTTP:80', weakTlsListeners: '' } });
    const { context, steps } = recordingContext(aws, settings);
    await expect(rule.remediate(loaded, verdict as Finding, context)).rejects.toThrow(
      /HTTP:80 carry plain traffic from clients: add an HTTPS or SSL listener/,
    );
    expect(steps).toEqual([]);
  });

  it('creates a policy referencing the configured one and sets it, keeping the stickiness policy; the undo is the previous list', async () => {
    // Prepare
    given(
      [https(['sticky', 'weak']), https(['strong'], 8443)],
      [STICKY, negotiation('weak'), negotiation('strong', protocols('TLSv1.2'))],
    );
    elb.on(CreateLoadBalancerPolicyCommand).resolves({});
    elb.on(SetLoadBalancerPoliciesOfListenerCommand).resolves({});
    const { loaded, verdict } = await judge();
    const { context, steps } = recordingContext(aws, settings);
    // Act
    await rule.remediate(loaded, verdict as Finding, context);
    // Assess: moto accepts a bare predefined name in SetLoadBalancerPoliciesOfListener; AWS needs a
    // policy of the load balancer, so the rule creates one first and sets only that (covered here)
    expect(elb).toHaveReceivedCommandWith(CreateLoadBalancerPolicyCommand, {
      LoadBalancerName: NAME,
      PolicyName: OURS,
      PolicyTypeName: 'SSLNegotiationPolicyType',
      PolicyAttributes: [
        { AttributeName: 'Reference-Security-Policy', AttributeValue: 'ELBSecurityPolicy-TLS-1-2-2017-01' },
      ],
    });
    expect(elb).toHaveReceivedCommandTimes(SetLoadBalancerPoliciesOfListenerCommand, 1);
    expect(elb).toHaveReceivedCommandWith(SetLoadBalancerPoliciesOfListenerCommand, {
      LoadBalancerName: NAME,
      LoadBalancerPort: 443,
      PolicyNames: ['sticky', OURS],
    });
    expect(steps).toEqual([
      { action: 'CreateLoadBalancerPolicy', undo: undefined },
      {
        action: 'SetLoadBalancerPoliciesOfListener',
        undo: {
          service: 'elasticloadbalancing',
          action: 'SetLoadBalancerPoliciesOfListener',
          input: {
            LoadBalancerName: NAME,
            LoadBalancerPort: 443,
            PolicyNames: ['sticky', 'weak'],
            Region: REGION,
          },
        },
      },
    ]);
  });

  it('reuses its own policy when it exists already (re-entrant), creating nothing', async () => {
    // Prepare: a previous run created the policy and stopped before setting it
    const ours = {
      ...negotiation(OURS, [
        { AttributeName: 'Reference-Security-Policy', AttributeValue: 'ELBSecurityPolicy-TLS-1-2-2017-01' },
        ...protocols('TLSv1.2'),
      ]),
    };
    given([https(['weak'])], [negotiation('weak'), ours]);
    elb.on(SetLoadBalancerPoliciesOfListenerCommand).resolves({});
    const { loaded, verdict } = await judge();
    // Act
    await rule.remediate(loaded, verdict as Finding, recordingContext(aws, settings).context);
    // Assess
    expect(elb).not.toHaveReceivedCommand(CreateLoadBalancerPolicyCommand);
    expect(elb).toHaveReceivedCommandWith(SetLoadBalancerPoliciesOfListenerCommand, { PolicyNames: [OURS] });
  });

  it("declines a weak policy someone made under the responder's policy name (a name proves nothing)", async () => {
    // Prepare: an insider pre-creates the name with TLS 1.0 allowed
    given([https(['weak'])], [negotiation('weak'), negotiation(OURS)]);
    const { loaded, verdict } = await judge();
    const { context, steps } = recordingContext(aws, settings);
    // Act / Assess
    await expect(rule.remediate(loaded, verdict as Finding, context)).rejects.toThrow(
      new RemediationDeclined(
        `a policy named ${OURS} exists on the load balancer and is not ELBSecurityPolicy-TLS-1-2-2017-01: not reused`,
      ),
    );
    expect(steps).toEqual([]);
  });

  it('refuses a configured policy that allows less than the minimum itself', async () => {
    // Prepare
    const weakConfig = testSettings({ ELB_CLASSIC_TLS_POLICY: 'ELBSecurityPolicy-2016-08' });
    given([https(['weak'])], [negotiation('weak')]);
    const { loaded, verdict } = await judge(weakConfig);
    const { context, steps } = recordingContext(aws, weakConfig);
    // Act / Assess
    await expect(rule.remediate(loaded, verdict as Finding, context)).rejects.toThrow(
      /ELBSecurityPolicy-2016-08 \(ELB_CLASSIC_TLS_POLICY\) allows TLSv1, TLSv1.1 itself/,
    );
    expect(steps).toEqual([]);
  });

  it('lists every Classic Load Balancer of the region', async () => {
    // Prepare
    given([https(['strong'])], [negotiation('strong', protocols('TLSv1.2'))]);
    // Act
    const listed = [];
    for await (const resource of rule.list({ accountId: ACCOUNT, region: REGION }, aws, settings)) {
      listed.push([resource.resourceId, rule.detect(resource, settings).compliant]);
    }
    // Assess
    expect(listed).toEqual([[NAME, true]]);
  });

  // Runs last: the contract between what the rule declares and what its tests saw it send.
  it('declares an IAM permission for every AWS call its tests saw it make', () => {
    // Assess
    expect(sent.all.length).toBeGreaterThan(0);
    expect(sent.all.filter((action) => !actionsOf(rule).includes(action))).toEqual([]);
  });
});
