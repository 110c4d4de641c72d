import type { Volume } from '@aws-sdk/client-ec2';
import { idString, parseWith, scalarAt } from '../triggers/parse';
import * as z from '../zod';
import { type RecordedItem, recordedTags } from './config-item';
import { type ResourceType, requestParameter } from './resource-type';

const createdVolume = z.object({ responseElements: z.object({ volumeId: idString }) });

export const VOLUME = 'AWS::EC2::Volume';

/** What Config records of a volume (DescribeVolumes' Volume, camelCase) that a rule may judge. */
const recordedVolume = z.object({
  state: idString,
  encrypted: z.boolean(),
  size: z.number().check(z.int(), z.nonnegative()),
  volumeType: idString,
  iops: z.nullish(z.number().check(z.int())),
  throughput: z.nullish(z.number().check(z.int())),
  availabilityZone: idString,
  attachments: z.nullish(
    z
      .array(
        z.object({
          instanceId: idString,
          device: idString,
          deleteOnTermination: z.nullish(z.boolean()),
        }),
      )
      .check(z.maxLength(100)),
  ),
});

/**
 * A volume's configuration item as DescribeVolumes returns the volume. Config records every field
 * the volume rule reads; `encrypted` is required, so an item without it is refused, never judged.
 */
export function volumeOfItem(item: RecordedItem): Volume {
  const recorded = parseWith(recordedVolume, item.configuration, 'configurationItem.configuration');
  return {
    VolumeId: item.resourceId,
    State: recorded.state as Volume['State'],
    Encrypted: recorded.encrypted,
    Size: recorded.size,
    VolumeType: recorded.volumeType as Volume['VolumeType'],
    Iops: recorded.iops ?? undefined,
    Throughput: recorded.throughput ?? undefined,
    AvailabilityZone: recorded.availabilityZone,
    Attachments: (recorded.attachments ?? []).map((attachment) => ({
      InstanceId: attachment.instanceId,
      Device: attachment.device,
      DeleteOnTermination: attachment.deleteOnTermination ?? undefined,
    })),
    Tags: recordedTags(item),
  };
}

export const volume: ResourceType = {
  type: VOLUME,
  arn: { service: 'ec2', resource: /^volume\/vol-[0-9a-f]+$/, plural: 'volumes' },
  configItem: volumeOfItem,
  calls: {
    CreateVolume: {
      eventSource: 'ec2.amazonaws.com',
      resourceIds: (record, prefix) => [parseWith(createdVolume, record, prefix).responseElements.volumeId],
      facts: (record) => ({
        encrypted: scalarAt(record, 'responseElements', 'encrypted'),
        kmsKeyId: scalarAt(record, 'responseElements', 'kmsKeyId'),
        snapshotId: scalarAt(record, 'requestParameters', 'snapshotId'),
        volumeType: scalarAt(record, 'responseElements', 'volumeType'),
      }),
    },
    AttachVolume: {
      eventSource: 'ec2.amazonaws.com',
      resourceIds: requestParameter('volumeId'),
      facts: (record) => ({
        instanceId: scalarAt(record, 'requestParameters', 'instanceId'),
        device: scalarAt(record, 'requestParameters', 'device'),
      }),
    },
  },
};
