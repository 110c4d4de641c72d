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
  CreateLoadBalancerCommand as CreateClassicLoadBalancerCommand,
  CreateLoadBalancerPolicyCommand,
  ElasticLoadBalancingClient,
  SetLoadBalancerPoliciesOfListenerCommand,
} from '@aws-sdk/client-elastic-load-balancing';
import {
  AddTagsCommand,
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  ElasticLoadBalancingV2Client,
  RemoveTagsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { CreateUserCommand, IAMClient, UploadSSHPublicKeyCommand } from '@aws-sdk/client-iam';
import {
  type CloudTrailCall,
  cloudTrailEvent,
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
    minimum: {
      calls: 7,
      named: `DescribeListeners + DescribeSSLPolicies (the listener's) + DescribeSSLPolicies (the configured one) + ModifyListener + DescribeListeners (verify) + ${RECORD_AND_ALERT}`,
    },
    prepare: (_bench, index) => weakTlsListener(index),
  },
  {
    name: 'SetLoadBalancerPoliciesOfListener, Classic HTTPS allowing TLS 1.0 (CloudTrail)',
    fn: 'elb-classic-listener-tls',
    minimum: {
      calls: 9,
      named: `DescribeLoadBalancers + DescribeLoadBalancerPolicies (the load balancer's) + DescribeLoadBalancerPolicies (the configured predefined one) + CreateLoadBalancerPolicy + SetLoadBalancerPoliciesOfListener + DescribeLoadBalancers and DescribeLoadBalancerPolicies (verify) + ${RECORD_AND_ALERT}`,
    },
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

/** A Classic Load Balancer whose HTTPS listener's negotiation policy allows TLS 1.0; its policy-setting event. */
async function weakClassicListener(index: number): Promise<unknown> {
  const elb = new ElasticLoadBalancingClient({ region: REGION });
  const { CertificateArn } = await new ACMClient({ region: REGION }).send(
    new RequestCertificateCommand({ DomainName: 'bench.example.org' }),
  );
  const loadBalancerName = `bench-${index + 1}-${Date.now() % 1_000_000}`;
  await elb.send(
    new CreateClassicLoadBalancerCommand({
      LoadBalancerName: loadBalancerName,
      AvailabilityZones: [`${REGION}a`],
      Listeners: [
        {
          Protocol: 'HTTPS',
          LoadBalancerPort: 443,
          InstanceProtocol: 'HTTPS',
          InstancePort: 8443,
          SSLCertificateId: CertificateArn,
        },
      ],
    }),
  );
  await elb.send(
    new CreateLoadBalancerPolicyCommand({
      LoadBalancerName: loadBalancerName,
      PolicyName: 'weak',
      PolicyTypeName: 'SSLNegotiationPolicyType',
      PolicyAttributes: [
        { AttributeName: 'Protocol-TLSv1', AttributeValue: 'true' },
        { AttributeName: 'Protocol-TLSv1.2', AttributeValue: 'true' },
      ],
    }),
  );
  await elb.send(
    new SetLoadBalancerPoliciesOfListenerCommand({
      LoadBalancerName: loadBalancerName,
      LoadBalancerPort: 443,
      PolicyNames: ['weak'],
    }),
  );
  return cloudTrailEvent({
    eventName: 'SetLoadBalancerPoliciesOfListener',
    eventSource: 'elasticloadbalancing.amazonaws.com',
    region: REGION,
    caller: humanCaller(ACCOUNT, 'dev-dana'),
    requestParameters: { loadBalancerName, loadBalancerPort: 443, policyNames: ['weak'] },
  });
}

/** An NLB with a TLS listener on the API's old default policy (TLS 1.0 and 1.1 allowed), tagged as given; its ARN. */
async function weakTlsLoadBalancer(
  index: number,
  tags: { Key: string; Value: string }[] = [],
): Promise<string> {
  const { Vpc } = await ec2().send(new CreateVpcCommand({ CidrBlock: '10.30.0.0/16' }));
  const { Subnet } = await ec2().send(
    new CreateSubnetCommand({ VpcId: Vpc?.VpcId, CidrBlock: '10.30.1.0/24', AvailabilityZone: `${REGION}a` }),
  );
  const elbv2 = new ElasticLoadBalancingV2Client({ region: REGION });
  const name = `bench-${index + 1}-${Date.now() % 1_000_000}`;
  const { LoadBalancers = [] } = await elbv2.send(
    new CreateLoadBalancerCommand({
      Name: name,
      Type: 'network',
      Subnets: [Subnet?.SubnetId ?? ''],
      ...(tags.length > 0 && { Tags: tags }),
    }),
  );
  const loadBalancerArn = LoadBalancers[0]?.LoadBalancerArn ?? '';
  const { TargetGroups = [] } = await elbv2.send(
    new CreateTargetGroupCommand({ Name: name, Protocol: 'TCP', Port: 8080, VpcId: Vpc?.VpcId }),
  );
  // moto checks the certificate exists, as ELB does.
  const { CertificateArn } = await new ACMClient({ region: REGION }).send(
    new RequestCertificateCommand({ DomainName: 'bench.example.org' }),
  );
  await elbv2.send(
    new CreateListenerCommand({
      LoadBalancerArn: loadBalancerArn,
      Protocol: 'TLS',
      Port: 443,
      SslPolicy: 'ELBSecurityPolicy-2016-08',
      Certificates: [{ CertificateArn }],
      DefaultActions: [{ Type: 'forward', TargetGroupArn: TargetGroups[0]?.TargetGroupArn }],
    }),
  );
  return loadBalancerArn;
}

/** An NLB with a weak TLS listener; its CreateListener event. */
async function weakTlsListener(index: number): Promise<unknown> {
  const loadBalancerArn = await weakTlsLoadBalancer(index);
  return cloudTrailEvent({
    eventName: 'CreateListener',
    eventSource: 'elasticloadbalancing.amazonaws.com',
    region: REGION,
    caller: humanCaller(ACCOUNT, 'dev-dana'),
    requestParameters: { loadBalancerArn, protocol: 'TLS', port: 443 },
  });
}

/**
 * A weak-TLS NLB in the narrowed scope (SCOPE_TAG=SCOPE_VALUE) that a tag call then takes out of it:
 * AddTags sets the scope tag to another value, RemoveTags removes it. The event of that call.
 */
async function loadBalancerLeavingScope(
  index: number,
  eventName: 'AddTags' | 'RemoveTags',
): Promise<unknown> {
  const loadBalancerArn = await weakTlsLoadBalancer(index, [{ Key: SCOPE_TAG, Value: SCOPE_VALUE }]);
  const elbv2 = new ElasticLoadBalancingV2Client({ region: REGION });
  const requestParameters =
    eventName === 'AddTags'
      ? { resourceArns: [loadBalancerArn], tags: [{ key: SCOPE_TAG, value: 'elsewhere' }] }
      : { resourceArns: [loadBalancerArn], tagKeys: [SCOPE_TAG] };
  if (eventName === 'AddTags') {
    await elbv2.send(
      new AddTagsCommand({ ResourceArns: [loadBalancerArn], Tags: [{ Key: SCOPE_TAG, Value: 'elsewhere' }] }),
    );
  } else {
    await elbv2.send(new RemoveTagsCommand({ ResourceArns: [loadBalancerArn], TagKeys: [SCOPE_TAG] }));
  }
  return cloudTrailEvent({
    eventName,
    eventSource: 'elasticloadbalancing.amazonaws.com',
    region: REGION,
    caller: humanCaller(ACCOUNT, 'dev-dana'),
    requestParameters,
  });
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
export async function measureEvents(bench: Bench, runs: number): Promise<EventResult[]> {
  const results: EventResult[] = [];
  for (const eventCase of EVENT_CASES) {
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
