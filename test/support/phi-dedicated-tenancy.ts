import type * as Ec2 from '@aws-sdk/client-ec2';
import {
  DescribeInstancesCommand,
  EC2Client,
  type Instance,
  RunInstancesCommand,
  StopInstancesCommand,
} from '@aws-sdk/client-ec2';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import { cloudTrailEvent, humanCaller } from '../../scripts/lib/events';

/**
 * One EC2 instance simulated on an aws-sdk-client-mock stub, for what moto 5.2.1 cannot do: it
 * ignores Placement.Tenancy on RunInstances (every instance reads `default`) and does not implement
 * ModifyInstancePlacement. The fake keeps state, so stop → wait → modify → start → verify runs as it
 * would against EC2. The EC2 module is a parameter: integration tests pass the copy their handler
 * loaded (jest.isolateModules gives it its own classes, and the stub matches commands by class).
 */
export interface FakeInstanceSpec {
  instanceId?: string;
  state?: 'pending' | 'running' | 'stopping' | 'stopped' | 'shutting-down' | 'terminated';
  tenancy?: 'default' | 'dedicated' | 'host';
  instanceType?: string;
  tags?: Record<string, string>;
  publicIp?: string;
  elasticIp?: boolean;
  disableApiStop?: boolean;
  instanceStore?: boolean;
  rootDeviceType?: 'ebs' | 'instance-store';
  spot?: { requestId?: string; type?: 'one-time' | 'persistent' };
  /** What a stop does: reaches stopped at once, or hangs in stopping. */
  stop?: 'stops' | 'hangs';
  /** What a start does: runs, or bounces back to stopped (what an unusable EBS key does). */
  start?: 'runs' | 'bounces';
  /** What ModifyInstancePlacement does: moves it, refuses with an error, or answers Return=false. */
  placement?: 'moves' | 'returns-false' | { refuse: Error };
}

export const FAKE_INSTANCE_ID = 'i-0abc1234567890def';

export function fakeInstance(stub: AwsClientStub<EC2Client>, ec2: typeof Ec2, spec: FakeInstanceSpec = {}) {
  const current = {
    state: spec.state ?? 'running',
    tenancy: spec.tenancy ?? 'default',
    stateReason: undefined as string | undefined,
  };
  const instanceId = spec.instanceId ?? FAKE_INSTANCE_ID;
  const instanceType = spec.instanceType ?? 't3.large';
  const described = (): Instance => ({
    InstanceId: instanceId,
    InstanceType: instanceType as Instance['InstanceType'],
    State: { Name: current.state },
    Placement: { Tenancy: current.tenancy, AvailabilityZone: 'eu-west-1a' },
    Tags: Object.entries(spec.tags ?? {}).map(([Key, Value]) => ({ Key, Value })),
    PublicIpAddress: current.state === 'running' ? spec.publicIp : undefined,
    RootDeviceType: spec.rootDeviceType ?? 'ebs',
    InstanceLifecycle: spec.spot ? 'spot' : undefined,
    SpotInstanceRequestId: spec.spot?.requestId,
    StateReason: current.stateReason ? { Code: current.stateReason } : undefined,
  });
  const stateChange = (previous: string) => [
    { InstanceId: instanceId, PreviousState: { Name: previous }, CurrentState: { Name: current.state } },
  ];

  stub.on(ec2.DescribeInstancesCommand).callsFake(() => ({ Reservations: [{ Instances: [described()] }] }));
  stub
    .on(ec2.DescribeInstanceAttributeCommand)
    .callsFake(() => ({ InstanceId: instanceId, DisableApiStop: { Value: spec.disableApiStop === true } }));
  stub.on(ec2.DescribeInstanceTypesCommand).callsFake(() => ({
    InstanceTypes: [{ InstanceType: instanceType, InstanceStorageSupported: spec.instanceStore === true }],
  }));
  stub.on(ec2.DescribeAddressesCommand).callsFake(() => ({
    Addresses: spec.elasticIp && spec.publicIp ? [{ PublicIp: spec.publicIp, InstanceId: instanceId }] : [],
  }));
  stub.on(ec2.DescribeSpotInstanceRequestsCommand).callsFake(() => ({
    SpotInstanceRequests: spec.spot?.type ? [{ Type: spec.spot.type, InstanceId: instanceId }] : [],
  }));
  stub.on(ec2.CreateTagsCommand).resolves({});
  stub.on(ec2.StopInstancesCommand).callsFake(() => {
    const previous = current.state;
    current.state = spec.stop === 'hangs' ? 'stopping' : 'stopped';
    return { StoppingInstances: stateChange(previous) };
  });
  stub.on(ec2.StartInstancesCommand).callsFake(() => {
    const previous = current.state;
    current.state = spec.start === 'bounces' ? 'stopped' : 'running';
    current.stateReason = spec.start === 'bounces' ? 'Client.InternalError' : undefined;
    return { StartingInstances: stateChange(previous) };
  });
  stub.on(ec2.ModifyInstancePlacementCommand).callsFake(() => {
    const placement = spec.placement ?? 'moves';
    if (placement === 'returns-false') return { Return: false };
    if (placement !== 'moves') throw placement.refuse;
    current.tenancy = 'dedicated';
    return { Return: true };
  });
  return current;
}

/** An error as the EC2 client raises it for a request AWS refused (HTTP 400). */
export const ec2ClientError = (ec2: typeof Ec2, name: string, message: string): Error =>
  new ec2.EC2ServiceException({ name, message, $fault: 'client', $metadata: { httpStatusCode: 400 } });

/** Real (moto) instances, for what moto can do: launch, describe, stop, and the calls that start them. */
const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const ec2 = new EC2Client({ region: REGION });

/** A shared-tenancy instance: moto ignores Placement.Tenancy, so every instance it runs is `default`. */
export async function launch(
  tags: Record<string, string>,
  options: { stopped?: boolean; disableApiStop?: boolean } = {},
) {
  const run = await ec2.send(
    new RunInstancesCommand({
      ImageId: 'ami-12c6146b',
      InstanceType: 't3.micro',
      MinCount: 1,
      MaxCount: 1,
      DisableApiStop: options.disableApiStop,
      TagSpecifications: [
        { ResourceType: 'instance', Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) },
      ],
    }),
  );
  const instanceId = run.Instances?.[0]?.InstanceId;
  if (!instanceId) throw new Error('moto launched no instance');
  if (options.stopped) await ec2.send(new StopInstancesCommand({ InstanceIds: [instanceId] }));
  return instanceId;
}

export async function described(instanceId: string): Promise<Instance> {
  const result = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
  const instance = result.Reservations?.[0]?.Instances?.[0];
  if (!instance) throw new Error(`no instance ${instanceId}`);
  return instance;
}
export const instanceCall = (
  eventName: 'RunInstances' | 'StartInstances',
  instanceId: string,
  caller = humanCaller(ACCOUNT),
) =>
  cloudTrailEvent({
    eventName,
    eventSource: 'ec2.amazonaws.com',
    region: REGION,
    caller,
    requestParameters: eventName === 'RunInstances' ? { instanceType: 't3.micro' } : null,
    responseElements: { instancesSet: { items: [{ instanceId }] } },
  });
