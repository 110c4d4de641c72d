import {
  DescribeLoadBalancersCommand as DescribeClassicLoadBalancersCommand,
  type ElasticLoadBalancingClient,
  type LoadBalancerDescription,
  paginateDescribeLoadBalancers as paginateDescribeClassicLoadBalancers,
} from '@aws-sdk/client-elastic-load-balancing';
import {
  DescribeLoadBalancersCommand,
  type ElasticLoadBalancingV2Client,
  type LoadBalancer,
  paginateDescribeLoadBalancers,
  paginateDescribeTargetGroups,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { isAwsError } from '../aws/aws-errors';
import {
  type ClassicListenerState,
  carriesTls,
  classicArn,
  classicListenersOf,
  classicTagsOf,
  listenerLabel,
  listenersOf,
  v2TagsOf,
} from '../elb/readers';
import { RemediationDeclined } from '../errors';
import { Mode, Severity } from '../model';
import { CLASSIC_LOAD_BALANCER, LOAD_BALANCER, loadBalancerArnOf } from '../resources/load-balancer';
import { defineRule, type Loaded } from './rule';

/**
 * Encryption in transit end to end (§164.312(e)): the leg from a load balancer to its targets. A v2
 * target group a load balancer reaches over HTTP, TCP, UDP or TCP_UDP, or a Classic listener whose
 * InstanceProtocol is HTTP or TCP, carries PHI in the clear inside the VPC, whatever the front end.
 * Notify only: the fix (an HTTPS/TLS target group, a TLS-terminating proxy on the instance) is a
 * change to the application a person makes.
 */

const ENCRYPTED = new Set(['HTTPS', 'TLS', 'SSL']);
const PLAIN_TARGET_PROTOCOLS = new Set(['HTTP', 'TCP', 'UDP', 'TCP_UDP']);
const PLAIN_INSTANCE_PROTOCOLS = new Set(['HTTP', 'TCP']);

export interface TargetGroupState {
  readonly name: string;
  /** How the load balancer reaches the targets; absent for Lambda targets (invoked, not connected to). */
  readonly protocol?: string;
  readonly port?: number;
}

export type BackEndState =
  | {
      readonly kind: 'v2';
      readonly name: string;
      readonly type: string;
      /** Front ends (client to load balancer), e.g. `HTTPS:443`. */
      readonly listeners: readonly { readonly protocol: string; readonly port: number }[];
      readonly targetGroups: readonly TargetGroupState[];
    }
  | { readonly kind: 'classic'; readonly name: string; readonly listeners: readonly ClassicListenerState[] };

const bounded = (parts: readonly string[]) => parts.join('; ').slice(0, 256);

/** What the front end encrypts: the listeners that are TLS, and those that are not. */
function frontEnds(listeners: readonly { protocol: string; port: number }[]) {
  return {
    encrypted: listeners.filter((listener) => ENCRYPTED.has(listener.protocol)).map(listenerLabel),
    plain: listeners.filter((listener) => !ENCRYPTED.has(listener.protocol)).map(listenerLabel),
  };
}

/** Each back end reached in the clear (`web-targets (HTTP:8080)`, `HTTP:80 -> instance HTTP`), with its protocol. */
function plainBackEnds(state: BackEndState): { label: string; protocol: string }[] {
  if (state.kind === 'classic') {
    return state.listeners
      .filter((listener) => PLAIN_INSTANCE_PROTOCOLS.has(listener.instanceProtocol))
      .map((listener) => ({
        label: `${listenerLabel(listener)} -> instance ${listener.instanceProtocol}`,
        protocol: listener.instanceProtocol,
      }));
  }
  return state.targetGroups.flatMap((group) =>
    group.protocol && PLAIN_TARGET_PROTOCOLS.has(group.protocol)
      ? [{ label: `${group.name} (${group.protocol}:${group.port ?? ''})`, protocol: group.protocol }]
      : [],
  );
}

async function describeV2(
  loadBalancer: LoadBalancer,
  elbv2: ElasticLoadBalancingV2Client,
  scope: { accountId: string; region: string },
): Promise<Loaded<BackEndState>> {
  const arn = loadBalancer.LoadBalancerArn ?? '';
  const listeners = await listenersOf(elbv2, arn);
  const targetGroups: TargetGroupState[] = [];
  for await (const page of paginateDescribeTargetGroups({ client: elbv2 }, { LoadBalancerArn: arn })) {
    for (const group of page.TargetGroups ?? []) {
      targetGroups.push({ name: group.TargetGroupName ?? '', protocol: group.Protocol, port: group.Port });
    }
  }
  return {
    resourceType: LOAD_BALANCER,
    resourceId: arn,
    arn,
    region: scope.region,
    accountId: scope.accountId,
    tags: await v2TagsOf(elbv2, arn),
    state: {
      kind: 'v2',
      name: loadBalancer.LoadBalancerName ?? arn,
      type: loadBalancer.Type ?? 'application',
      listeners: listeners.map((listener) => ({
        protocol: listener.Protocol ?? '',
        port: listener.Port ?? 0,
      })),
      targetGroups,
    },
  };
}

async function describeClassic(
  description: LoadBalancerDescription,
  elb: ElasticLoadBalancingClient,
  scope: { accountId: string; region: string },
): Promise<Loaded<BackEndState>> {
  const name = description.LoadBalancerName ?? '';
  return {
    resourceType: CLASSIC_LOAD_BALANCER,
    resourceId: name,
    arn: classicArn(scope, name),
    region: scope.region,
    accountId: scope.accountId,
    tags: await classicTagsOf(elb, name),
    state: { kind: 'classic', name, listeners: classicListenersOf(description) },
  };
}

async function loadV2(
  elbv2: ElasticLoadBalancingV2Client,
  arn: string,
  scope: { accountId: string; region: string },
): Promise<Loaded<BackEndState> | undefined> {
  try {
    const { LoadBalancers = [] } = await elbv2.send(
      new DescribeLoadBalancersCommand({ LoadBalancerArns: [arn] }),
    );
    const [loadBalancer] = LoadBalancers;
    return loadBalancer && carriesTls(loadBalancer)
      ? await describeV2(loadBalancer, elbv2, scope)
      : undefined;
  } catch (error) {
    if (isAwsError(error, 'LoadBalancerNotFoundException', 'LoadBalancerNotFound')) return undefined;
    throw error;
  }
}

async function loadClassic(
  elb: ElasticLoadBalancingClient,
  name: string,
  scope: { accountId: string; region: string },
): Promise<Loaded<BackEndState> | undefined> {
  try {
    const { LoadBalancerDescriptions = [] } = await elb.send(
      new DescribeClassicLoadBalancersCommand({ LoadBalancerNames: [name] }),
    );
    const [description] = LoadBalancerDescriptions;
    return description && (await describeClassic(description, elb, scope));
  } catch (error) {
    if (isAwsError(error, 'AccessPointNotFoundException', 'LoadBalancerNotFound')) return undefined;
    throw error;
  }
}

const TYPE_NAMES: Readonly<Record<string, string>> = {
  application: 'Application Load Balancer',
  network: 'Network Load Balancer',
};

const READ_LOAD_BALANCERS = [
  'elasticloadbalancing:DescribeLoadBalancers',
  'elasticloadbalancing:DescribeListeners',
  'elasticloadbalancing:DescribeTargetGroups',
  'elasticloadbalancing:DescribeTags',
];

export const elbBackendEncrypted = defineRule<BackEndState>({
  id: 'elb-backend-encrypted',
  title: 'Load balancer reaches its targets unencrypted',
  severity: Severity.Medium,
  hipaa: ['164.312(e)(1)', '164.312(e)(2)(ii)'],
  runbook: 'docs/runbooks/elb-backend-encrypted.md',
  readme: {
    enforce:
      'nothing: notify only. Reports v2 target groups reached over HTTP, TCP, UDP or TCP_UDP and Classic listeners whose `InstanceProtocol` is HTTP or TCP, saying which leg is encrypted; the fix (an HTTPS/TLS target group, a TLS-terminating proxy on the instance) changes the application, so a person makes it',
  },
  // Notify only: findings are recorded and paged, and remediate() below changes nothing.
  defaultMode: Mode.Notify,
  resourceType: LOAD_BALANCER,
  alsoJudges: [CLASSIC_LOAD_BALANCER],
  triggers: {
    cloudTrail: {
      eventNames: [
        // The calls that attach a target group to a load balancer. CreateTargetGroup attaches none
        // and ModifyTargetGroup cannot change a group's protocol: neither can cause the drift.
        'CreateListener',
        'ModifyListener',
        'CreateRule',
        'ModifyRule',
        'CreateLoadBalancerListeners',
      ],
    },
    schedule: 'rate(1 hour)',
  },
  permissions: [
    {
      sid: 'ReadLoadBalancers',
      actions: READ_LOAD_BALANCERS,
      why: 'Elastic Load Balancing Describe* calls (v2 and Classic share these names) have no resource-level permissions.',
    },
  ],

  /** A v2 load balancer (from its ARN, or a listener's or rule's) or a Classic one (by name). */
  async load(ref, aws) {
    if (ref.resourceType === CLASSIC_LOAD_BALANCER)
      return loadClassic(aws.elb(ref.region), ref.resourceId, ref);
    const arn = loadBalancerArnOf(ref.resourceId);
    return arn ? loadV2(aws.elbv2(ref.region), arn, ref) : undefined;
  },

  async *list(scope, aws) {
    const elbv2 = aws.elbv2(scope.region);
    for await (const page of paginateDescribeLoadBalancers({ client: elbv2 }, {})) {
      for (const loadBalancer of page.LoadBalancers ?? []) {
        if (carriesTls(loadBalancer)) yield await describeV2(loadBalancer, elbv2, scope);
      }
    }
    const elb = aws.elb(scope.region);
    for await (const page of paginateDescribeClassicLoadBalancers({ client: elb }, {})) {
      for (const description of page.LoadBalancerDescriptions ?? []) {
        yield await describeClassic(description, elb, scope);
      }
    }
  },

  detect(resource) {
    const { state } = resource;
    const plain = plainBackEnds(state);
    if (plain.length === 0) return { compliant: true };
    const front = frontEnds(state.listeners);
    const kind =
      state.kind === 'classic' ? 'Classic Load Balancer' : (TYPE_NAMES[state.type] ?? 'Load balancer');
    const protocols = [...new Set(plain.map((backEnd) => backEnd.protocol))].join('/');
    const what =
      state.kind === 'classic'
        ? `${plain.length} listener(s) reach instances over plain ${protocols}`
        : `${plain.length} target group(s) reached over plain ${protocols}`;
    const frontSays =
      front.encrypted.length > 0
        ? `the front end (${front.encrypted.join(', ')}) is encrypted from client to load balancer, the back-end leg from load balancer to targets is not`
        : 'neither the front end nor the back-end leg to the targets is encrypted';
    const nlbTlsTargets =
      state.kind === 'v2' &&
      state.type === 'network' &&
      state.targetGroups.some((group) => group.protocol === 'TLS');
    return {
      compliant: false,
      reason: `${kind} ${state.name}: ${what}: ${frontSays}`,
      evidence: {
        loadBalancerType: state.kind === 'classic' ? 'classic' : state.type,
        plainBackEnds: bounded(plain.map((backEnd) => backEnd.label)),
        encryptedFrontEnds: bounded(front.encrypted),
        plainFrontEnds: bounded(front.plain),
        encryptedLeg: front.encrypted.length > 0 ? 'client to load balancer' : 'none',
        unencryptedLeg:
          front.plain.length > 0
            ? 'client to load balancer (plain listeners); load balancer to targets'
            : 'load balancer to targets',
        // An NLB's TLS target groups negotiate with the load balancer's own back-end policy, not the listener's.
        ...(nlbTlsTargets
          ? {
              tlsTargetGroups:
                "back-end TLS uses the load balancer's own back-end policy, whatever the listener's",
            }
          : {}),
      },
      plan:
        state.kind === 'classic'
          ? 'nothing automatic: give the listener an HTTPS or SSL InstanceProtocol (recreate it) and run a TLS-terminating proxy on the instance (as the seed standard SSL termination container does)'
          : `nothing automatic: create ${state.type === 'network' ? 'a TLS' : 'an HTTPS'} target group, run a TLS-terminating proxy on the targets (as the seed standard SSL termination container does), and point the listener at it`,
    };
  },

  // Notify only: the back-end protocol is the application's; only a person can move it to TLS.
  async remediate(resource) {
    throw new RemediationDeclined(
      `elb-backend-encrypted only notifies: ${resource.resourceId} was not changed (the back end moves to TLS with the application: an HTTPS/TLS target group and a TLS-terminating proxy on the targets)`,
    );
  },
});
