import { type ResourceType, requestParameter, sameMapping } from './resource-type';

export const TRAIL = 'AWS::CloudTrail::Trail';

export const trail: ResourceType = {
  type: TRAIL,
  arn: { service: 'cloudtrail', resource: /^trail\/[\w.-]+$/, plural: 'trails' },
  calls: {
    ...sameMapping(['StopLogging', 'StartLogging', 'DeleteTrail', 'UpdateTrail'], {
      eventSource: 'cloudtrail.amazonaws.com',
      resourceIds: requestParameter('name'),
    }),
    PutEventSelectors: {
      eventSource: 'cloudtrail.amazonaws.com',
      resourceIds: requestParameter('trailName'),
    },
  },
};
