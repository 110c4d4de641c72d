import { ACMClient, RequestCertificateCommand } from '@aws-sdk/client-acm';
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateTagsCommand,
  CreateVolumeCommand,
  CreateVpcCommand,
  DeleteTagsCommand,
  DisableEbsEncryptionByDefaultCommand,
  EC2Client,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  type Listener as ClassicListener,
  CreateAppCookieStickinessPolicyCommand,
  CreateLoadBalancerCommand as CreateClassicLoadBalancerCommand,
  CreateLoadBalancerListenersCommand,
  CreateLoadBalancerPolicyCommand,
  ElasticLoadBalancingClient,
  SetLoadBalancerPoliciesOfListenerCommand,
} from '@aws-sdk/client-elastic-load-balancing';
import {
  type Action,
  AddTagsCommand,
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateRuleCommand,
  CreateTargetGroupCommand,
  ElasticLoadBalancingV2Client,
  ModifyListenerCommand,
  ModifyRuleCommand,
  RemoveTagsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { CreateUserCommand, IAMClient, UploadSSHPublicKeyCommand } from '@aws-sdk/client-iam';
import {
  type CloudTrailCall,
  cloudTrailEvent,
  complianceChangeEvent,
  disableEbsEncryptionByDefaultCall,
  humanCaller,
  roleCaller,
} from '../scripts/lib/events';
import { recordCalls } from '../scripts/lib/recorder';
import { awsChangesOf, dynamoWritesOf, guardWritesOf } from './calls';
import { ACCOUNT, type Bench, bundlePath, FunctionProcess, REGION } from './harness';
import { type Summary, summarize } from './stats';

/** One kind of event delivered to one function, with the drift it reports seeded first. */
export interface EventCase {
  name: string;
  fn: string;
  /** The fewest AWS calls the rule needs for this event, and which they are. */
  minimum: { calls: number; named: string };
  /** Settings the function runs with for this case, over the stack's (e.g. a narrowed scope). */
  env?: Record<string, string>;
  /** Seeds the drift (not measured) and returns the event that reports it. */
  prepare(bench: Bench, index: number): Promise<unknown>;
}

export interface EventResult {
  name: string;
  fn: string;
  handlerMs: Summary;
  calls: Summary;
  minimum: { calls: number; named: string };
  /** The calls of the last measured delivery, by action: where the extra calls go. */
  callsByAction: Record<string, number>;
  /** The incident's DynamoDB writes (PutItem, UpdateItem, DeleteItem, TransactWriteItems, BatchWriteItem) per delivery. */
  dynamoWrites: Summary;
  /** The blast-radius guard's counter updates per delivery (bench/calls.ts isGuardCounter). */
  guardWrites: Summary;
  /** The AWS changes per delivery: writes that are neither DynamoDB nor bookkeeping (bench/calls.ts). */
  awsChanges: Summary;
  statuses: string[];
  errors: string[];
  /** Peak RSS of the function process after all deliveries, in MB. */
  peakRssMb: number;
}

/** A real (throwaway) public key: moto fingerprints what it is given. */
export const PUBLIC_KEY =
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBtcNHbu/uXRB4KiYYgZ3lbCVGXw0m/lNmTs/yAbdXsz compliance-responder-bench';

const ec2 = () => new EC2Client({ region: REGION });
const iam = () => new IAMClient({ region: REGION });
const RECORD_AND_ALERT = '1 incident write + 1 SNS Publish';
/** The listener rule's narrowed scope in the tag-call cases: load balancers tagged phi=ward-seven. */
const SCOPE_TAG = 'phi';
const SCOPE_VALUE = 'ward-seven';
const ELB_SCOPE = { ELB_LISTENER_SCOPE: `tag:${SCOPE_TAG}=${SCOPE_VALUE}` };
const LEFT_ELB_SCOPE = `DescribeLoadBalancers (it still exists and is one the rule judges) + DescribeTags (the fresh read: out of the scope now; the call alone never decides) + ${RECORD_AND_ALERT}; nothing is changed, a tag is a request, not an authority`;
const LEFT_PHI_SCOPE = `DescribeInstances (the fresh read: the tag is out of the scope now; the call alone never decides) + ${RECORD_AND_ALERT}; nothing is changed, and no stop facts are needed since nothing is stopped`;

/** What elb-listener-tls needs to fix one weak TLS listener of a load balancer the event names. */
const WEAK_TLS_FIXED = `DescribeListeners + DescribeSSLPolicies (the listener's) + DescribeSSLPolicies (the configured one) + ModifyListener + DescribeListeners (verify) + ${RECORD_AND_ALERT}`;
/** On an ALB with HTTPS:443 (on the configured policy) and HTTP:80: the load balancer is judged whole. */
const ALB_READ =
  "DescribeListeners + DescribeSSLPolicies (the HTTPS listener's: the load balancer is judged whole) + DescribeRules (the HTTP listener's)";
const REDIRECT_RESTORED = `${ALB_READ} + ModifyListener (redirect to HTTPS:443) + DescribeListeners (verify) + ${RECORD_AND_ALERT}`;
const FORWARDING_REPORTED = `${ALB_READ} + ${RECORD_AND_ALERT}; nothing is changed: a rule forwarding plain HTTP is reported, never rewritten`;
/** elb-backend-encrypted on a v2 load balancer the event names (its ARN gives its name and type). */
const BACK_END_V2 = `DescribeListeners (the front ends: which leg is encrypted) + DescribeTargetGroups (by load balancer) + ${RECORD_AND_ALERT}; notify only`;
const CLASSIC_FIXED = `DescribeLoadBalancers + DescribeLoadBalancerPolicies (the load balancer's) + DescribeLoadBalancerPolicies (the configured predefined one) + CreateLoadBalancerPolicy + SetLoadBalancerPoliciesOfListener + DescribeLoadBalancers and DescribeLoadBalancerPolicies (verify) + ${RECORD_AND_ALERT}`;
/** CreateLoadBalancer is one name for two APIs: EventBridge delivers each to both rules' functions. */
const OTHER_API = "none: the record's apiVersion says it is the other API's call, judged by the other rule";
/** The configured policy (elbTlsPolicy's default): a listener on it is compliant. */
const STRONG_POLICY = 'ELBSecurityPolicy-TLS13-1-2-2021-06';

const disableDefault = (caller = humanCaller(ACCOUNT)): CloudTrailCall =>
  disableEbsEncryptionByDefaultCall(REGION, caller);

export const EVENT_CASES: readonly EventCase[] = [
  {
    name: 'DisableEbsEncryptionByDefault (CloudTrail)',
    fn: 'ebs-encryption-by-default',
    minimum: {
      calls: 5,
      named: `GetEbsEncryptionByDefault + EnableEbsEncryptionByDefault + GetEbsEncryptionByDefault (verify) + ${RECORD_AND_ALERT}`,
    },
    async prepare() {
      await ec2().send(new DisableEbsEncryptionByDefaultCommand({}));
      return cloudTrailEvent(disableDefault());
    },
  },
  {
    name: 'the same call by the responder itself (loop guard)',
    fn: 'ebs-encryption-by-default',
    minimum: { calls: 0, named: 'none: the event names the responder’s own role' },
    async prepare(bench) {
      const role = bench.stack.env.RESPONDER_ROLE_ARNS?.split(',')[0] ?? '';
      return cloudTrailEvent(disableDefault(roleCaller(role)));
    },
  },
  {
    name: 'CreateVolume, unencrypted and detached (CloudTrail)',
    fn: 'ebs-volume-encrypted',
    minimum: {
      calls: 8,
      named: `DescribeVolumes + CreateSnapshot + DescribeSnapshots (completed) + CreateVolume (encrypted) + CreateTags (quarantine original) + DescribeVolumes (verify) + ${RECORD_AND_ALERT}`,
    },
    async prepare() {
      const volume = await ec2().send(
        new CreateVolumeCommand({ AvailabilityZone: `${REGION}a`, Size: 8, VolumeType: 'gp3' }),
      );
      return cloudTrailEvent({
        eventName: 'CreateVolume',
        eventSource: 'ec2.amazonaws.com',
        region: REGION,
        caller: humanCaller(ACCOUNT, 'dev-bob'),
        responseElements: {
          volumeId: volume.VolumeId,
          encrypted: false,
          size: '8',
          volumeType: 'gp3',
          status: 'creating',
        },
      });
    },
  },
  {
    name: 'AuthorizeSecurityGroupIngress, tcp/22 from 0.0.0.0/0 (CloudTrail)',
    fn: 'ssh-open-to-world',
    minimum: {
      calls: 5,
      named: `DescribeSecurityGroupRules + RevokeSecurityGroupIngress + DescribeSecurityGroupRules (verify) + ${RECORD_AND_ALERT}`,
    },
    async prepare(_bench, index) {
      const group = await ec2().send(
        new CreateSecurityGroupCommand({
          GroupName: `bench-open-${index}-${Date.now()}`,
          Description: 'bench',
        }),
      );
      await ec2().send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: group.GroupId,
          IpPermissions: [
            { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
          ],
        }),
      );
      return cloudTrailEvent({
        eventName: 'AuthorizeSecurityGroupIngress',
        eventSource: 'ec2.amazonaws.com',
        region: REGION,
        caller: humanCaller(ACCOUNT, 'dev-carol'),
        requestParameters: {
          groupId: group.GroupId,
          ipPermissions: { items: [{ ipProtocol: 'tcp', fromPort: 22, toPort: 22 }] },
        },
      });
    },
  },
  {
    name: 'UploadSSHPublicKey without a grant (CloudTrail)',
    fn: 'ssh-grant-expired',
    minimum: {
      calls: 6,
      named: `ListSSHPublicKeys + grant-ledger Query + UpdateSSHPublicKey + ListSSHPublicKeys (verify) + ${RECORD_AND_ALERT}`,
    },
    async prepare(_bench, index) {
      const userName = `bench-user-${index}-${Date.now()}`;
      await iam().send(new CreateUserCommand({ UserName: userName }));
      const key = await iam().send(
        new UploadSSHPublicKeyCommand({ UserName: userName, SSHPublicKeyBody: PUBLIC_KEY }),
      );
      const keyId = key.SSHPublicKey?.SSHPublicKeyId;
      return cloudTrailEvent({
        eventName: 'UploadSSHPublicKey',
        eventSource: 'iam.amazonaws.com',
        region: REGION,
        caller: humanCaller(ACCOUNT),
        requestParameters: { userName, sSHPublicKeyBody: 'ssh-ed25519 AAAA...' },
        responseElements: { sSHPublicKey: { userName, sSHPublicKeyId: keyId, status: 'Active' } },
      });
    },
  },
  {
    name: 'CreateListener, NLB TLS on ELBSecurityPolicy-2016-08 (CloudTrail)',
    fn: 'elb-listener-tls',
    minimum: { calls: 7, named: WEAK_TLS_FIXED },
    prepare: (_bench, index) => weakTlsListener(index),
  },
  {
    name: 'SetLoadBalancerPoliciesOfListener, Classic HTTPS allowing TLS 1.0 (CloudTrail)',
    fn: 'elb-classic-listener-tls',
    minimum: { calls: 9, named: CLASSIC_FIXED },
    prepare: (_bench, index) => weakClassicListener(index),
  },
  {
    name: `AddTags setting ${SCOPE_TAG} to another value: a load balancer leaves elbListenerScope (CloudTrail)`,
    fn: 'elb-listener-tls',
    env: ELB_SCOPE,
    minimum: { calls: 4, named: LEFT_ELB_SCOPE },
    prepare: (_bench, index) => loadBalancerLeavingScope(index, 'AddTags'),
  },
  {
    name: `RemoveTags of ${SCOPE_TAG}: a load balancer leaves elbListenerScope (CloudTrail)`,
    fn: 'elb-listener-tls',
    env: ELB_SCOPE,
    minimum: { calls: 4, named: LEFT_ELB_SCOPE },
    prepare: (_bench, index) => loadBalancerLeavingScope(index, 'RemoveTags'),
  },
  {
    name: 'ModifyListener, ALB HTTP:80 forwarding again instead of redirecting to HTTPS:443 (CloudTrail)',
    fn: 'elb-listener-tls',
    minimum: { calls: 7, named: REDIRECT_RESTORED },
    prepare: (_bench, index) => httpListenerForwarding(index),
  },
  {
    name: 'CreateRule, ALB HTTP:80 rule forwarding plain HTTP (CloudTrail)',
    fn: 'elb-listener-tls',
    minimum: { calls: 5, named: FORWARDING_REPORTED },
    prepare: (_bench, index) => forwardingRule(index, 'CreateRule'),
  },
  {
    name: 'ModifyRule, ALB HTTP:80 rule changed to forward plain HTTP (CloudTrail)',
    fn: 'elb-listener-tls',
    minimum: { calls: 5, named: FORWARDING_REPORTED },
    prepare: (_bench, index) => forwardingRule(index, 'ModifyRule'),
  },
  {
    name: 'CreateLoadBalancer (v2), NLB whose TLS listener is on ELBSecurityPolicy-2016-08 (CloudTrail)',
    fn: 'elb-listener-tls',
    minimum: { calls: 7, named: WEAK_TLS_FIXED },
    prepare: (_bench, index) => createdWeakTlsLoadBalancer(index),
  },
  {
    name: 'CreateLoadBalancer (Classic, apiVersion 2012-06-01) reaching the v2 rule (CloudTrail)',
    fn: 'elb-listener-tls',
    minimum: { calls: 0, named: OTHER_API },
    prepare: (_bench, index) => createdClassicLoadBalancer(index),
  },
  {
    name: 'elbv2-predefined-security-policy-ssl-check NON_COMPLIANT, NLB TLS listener on ELBSecurityPolicy-2016-08 (Config compliance change)',
    fn: 'elb-listener-tls',
    // moto does not implement StartConfigRulesEvaluation: its 500 is retried to the SDK's 5 attempts.
    minimum: {
      calls: 7,
      named: `${WEAK_TLS_FIXED}; the StartConfigRulesEvaluation the responder sends after is not counted: the managed rule is change-triggered, so Config evaluates the listener again when it records the ModifyListener`,
    },
    prepare: (_bench, index) => weakTlsListenerNonCompliant(index),
  },
  {
    name: 'CreateLoadBalancer (Classic), HTTPS listener with no negotiation policy (CloudTrail)',
    fn: 'elb-classic-listener-tls',
    minimum: { calls: 9, named: CLASSIC_FIXED },
    prepare: (_bench, index) => createdClassicLoadBalancer(index),
  },
  {
    name: 'CreateLoadBalancer (v2, apiVersion 2015-12-01) reaching the Classic rule (CloudTrail)',
    fn: 'elb-classic-listener-tls',
    minimum: { calls: 0, named: OTHER_API },
    prepare: (_bench, index) => createdWeakTlsLoadBalancer(index),
  },
  {
    name: 'CreateLoadBalancerListeners, Classic HTTP:80 beside a TLS 1.2 HTTPS:443 (CloudTrail)',
    fn: 'elb-classic-listener-tls',
    minimum: {
      calls: 4,
      named: `DescribeLoadBalancers + DescribeLoadBalancerPolicies (the load balancer's: the HTTPS listener's policy lists its protocols) + ${RECORD_AND_ALERT}; nothing is changed: an HTTP front end is reported`,
    },
    prepare: (_bench, index) => classicHttpListenerAdded(index),
  },
  {
    name: 'CreateLoadBalancerPolicy, Classic HTTPS given a TLS 1.0 policy beside its stickiness policy (CloudTrail)',
    fn: 'elb-classic-listener-tls',
    minimum: { calls: 9, named: CLASSIC_FIXED },
    prepare: (_bench, index) => weakClassicPolicyCreated(index),
  },
  {
    name: 'CreateListener, NLB TLS forwarding to a TCP target group: the back-end leg (CloudTrail)',
    fn: 'elb-backend-encrypted',
    minimum: { calls: 4, named: BACK_END_V2 },
    prepare: (_bench, index) => weakTlsListener(index),
  },
  {
    name: 'ModifyListener, ALB HTTP:80 forwarding to an HTTP target group: the back-end leg (CloudTrail)',
    fn: 'elb-backend-encrypted',
    minimum: { calls: 4, named: BACK_END_V2 },
    prepare: (_bench, index) => httpListenerForwarding(index),
  },
  {
    name: 'CreateRule, ALB rule forwarding to an HTTP target group: the back-end leg (CloudTrail)',
    fn: 'elb-backend-encrypted',
    minimum: { calls: 4, named: BACK_END_V2 },
    prepare: (_bench, index) => forwardingRule(index, 'CreateRule'),
  },
  {
    name: 'ModifyRule, ALB rule changed to forward to an HTTP target group: the back-end leg (CloudTrail)',
    fn: 'elb-backend-encrypted',
    minimum: { calls: 4, named: BACK_END_V2 },
    prepare: (_bench, index) => forwardingRule(index, 'ModifyRule'),
  },
  {
    name: 'CreateLoadBalancerListeners, Classic HTTP:80 reaching instances over HTTP: the back-end leg (CloudTrail)',
    fn: 'elb-backend-encrypted',
    minimum: {
      calls: 3,
      named: `DescribeLoadBalancers (the listeners and their InstanceProtocol) + ${RECORD_AND_ALERT}; notify only`,
    },
    prepare: (_bench, index) => classicHttpListenerAdded(index),
  },
  {
    name: 'CreateTags setting phi=false: a PHI instance leaves phiScope (CloudTrail)',
    fn: 'phi-dedicated-tenancy',
    minimum: { calls: 3, named: LEFT_PHI_SCOPE },
    prepare: () => instanceLeavingScope('CreateTags'),
  },
  {
    name: 'DeleteTags of phi: a PHI instance leaves phiScope (CloudTrail)',
    fn: 'phi-dedicated-tenancy',
    minimum: { calls: 3, named: LEFT_PHI_SCOPE },
    prepare: () => instanceLeavingScope('DeleteTags'),
  },
];

const elbv2 = () => new ElasticLoadBalancingV2Client({ region: REGION });
const elb = () => new ElasticLoadBalancingClient({ region: REGION });

/** A fresh load balancer name: each delivery judges its own load balancer. */
const loadBalancerName = (index: number) => `bench-${index + 1}-${Date.now() % 1_000_000}`;

/** An ACM certificate: moto checks a listener's certificate exists, as ELB does. */
async function certificate(): Promise<string> {
  const { CertificateArn } = await new ACMClient({ region: REGION }).send(
    new RequestCertificateCommand({ DomainName: 'bench.example.org' }),
  );
  return CertificateArn ?? '';
}

/** A VPC with a subnet in each of two zones (an ALB needs two). */
async function network(): Promise<{ vpcId: string; subnets: string[] }> {
  const { Vpc } = await ec2().send(new CreateVpcCommand({ CidrBlock: '10.30.0.0/16' }));
  const subnets: string[] = [];
  for (const [index, zone] of ['a', 'b'].entries()) {
    const { Subnet } = await ec2().send(
      new CreateSubnetCommand({
        VpcId: Vpc?.VpcId,
        CidrBlock: `10.30.${index + 1}.0/24`,
        AvailabilityZone: `${REGION}${zone}`,
      }),
    );
    subnets.push(Subnet?.SubnetId ?? '');
  }
  return { vpcId: Vpc?.VpcId ?? '', subnets };
}

const V2_API = '2015-12-01';
const CLASSIC_API = '2012-06-01';

/**
 * A person's Elastic Load Balancing call. v2 and Classic log to one event source and share call
 * names: the record's apiVersion says which API it is, as in CloudTrail.
 */
const elbCall = (
  eventName: string,
  api: 'v2' | 'classic',
  requestParameters: Record<string, unknown>,
  responseElements?: Record<string, unknown>,
): unknown =>
  cloudTrailEvent({
    eventName,
    eventSource: 'elasticloadbalancing.amazonaws.com',
    region: REGION,
    caller: humanCaller(ACCOUNT, 'dev-dana'),
    apiVersion: api === 'v2' ? V2_API : CLASSIC_API,
    requestParameters,
    ...(responseElements && { responseElements }),
  });

/** A Classic Load Balancer with these listeners (an HTTPS one gets a certificate). */
async function classicLoadBalancer(
  name: string,
  listeners: Omit<ClassicListener, 'SSLCertificateId'>[],
): Promise<ClassicListener[]> {
  const SSLCertificateId = await certificate();
  const withCertificates = listeners.map((listener) =>
    listener.Protocol === 'HTTPS' ? { ...listener, SSLCertificateId } : listener,
  );
  await elb().send(
    new CreateClassicLoadBalancerCommand({
      LoadBalancerName: name,
      AvailabilityZones: [`${REGION}a`],
      Listeners: withCertificates,
    }),
  );
  return withCertificates;
}

const CLASSIC_HTTPS: Omit<ClassicListener, 'SSLCertificateId'> = {
  Protocol: 'HTTPS',
  LoadBalancerPort: 443,
  InstanceProtocol: 'HTTPS',
  InstancePort: 8443,
};

/** A negotiation policy allowing these TLS versions, made on the load balancer (not yet set on a listener). */
async function negotiationPolicy(loadBalancerName: string, policyName: string, versions: readonly string[]) {
  const PolicyAttributes = versions.map((version) => ({
    AttributeName: `Protocol-${version}`,
    AttributeValue: 'true',
  }));
  await elb().send(
    new CreateLoadBalancerPolicyCommand({
      LoadBalancerName: loadBalancerName,
      PolicyName: policyName,
      PolicyTypeName: 'SSLNegotiationPolicyType',
      PolicyAttributes,
    }),
  );
  return PolicyAttributes.map((attribute) => ({
    attributeName: attribute.AttributeName,
    attributeValue: attribute.AttributeValue,
  }));
}

const setListenerPolicies = (loadBalancerName: string, port: number, policyNames: string[]) =>
  elb().send(
    new SetLoadBalancerPoliciesOfListenerCommand({
      LoadBalancerName: loadBalancerName,
      LoadBalancerPort: port,
      PolicyNames: policyNames,
    }),
  );

/** A Classic Load Balancer whose HTTPS listener's negotiation policy allows TLS 1.0; its policy-setting event. */
async function weakClassicListener(index: number): Promise<unknown> {
  const name = loadBalancerName(index);
  await classicLoadBalancer(name, [CLASSIC_HTTPS]);
  await negotiationPolicy(name, 'weak', ['TLSv1', 'TLSv1.2']);
  await setListenerPolicies(name, 443, ['weak']);
  return elbCall('SetLoadBalancerPoliciesOfListener', 'classic', {
    loadBalancerName: name,
    loadBalancerPort: 443,
    policyNames: ['weak'],
  });
}

/**
 * A Classic HTTPS listener with a stickiness policy, given a negotiation policy allowing TLS 1.0
 * (set beside the stickiness one, as a template does right after making it); the policy's creation event.
 */
async function weakClassicPolicyCreated(index: number): Promise<unknown> {
  const name = loadBalancerName(index);
  await classicLoadBalancer(name, [CLASSIC_HTTPS]);
  await elb().send(
    new CreateAppCookieStickinessPolicyCommand({
      LoadBalancerName: name,
      PolicyName: 'sticky',
      CookieName: 'session',
    }),
  );
  const policyAttributes = await negotiationPolicy(name, 'weak', ['TLSv1', 'TLSv1.1', 'TLSv1.2']);
  await setListenerPolicies(name, 443, ['sticky', 'weak']);
  return elbCall('CreateLoadBalancerPolicy', 'classic', {
    loadBalancerName: name,
    policyName: 'weak',
    policyTypeName: 'SSLNegotiationPolicyType',
    policyAttributes,
  });
}

/** A new Classic Load Balancer whose HTTPS listener has no negotiation policy; its creation event. */
async function createdClassicLoadBalancer(index: number): Promise<unknown> {
  const name = loadBalancerName(index);
  const listeners = await classicLoadBalancer(name, [CLASSIC_HTTPS]);
  return elbCall(
    'CreateLoadBalancer',
    'classic',
    {
      loadBalancerName: name,
      availabilityZones: [`${REGION}a`],
      listeners: listeners.map((listener) => ({
        protocol: listener.Protocol,
        loadBalancerPort: listener.LoadBalancerPort,
        instanceProtocol: listener.InstanceProtocol,
        instancePort: listener.InstancePort,
        sSLCertificateId: listener.SSLCertificateId,
      })),
    },
    { dNSName: `${name}-1234567890.${REGION}.elb.amazonaws.com` },
  );
}

/**
 * A Classic Load Balancer whose HTTPS:443 allows TLS 1.2 only, given an HTTP:80 listener reaching its
 * instances over HTTP (plain at the front and at the back); that call's event.
 */
async function classicHttpListenerAdded(index: number): Promise<unknown> {
  const name = loadBalancerName(index);
  await classicLoadBalancer(name, [CLASSIC_HTTPS]);
  await negotiationPolicy(name, 'tls12', ['TLSv1.2']);
  await setListenerPolicies(name, 443, ['tls12']);
  const http = { Protocol: 'HTTP', LoadBalancerPort: 80, InstanceProtocol: 'HTTP', InstancePort: 8080 };
  await elb().send(new CreateLoadBalancerListenersCommand({ LoadBalancerName: name, Listeners: [http] }));
  return elbCall('CreateLoadBalancerListeners', 'classic', {
    loadBalancerName: name,
    listeners: [{ protocol: 'HTTP', loadBalancerPort: 80, instanceProtocol: 'HTTP', instancePort: 8080 }],
  });
}

/** An NLB with a TLS listener on the API's old default policy (TLS 1.0 and 1.1 allowed), tagged as given. */
async function weakTlsLoadBalancer(
  index: number,
  tags: { Key: string; Value: string }[] = [],
): Promise<{ loadBalancerArn: string; listenerArn: string; name: string }> {
  const { vpcId, subnets } = await network();
  const name = loadBalancerName(index);
  const { LoadBalancers = [] } = await elbv2().send(
    new CreateLoadBalancerCommand({
      Name: name,
      Type: 'network',
      Subnets: subnets,
      ...(tags.length > 0 && { Tags: tags }),
    }),
  );
  const loadBalancerArn = LoadBalancers[0]?.LoadBalancerArn ?? '';
  const { TargetGroups = [] } = await elbv2().send(
    new CreateTargetGroupCommand({ Name: name, Protocol: 'TCP', Port: 8080, VpcId: vpcId }),
  );
  const { Listeners = [] } = await elbv2().send(
    new CreateListenerCommand({
      LoadBalancerArn: loadBalancerArn,
      Protocol: 'TLS',
      Port: 443,
      SslPolicy: 'ELBSecurityPolicy-2016-08',
      Certificates: [{ CertificateArn: await certificate() }],
      DefaultActions: [{ Type: 'forward', TargetGroupArn: TargetGroups[0]?.TargetGroupArn }],
    }),
  );
  return { loadBalancerArn, listenerArn: Listeners[0]?.ListenerArn ?? '', name };
}

/** An NLB with a weak TLS listener; its CreateListener event. */
async function weakTlsListener(index: number): Promise<unknown> {
  const { loadBalancerArn } = await weakTlsLoadBalancer(index);
  return elbCall('CreateListener', 'v2', { loadBalancerArn, protocol: 'TLS', port: 443 });
}

/**
 * An NLB with a weak TLS listener; its CreateLoadBalancer event. A template makes the listener right
 * after the load balancer, before the event reaches the responder.
 */
async function createdWeakTlsLoadBalancer(index: number): Promise<unknown> {
  const { loadBalancerArn, name } = await weakTlsLoadBalancer(index);
  return elbCall(
    'CreateLoadBalancer',
    'v2',
    { name, type: 'network', scheme: 'internet-facing' },
    { loadBalancers: [{ loadBalancerArn, loadBalancerName: name, type: 'network' }] },
  );
}

/** An NLB with a weak TLS listener, which the paired managed Config rule finds NON_COMPLIANT. */
async function weakTlsListenerNonCompliant(index: number): Promise<unknown> {
  const { listenerArn } = await weakTlsLoadBalancer(index);
  return complianceChangeEvent({
    accountId: ACCOUNT,
    region: REGION,
    ruleName: 'elbv2-predefined-security-policy-ssl-check',
    resourceType: 'AWS::ElasticLoadBalancingV2::Listener',
    resourceId: listenerArn,
  });
}

/**
 * An ALB as it should be: HTTPS:443 on the configured policy, HTTP:80 redirecting to it, both in
 * front of a target group reached over plain HTTP (elb-backend-encrypted's drift). moto gives the HTTP
 * listener an SslPolicy too (ELBSecurityPolicy-2016-08), so each read of it makes one
 * DescribeSSLPolicies more than AWS, whose HTTP listeners have none.
 */
async function redirectingLoadBalancer(
  index: number,
): Promise<{ httpListenerArn: string; targetGroupArn: string }> {
  const { vpcId, subnets } = await network();
  const name = loadBalancerName(index);
  const { LoadBalancers = [] } = await elbv2().send(
    new CreateLoadBalancerCommand({ Name: name, Type: 'application', Subnets: subnets }),
  );
  const LoadBalancerArn = LoadBalancers[0]?.LoadBalancerArn ?? '';
  const { TargetGroups = [] } = await elbv2().send(
    new CreateTargetGroupCommand({ Name: name, Protocol: 'HTTP', Port: 8080, VpcId: vpcId }),
  );
  const targetGroupArn = TargetGroups[0]?.TargetGroupArn ?? '';
  await elbv2().send(
    new CreateListenerCommand({
      LoadBalancerArn,
      Protocol: 'HTTPS',
      Port: 443,
      SslPolicy: STRONG_POLICY,
      Certificates: [{ CertificateArn: await certificate() }],
      DefaultActions: [{ Type: 'forward', TargetGroupArn: targetGroupArn }],
    }),
  );
  const { Listeners = [] } = await elbv2().send(
    new CreateListenerCommand({
      LoadBalancerArn,
      Protocol: 'HTTP',
      Port: 80,
      DefaultActions: [
        { Type: 'redirect', RedirectConfig: { Protocol: 'HTTPS', Port: '443', StatusCode: 'HTTP_301' } },
      ],
    }),
  );
  return { httpListenerArn: Listeners[0]?.ListenerArn ?? '', targetGroupArn };
}

/** A redirecting ALB whose HTTP:80 is set back to forwarding plain HTTP; that ModifyListener's event. */
async function httpListenerForwarding(index: number): Promise<unknown> {
  const { httpListenerArn, targetGroupArn } = await redirectingLoadBalancer(index);
  await elbv2().send(
    new ModifyListenerCommand({
      ListenerArn: httpListenerArn,
      DefaultActions: [{ Type: 'forward', TargetGroupArn: targetGroupArn }],
    }),
  );
  return elbCall('ModifyListener', 'v2', {
    listenerArn: httpListenerArn,
    defaultActions: [{ type: 'forward', targetGroupArn }],
  });
}

/**
 * A redirecting ALB given a rule on HTTP:80 that forwards plain HTTP: made so (CreateRule), or made
 * answering 404 and then changed to forward (ModifyRule). That call's event.
 */
async function forwardingRule(index: number, eventName: 'CreateRule' | 'ModifyRule'): Promise<unknown> {
  const { httpListenerArn, targetGroupArn } = await redirectingLoadBalancer(index);
  const forward: Action[] = [{ Type: 'forward', TargetGroupArn: targetGroupArn }];
  const { Rules = [] } = await elbv2().send(
    new CreateRuleCommand({
      ListenerArn: httpListenerArn,
      Priority: 10,
      Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/api/*'] } }],
      Actions:
        eventName === 'CreateRule'
          ? forward
          : [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404' } }],
    }),
  );
  const ruleArn = Rules[0]?.RuleArn ?? '';
  const actions = [{ type: 'forward', targetGroupArn }];
  if (eventName === 'CreateRule') {
    return elbCall(
      'CreateRule',
      'v2',
      {
        listenerArn: httpListenerArn,
        priority: 10,
        conditions: [{ field: 'path-pattern', pathPatternConfig: { values: ['/api/*'] } }],
        actions,
      },
      { rules: [{ ruleArn, priority: '10', actions, isDefault: false }] },
    );
  }
  await elbv2().send(new ModifyRuleCommand({ RuleArn: ruleArn, Actions: forward }));
  return elbCall('ModifyRule', 'v2', { ruleArn, actions });
}

/**
 * A weak-TLS NLB in the narrowed scope (SCOPE_TAG=SCOPE_VALUE) that a tag call then takes out of it:
 * AddTags sets the scope tag to another value, RemoveTags removes it. The event of that call.
 */
async function loadBalancerLeavingScope(
  index: number,
  eventName: 'AddTags' | 'RemoveTags',
): Promise<unknown> {
  const { loadBalancerArn } = await weakTlsLoadBalancer(index, [{ Key: SCOPE_TAG, Value: SCOPE_VALUE }]);
  const requestParameters =
    eventName === 'AddTags'
      ? { resourceArns: [loadBalancerArn], tags: [{ key: SCOPE_TAG, value: 'elsewhere' }] }
      : { resourceArns: [loadBalancerArn], tagKeys: [SCOPE_TAG] };
  if (eventName === 'AddTags') {
    await elbv2().send(
      new AddTagsCommand({ ResourceArns: [loadBalancerArn], Tags: [{ Key: SCOPE_TAG, Value: 'elsewhere' }] }),
    );
  } else {
    await elbv2().send(new RemoveTagsCommand({ ResourceArns: [loadBalancerArn], TagKeys: [SCOPE_TAG] }));
  }
  return elbCall(eventName, 'v2', requestParameters);
}

/**
 * A running PHI instance (PHI_SCOPE's default, phi=true) on shared tenancy that a tag call takes out
 * of the scope: CreateTags sets phi to another value, DeleteTags removes it. The event of that call.
 */
async function instanceLeavingScope(eventName: 'CreateTags' | 'DeleteTags'): Promise<unknown> {
  const { Instances = [] } = await ec2().send(
    new RunInstancesCommand({
      ImageId: 'ami-12c6146b',
      InstanceType: 't3.micro',
      MinCount: 1,
      MaxCount: 1,
      TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'phi', Value: 'true' }] }],
    }),
  );
  const instanceId = Instances[0]?.InstanceId ?? '';
  if (eventName === 'CreateTags') {
    await ec2().send(
      new CreateTagsCommand({ Resources: [instanceId], Tags: [{ Key: 'phi', Value: 'false' }] }),
    );
  } else {
    await ec2().send(new DeleteTagsCommand({ Resources: [instanceId], Tags: [{ Key: 'phi' }] }));
  }
  return cloudTrailEvent({
    eventName,
    eventSource: 'ec2.amazonaws.com',
    region: REGION,
    caller: humanCaller(ACCOUNT, 'dev-erin'),
    requestParameters: {
      resourcesSet: { items: [{ resourceId: instanceId }] },
      tagSet: { items: [eventName === 'CreateTags' ? { key: 'phi', value: 'false' } : { key: 'phi' }] },
    },
  });
}

const countBy = (actions: readonly string[]): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (const action of actions) counts[action] = (counts[action] ?? 0) + 1;
  return counts;
};

/** Each case in a warm function process: one unmeasured warm-up delivery, then `runs` measured ones. */
export async function measureEvents(
  bench: Bench,
  runs: number,
  cases: readonly EventCase[] = EVENT_CASES,
): Promise<EventResult[]> {
  const results: EventResult[] = [];
  for (const eventCase of cases) {
    const fn = await FunctionProcess.start(bundlePath(eventCase.fn), bench.env(eventCase.env));
    try {
      await fn.invoke(await eventCase.prepare(bench, -1));
      const handlerMs: number[] = [];
      const callCounts: number[] = [];
      const writeCounts: number[] = [];
      const guardCounts: number[] = [];
      const changeCounts: number[] = [];
      const statuses: string[] = [];
      const errors: string[] = [];
      let last: string[] = [];
      for (let run = 0; run < runs; run++) {
        const event = await eventCase.prepare(bench, run);
        let invocation: Awaited<ReturnType<FunctionProcess['invoke']>> | undefined;
        const calls = await recordCalls(async () => {
          invocation = await fn.invoke(event);
        });
        if (!invocation) throw new Error(`${eventCase.fn} gave no answer`);
        handlerMs.push(invocation.ms);
        callCounts.push(calls.length);
        writeCounts.push(dynamoWritesOf(calls));
        guardCounts.push(guardWritesOf(calls));
        changeCounts.push(awsChangesOf(calls));
        last = calls.map((call) => call.action);
        if (invocation.error) errors.push(invocation.error);
        const outcomes = invocation.result?.outcomes ?? [];
        statuses.push(outcomes.map((outcome) => outcome.status ?? 'compliant').join('+') || 'ignored');
      }
      results.push({
        name: eventCase.name,
        fn: eventCase.fn,
        handlerMs: summarize(handlerMs),
        calls: summarize(callCounts),
        minimum: eventCase.minimum,
        callsByAction: countBy(last),
        dynamoWrites: summarize(writeCounts),
        guardWrites: summarize(guardCounts),
        awsChanges: summarize(changeCounts),
        statuses: [...new Set(statuses)],
        errors: [...new Set(errors)],
        peakRssMb: await fn.peakRssMb(),
      });
    } finally {
      fn.stop();
    }
  }
  return results;
}
