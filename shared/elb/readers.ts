import {
  DescribeTagsCommand as DescribeClassicTagsCommand,
  type ElasticLoadBalancingClient,
  type LoadBalancerDescription,
} from '@aws-sdk/client-elastic-load-balancing';
import {
  DescribeTagsCommand,
  type ElasticLoadBalancingV2Client,
  type Listener,
  type LoadBalancer,
  paginateDescribeListeners,
} from '@aws-sdk/client-elastic-load-balancing-v2';

/** Reads the ELB rules share: a load balancer's tags, its listeners, a Classic listener as the rules see it. */

type Tags = Readonly<Record<string, string>>;

const toTags = (tags: readonly { Key?: string; Value?: string }[] = []): Tags =>
  Object.fromEntries(tags.flatMap((tag) => (tag.Key ? [[tag.Key, tag.Value ?? '']] : [])));

/** A v2 load balancer's tags. */
export async function v2TagsOf(elbv2: ElasticLoadBalancingV2Client, arn: string): Promise<Tags> {
  const { TagDescriptions = [] } = await elbv2.send(new DescribeTagsCommand({ ResourceArns: [arn] }));
  return toTags(TagDescriptions[0]?.Tags);
}

/** A Classic Load Balancer's tags. */
export async function classicTagsOf(elb: ElasticLoadBalancingClient, name: string): Promise<Tags> {
  const { TagDescriptions = [] } = await elb.send(
    new DescribeClassicTagsCommand({ LoadBalancerNames: [name] }),
  );
  return toTags(TagDescriptions[0]?.Tags);
}

/** Every listener of a v2 load balancer. */
export async function listenersOf(elbv2: ElasticLoadBalancingV2Client, arn: string): Promise<Listener[]> {
  const listeners: Listener[] = [];
  for await (const page of paginateDescribeListeners({ client: elbv2 }, { LoadBalancerArn: arn })) {
    listeners.push(...(page.Listeners ?? []));
  }
  return listeners;
}

export interface ClassicListenerState {
  readonly port: number;
  /** The front end (client to load balancer), upper case. */
  readonly protocol: string;
  /** The back end (load balancer to instance), upper case. */
  readonly instanceProtocol: string;
  /** Every policy the listener has, in AWS's order: what an undo sets back. */
  readonly policyNames: readonly string[];
}

/** A Classic Load Balancer's listeners, protocols upper case (AWS accepts and echoes any case). */
export const classicListenersOf = (description: LoadBalancerDescription): ClassicListenerState[] =>
  (description.ListenerDescriptions ?? []).map(({ Listener: listener, PolicyNames = [] }) => ({
    port: listener?.LoadBalancerPort ?? 0,
    protocol: (listener?.Protocol ?? '').toUpperCase(),
    instanceProtocol: (listener?.InstanceProtocol ?? '').toUpperCase(),
    policyNames: PolicyNames,
  }));

/** `HTTPS:443`: how findings name a listener. */
export const listenerLabel = (listener: { protocol: string; port: number }) =>
  `${listener.protocol}:${listener.port}`;

/** Application and Network Load Balancers: the ones whose listeners carry TLS (a Gateway Load Balancer's GENEVE does not). */
export const carriesTls = (loadBalancer: LoadBalancer) =>
  loadBalancer.Type === 'application' || loadBalancer.Type === 'network';

/** A Classic Load Balancer's ARN (named by its name, unique in its account and region). */
export const classicArn = (scope: { accountId: string; region: string }, name: string) =>
  `arn:aws:elasticloadbalancing:${scope.region}:${scope.accountId}:loadbalancer/${name}`;
