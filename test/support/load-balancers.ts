import { ACMClient, RequestCertificateCommand } from '@aws-sdk/client-acm';
import { CreateSubnetCommand, CreateVpcCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  type Listener as ClassicListener,
  CreateAppCookieStickinessPolicyCommand,
  CreateLoadBalancerCommand as CreateClassicLoadBalancerCommand,
  CreateLoadBalancerPolicyCommand,
  DescribeLoadBalancersCommand as DescribeClassicLoadBalancersCommand,
  ElasticLoadBalancingClient,
  SetLoadBalancerPoliciesOfListenerCommand,
} from '@aws-sdk/client-elastic-load-balancing';
import {
  type Action,
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateRuleCommand,
  CreateTargetGroupCommand,
  DescribeListenersCommand,
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
  type Listener,
  type LoadBalancerTypeEnum,
  type ProtocolEnum,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { cloudTrailEvent, humanCaller } from '../../scripts/lib/events';

/** Fixtures for the load balancer rules: ALBs and NLBs with their listeners in moto, and the calls that make them. */

const ACCOUNT = '123456789012';
export const elbv2 = (region: string) => new ElasticLoadBalancingV2Client({ region });

/** A VPC with two subnets in two zones, as a load balancer needs. */
async function network(region: string) {
  const ec2 = new EC2Client({ region });
  const { Vpc } = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.20.0.0/16' }));
  const subnets = [];
  for (const [index, zone] of ['a', 'b'].entries()) {
    const { Subnet } = await ec2.send(
      new CreateSubnetCommand({
        VpcId: Vpc?.VpcId,
        CidrBlock: `10.20.${index}.0/24`,
        AvailabilityZone: `${region}${zone}`,
      }),
    );
    subnets.push(Subnet?.SubnetId ?? '');
  }
  return { vpcId: Vpc?.VpcId ?? '', subnets };
}

export async function certificate(region: string): Promise<string> {
  const { CertificateArn } = await new ACMClient({ region }).send(
    new RequestCertificateCommand({ DomainName: 'ward7.example.org' }),
  );
  return CertificateArn ?? '';
}

export interface Fixture {
  arn: string;
  vpcId: string;
  targetGroupArn: string;
  certificateArn: string;
  region: string;
}

/** A load balancer, a target group and a certificate; no listener yet. */
export async function createLoadBalancer(
  name: string,
  type: LoadBalancerTypeEnum = 'application',
  region = 'us-east-1',
): Promise<Fixture> {
  const { vpcId, subnets } = await network(region);
  const client = elbv2(region);
  const { LoadBalancers = [] } = await client.send(
    new CreateLoadBalancerCommand({ Name: name, Type: type, Subnets: subnets }),
  );
  const { TargetGroups = [] } = await client.send(
    new CreateTargetGroupCommand({
      Name: `${name}-targets`,
      Protocol: type === 'network' ? 'TCP' : 'HTTP',
      Port: 8080,
      VpcId: vpcId,
      TargetType: 'instance',
    }),
  );
  return {
    arn: LoadBalancers[0]?.LoadBalancerArn ?? '',
    vpcId,
    targetGroupArn: TargetGroups[0]?.TargetGroupArn ?? '',
    certificateArn: await certificate(region),
    region,
  };
}

/** A listener; an HTTPS or TLS one without `policy` gets the API's default (ELBSecurityPolicy-2016-08). */
export async function addListener(
  lb: Fixture,
  protocol: ProtocolEnum,
  port: number,
  options: { policy?: string; actions?: Action[] } = {},
): Promise<string> {
  const secure = protocol === 'HTTPS' || protocol === 'TLS';
  const { Listeners = [] } = await elbv2(lb.region).send(
    new CreateListenerCommand({
      LoadBalancerArn: lb.arn,
      Protocol: protocol,
      Port: port,
      ...(secure ? { Certificates: [{ CertificateArn: lb.certificateArn }] } : {}),
      ...(options.policy ? { SslPolicy: options.policy } : {}),
      DefaultActions: options.actions ?? [{ Type: 'forward', TargetGroupArn: lb.targetGroupArn }],
    }),
  );
  return Listeners[0]?.ListenerArn ?? '';
}

export async function addForwardingRule(lb: Fixture, listenerArn: string): Promise<string> {
  const { Rules = [] } = await elbv2(lb.region).send(
    new CreateRuleCommand({
      ListenerArn: listenerArn,
      Priority: 10,
      Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/api/*'] } }],
      Actions: [{ Type: 'forward', TargetGroupArn: lb.targetGroupArn }],
    }),
  );
  return Rules[0]?.RuleArn ?? '';
}

export async function listener(region: string, listenerArn: string): Promise<Listener | undefined> {
  const { Listeners = [] } = await elbv2(region).send(
    new DescribeListenersCommand({ ListenerArns: [listenerArn] }),
  );
  return Listeners[0];
}

/** How the load balancer reaches a target group's targets, as moto reads it back. */
export async function targetGroupProtocol(
  region: string,
  targetGroupArn: string,
): Promise<string | undefined> {
  const { TargetGroups = [] } = await elbv2(region).send(
    new DescribeTargetGroupsCommand({ TargetGroupArns: [targetGroupArn] }),
  );
  return TargetGroups[0]?.Protocol;
}

/** The CloudTrail event of a call on a listener (CreateListener, ModifyListener, CreateRule...). */
export const listenerCall = (
  eventName: string,
  requestParameters: Record<string, unknown>,
  region = 'us-east-1',
  userName = 'dev-dana',
) =>
  cloudTrailEvent({
    eventName,
    eventSource: 'elasticloadbalancing.amazonaws.com',
    region,
    caller: humanCaller(ACCOUNT, userName),
    requestParameters,
  });

export const elb = (region: string) => new ElasticLoadBalancingClient({ region });

/** A Classic Load Balancer with these listeners (an HTTPS or SSL one gets an ACM certificate). */
export async function createClassicLoadBalancer(
  name: string,
  listeners: Omit<ClassicListener, 'SSLCertificateId'>[],
  region = 'us-east-1',
): Promise<string> {
  const certificateArn = await certificate(region);
  await elb(region).send(
    new CreateClassicLoadBalancerCommand({
      LoadBalancerName: name,
      AvailabilityZones: [`${region}a`],
      Listeners: listeners.map((listener) =>
        listener.Protocol === 'HTTPS' || listener.Protocol === 'SSL'
          ? { ...listener, SSLCertificateId: certificateArn }
          : listener,
      ),
    }),
  );
  return name;
}

/**
 * A stickiness policy and a negotiation policy allowing these protocols (`Protocol-<version>`),
 * both set on the listener on `port`.
 */
export async function setStickyAndNegotiation(
  name: string,
  port: number,
  protocols: readonly string[],
  region = 'us-east-1',
): Promise<string[]> {
  const client = elb(region);
  await client.send(
    new CreateAppCookieStickinessPolicyCommand({
      LoadBalancerName: name,
      PolicyName: 'sticky',
      CookieName: 'session',
    }),
  );
  await client.send(
    new CreateLoadBalancerPolicyCommand({
      LoadBalancerName: name,
      PolicyName: 'negotiation',
      PolicyTypeName: 'SSLNegotiationPolicyType',
      PolicyAttributes: ['SSLv3', 'TLSv1', 'TLSv1.1', 'TLSv1.2'].map((version) => ({
        AttributeName: `Protocol-${version}`,
        AttributeValue: String(protocols.includes(version)),
      })),
    }),
  );
  const PolicyNames = ['sticky', 'negotiation'];
  await client.send(
    new SetLoadBalancerPoliciesOfListenerCommand({
      LoadBalancerName: name,
      LoadBalancerPort: port,
      PolicyNames,
    }),
  );
  return PolicyNames;
}

/** The policies of a Classic listener, as AWS lists them now. */
export async function classicListenerPolicies(name: string, port: number, region = 'us-east-1') {
  const { LoadBalancerDescriptions = [] } = await elb(region).send(
    new DescribeClassicLoadBalancersCommand({ LoadBalancerNames: [name] }),
  );
  return LoadBalancerDescriptions[0]?.ListenerDescriptions?.find(
    (described) => described.Listener?.LoadBalancerPort === port,
  )?.PolicyNames;
}

/** The CloudTrail event of a Classic call (its request names `loadBalancerName`, as Classic records do). */
export const classicCall = (eventName: string, loadBalancerName: string, region = 'us-east-1') =>
  cloudTrailEvent({
    eventName,
    eventSource: 'elasticloadbalancing.amazonaws.com',
    region,
    caller: humanCaller(ACCOUNT, 'dev-dana'),
    requestParameters: { loadBalancerName },
  });
