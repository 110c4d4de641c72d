import { z } from 'zod';
import { idString, parseWith, scalarAt } from '../triggers/parse';
import { type CallMapping, type ResourceType, requestParameter } from './resource-type';

const instancesInResponse = z.object({
  responseElements: z.object({
    instancesSet: z.object({
      items: z
        .array(z.object({ instanceId: idString }))
        .min(1)
        .max(1000),
    }),
  }),
});

/** RunInstances and StartInstances name their instances in the response. */
const launched: CallMapping = {
  eventSource: 'ec2.amazonaws.com',
  resourceIds: (record, prefix) =>
    parseWith(instancesInResponse, record, prefix).responseElements.instancesSet.items.map(
      (item) => item.instanceId,
    ),
  facts: (record) => ({ instanceType: scalarAt(record, 'requestParameters', 'instanceType') }),
};

export const INSTANCE = 'AWS::EC2::Instance';

export const instance: ResourceType = {
  type: INSTANCE,
  arn: { service: 'ec2', resource: /^instance\/i-[0-9a-f]+$/, plural: 'instances' },
  calls: {
    RunInstances: launched,
    StartInstances: launched,
    ModifyInstancePlacement: {
      eventSource: 'ec2.amazonaws.com',
      resourceIds: requestParameter('instanceId'),
      facts: (record) => ({ tenancy: scalarAt(record, 'requestParameters', 'tenancy') }),
    },
  },
};
