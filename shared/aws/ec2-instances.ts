import {
  type _InstanceType,
  DescribeAddressesCommand,
  DescribeInstanceAttributeCommand,
  DescribeInstanceTypesCommand,
  DescribeSpotInstanceRequestsCommand,
  type EC2Client,
  type Instance,
} from '@aws-sdk/client-ec2';

/**
 * What every rule that may stop an EC2 instance needs to know first: who manages it, and what a
 * stop would cost or why it cannot happen (DESIGN §5). Read-only; the stop itself stays in the rule,
 * where it is recorded as a step.
 */

export const InstanceManagerKind = {
  EksNodeGroup: 'eks-node-group',
  Karpenter: 'karpenter',
  Emr: 'emr',
  ElasticBeanstalk: 'elastic-beanstalk',
  AutoScaling: 'auto-scaling',
  SpotFleet: 'spot-fleet',
  Ec2Fleet: 'ec2-fleet',
} as const;
export type InstanceManagerKind = (typeof InstanceManagerKind)[keyof typeof InstanceManagerKind];

/**
 * The tags each manager puts on its instances, most specific first: EKS node groups and Beanstalk
 * environments run in Auto Scaling groups too, and naming the node group tells on-call more.
 */
const MANAGER_TAGS: readonly {
  kind: InstanceManagerKind;
  label: string;
  tagKeys: readonly string[];
}[] = [
  { kind: InstanceManagerKind.EksNodeGroup, label: 'EKS node group', tagKeys: ['eks:nodegroup-name'] },
  {
    kind: InstanceManagerKind.Karpenter,
    label: 'Karpenter node pool',
    tagKeys: ['karpenter.sh/nodepool', 'karpenter.sh/provisioner-name'],
  },
  { kind: InstanceManagerKind.Emr, label: 'EMR cluster', tagKeys: ['aws:elasticmapreduce:job-flow-id'] },
  {
    kind: InstanceManagerKind.ElasticBeanstalk,
    label: 'Elastic Beanstalk environment',
    tagKeys: ['elasticbeanstalk:environment-name'],
  },
  {
    kind: InstanceManagerKind.AutoScaling,
    label: 'Auto Scaling group',
    tagKeys: ['aws:autoscaling:groupName'],
  },
  // Fleets replace the instances they own just as Auto Scaling does.
  { kind: InstanceManagerKind.SpotFleet, label: 'Spot Fleet', tagKeys: ['aws:ec2spot:fleet-request-id'] },
  { kind: InstanceManagerKind.Ec2Fleet, label: 'EC2 Fleet', tagKeys: ['aws:ec2:fleet-id'] },
];

const LAUNCH_TEMPLATE_ID_TAG = 'aws:ec2launchtemplate:id';
const LAUNCH_TEMPLATE_VERSION_TAG = 'aws:ec2launchtemplate:version';
const AUTO_SCALING_GROUP_TAG = 'aws:autoscaling:groupName';

/** A service that launches and replaces the instance: stopping it would only make the service replace it. */
export interface InstanceManager {
  kind: InstanceManagerKind;
  /** "EKS node group 'payments' (Auto Scaling group 'eks-payments-1a2b', launch template lt-0abc version 3)". */
  description: string;
  /** Where the tenancy must be changed so that replacements come up right. */
  launchSource: string;
}

const MAX_NAME_LENGTH = 128;
const quoted = (value: string) => `'${value.slice(0, MAX_NAME_LENGTH)}'`;

/** Which manager owns this instance, from the tags managers set (only AWS can set `aws:` tags). */
export function instanceManager(tags: Readonly<Record<string, string>>): InstanceManager | undefined {
  for (const manager of MANAGER_TAGS) {
    const key = manager.tagKeys.find((candidate) => Object.hasOwn(tags, candidate));
    if (key === undefined) continue;
    const templateId = tags[LAUNCH_TEMPLATE_ID_TAG];
    const templateVersion = tags[LAUNCH_TEMPLATE_VERSION_TAG];
    const template = templateId
      ? `launch template ${templateId.slice(0, MAX_NAME_LENGTH)}${templateVersion ? ` version ${templateVersion.slice(0, 16)}` : ''}`
      : undefined;
    const group = tags[AUTO_SCALING_GROUP_TAG];
    const details = [
      manager.kind !== InstanceManagerKind.AutoScaling && group
        ? `Auto Scaling group ${quoted(group)}`
        : undefined,
      template,
    ].filter((detail): detail is string => detail !== undefined);
    return {
      kind: manager.kind,
      description: `${manager.label} ${quoted(tags[key] ?? '')}${details.length ? ` (${details.join(', ')})` : ''}`,
      launchSource: template ?? `the launch template or launch configuration of the ${manager.label}`,
    };
  }
  return undefined;
}

/** Facts that decide whether stopping an instance is possible and what it costs (DESIGN §5). */
export interface StopFacts {
  /** `ebs` or `instance-store`; an instance-store-backed instance cannot be stopped at all. */
  rootDeviceType: string;
  /** Its type has instance-store volumes: their data is lost on stop. null when EC2 does not say. */
  hasInstanceStore: boolean | null;
  hasPublicIp: boolean;
  /** An Elastic IP survives a stop; an auto-assigned public IPv4 changes. null without a public IP. */
  publicIpIsElastic: boolean | null;
  /** Stop protection (`DisableApiStop`): StopInstances is refused. */
  disableApiStop: boolean;
  /** `normal`, `spot`, `scheduled`, `capacity-block`. */
  instanceLifecycle: string;
  /** For Spot instances: `one-time` or `persistent`; null when unknown or not Spot. */
  spotRequestType: string | null;
}

/** Memoised per caller (one sweep, one load): one DescribeInstanceTypes per type. */
export type InstanceStoreLookup = (instanceType: string) => Promise<boolean | null>;

export function instanceStoreLookup(ec2: EC2Client): InstanceStoreLookup {
  const known = new Map<string, Promise<boolean | null>>();
  return (instanceType) => {
    let answer = known.get(instanceType);
    if (!answer) {
      answer = (async () => {
        const result = await ec2.send(
          new DescribeInstanceTypesCommand({ InstanceTypes: [instanceType as _InstanceType] }),
        );
        return result.InstanceTypes?.[0]?.InstanceStorageSupported ?? null;
      })();
      known.set(instanceType, answer);
    }
    return answer;
  };
}

/** Reads the stop facts of one described instance: at most four small reads, errors propagate. */
export async function readStopFacts(
  ec2: EC2Client,
  instance: Instance,
  instanceStore: InstanceStoreLookup,
): Promise<StopFacts> {
  const instanceId = instance.InstanceId ?? '';
  const publicIp = instance.PublicIpAddress;
  const spotRequestId = instance.InstanceLifecycle === 'spot' ? instance.SpotInstanceRequestId : undefined;
  const [hasInstanceStore, attribute, addresses, spotRequests] = await Promise.all([
    instance.InstanceType ? instanceStore(instance.InstanceType) : Promise.resolve(null),
    ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: instanceId, Attribute: 'disableApiStop' })),
    // A filter, not PublicIps: naming an address that is not Elastic is an error, filtering is not.
    publicIp
      ? ec2.send(new DescribeAddressesCommand({ Filters: [{ Name: 'public-ip', Values: [publicIp] }] }))
      : Promise.resolve(undefined),
    spotRequestId
      ? ec2.send(new DescribeSpotInstanceRequestsCommand({ SpotInstanceRequestIds: [spotRequestId] }))
      : Promise.resolve(undefined),
  ]);
  return {
    rootDeviceType: instance.RootDeviceType ?? 'ebs',
    hasInstanceStore,
    hasPublicIp: publicIp !== undefined,
    publicIpIsElastic: addresses ? (addresses.Addresses ?? []).length > 0 : null,
    disableApiStop: attribute.DisableApiStop?.Value === true,
    instanceLifecycle: instance.InstanceLifecycle ?? 'normal',
    spotRequestType: spotRequests?.SpotInstanceRequests?.[0]?.Type ?? null,
  };
}

/**
 * Why this instance must not be stopped, or undefined when it may be. Instance-store data counts:
 * nothing is destroyed by default (DESIGN §4), and a stop erases those volumes.
 */
export function stopBlocker(facts: StopFacts, instanceType: string): string | undefined {
  if (facts.rootDeviceType === 'instance-store')
    return 'its root device is instance store: it cannot be stopped';
  if (facts.disableApiStop) return 'stop protection (DisableApiStop) is on';
  if (facts.instanceLifecycle === 'spot' && facts.spotRequestType !== 'persistent') {
    const request = facts.spotRequestType
      ? `of a ${facts.spotRequestType} request`
      : 'whose request is unknown';
    return `it is a Spot instance ${request}: only Spot instances of persistent requests can be stopped`;
  }
  if (facts.hasInstanceStore === true) {
    return `its type ${instanceType} has instance-store volumes, whose data a stop erases`;
  }
  return undefined;
}

/** What a stop costs that the incident must name, in words (empty when nothing). */
export function stopCosts(facts: StopFacts): string[] {
  return facts.hasPublicIp && facts.publicIpIsElastic === false
    ? ['its public IPv4 address is not an Elastic IP and will change']
    : [];
}
