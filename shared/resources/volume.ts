import { z } from 'zod';
import { idString, parseWith, scalarAt } from '../triggers/parse';
import { type ResourceType, requestParameter } from './resource-type';

const createdVolume = z.object({ responseElements: z.object({ volumeId: idString }) });

export const VOLUME = 'AWS::EC2::Volume';

export const volume: ResourceType = {
  type: VOLUME,
  arn: { service: 'ec2', resource: /^volume\/vol-[0-9a-f]+$/, plural: 'volumes' },
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
