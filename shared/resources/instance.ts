import type { Instance } from '@aws-sdk/client-ec2';
import { idString, parseWith, scalarAt } from '../triggers/parse';
import * as z from '../zod';
import { type RecordedItem, recordedTags } from './config-item';
import {
  type CallMapping,
  type ResourceType,
  requestParameter,
  type TagChange,
  tagCallFacts,
} from './resource-type';

const instancesInResponse = z.object({
  responseElements: z.object({
    instancesSet: z.object({
      items: z.array(z.object({ instanceId: idString })).check(z.minLength(1), z.maxLength(1000)),
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

const taggedResources = z.object({
  requestParameters: z.object({
    resourcesSet: z.object({ items: z.array(z.object({ resourceId: idString })).check(z.maxLength(1000)) }),
    tagSet: z.optional(
      z.object({
        items: z.array(z.looseObject({ key: z.string().check(z.maxLength(128)) })).check(z.maxLength(1000)),
      }),
    ),
  }),
});

/**
 * CreateTags and DeleteTags name many resources of any type: the instances among them (none is fine,
 * the call then concerns no instance), and which tag keys the call set or removed (keys only, never
 * values), so a rule that scopes instances by a tag sees one leave its scope.
 */
const tagged = (change: TagChange): CallMapping => ({
  eventSource: 'ec2.amazonaws.com',
  resourceIds: (record, prefix) =>
    parseWith(taggedResources, record, prefix)
      .requestParameters.resourcesSet.items.map((item) => item.resourceId)
      .filter((id) => /^i-[0-9a-f]+$/.test(id)),
  facts: (record) =>
    tagCallFacts(
      change,
      parseWith(taggedResources, record).requestParameters.tagSet?.items.map((item) => item.key),
    ),
});

export const INSTANCE = 'AWS::EC2::Instance';

/** What Config records of an instance (DescribeInstances' Instance, camelCase) that a rule may judge. */
const recordedInstance = z.object({
  instanceType: idString,
  state: z.object({ name: idString }),
  placement: z.object({ tenancy: idString }),
});

/**
 * An instance's configuration item as DescribeInstances returns the instance: its type, state,
 * tenancy and tags. What a live read adds from other calls (stop protection, instance-store
 * volumes, Elastic IPs, Spot requests) Config does not record with the instance.
 */
export function instanceOfItem(item: RecordedItem): Instance {
  const recorded = parseWith(recordedInstance, item.configuration, 'configurationItem.configuration');
  return {
    InstanceId: item.resourceId,
    InstanceType: recorded.instanceType as Instance['InstanceType'],
    State: { Name: recorded.state.name as NonNullable<Instance['State']>['Name'] },
    Placement: { Tenancy: recorded.placement.tenancy as NonNullable<Instance['Placement']>['Tenancy'] },
    Tags: recordedTags(item),
  };
}

export const instance: ResourceType = {
  type: INSTANCE,
  arn: { service: 'ec2', resource: /^instance\/i-[0-9a-f]+$/, plural: 'instances' },
  configItem: instanceOfItem,
  calls: {
    RunInstances: launched,
    StartInstances: launched,
    ModifyInstancePlacement: {
      eventSource: 'ec2.amazonaws.com',
      resourceIds: requestParameter('instanceId'),
      facts: (record) => ({ tenancy: scalarAt(record, 'requestParameters', 'tenancy') }),
    },
    CreateTags: tagged('set'),
    DeleteTags: tagged('remove'),
  },
};
