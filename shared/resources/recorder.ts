import { idString, parseWith } from '../triggers/parse';
import * as z from '../zod';
import { type ResourceType, requestParameter, sameMapping } from './resource-type';

const recorderInRequest = z.object({
  requestParameters: z.object({ configurationRecorder: z.object({ name: idString }) }),
});

export const RECORDER = 'AWS::Config::ConfigurationRecorder';

export const recorder: ResourceType = {
  type: RECORDER,
  arn: {
    service: 'config',
    resource: /^configuration-recorder\/[\w.-]+$/,
    plural: 'configuration recorders',
  },
  calls: {
    ...sameMapping(['StopConfigurationRecorder', 'DeleteConfigurationRecorder'], {
      eventSource: 'config.amazonaws.com',
      resourceIds: requestParameter('configurationRecorderName'),
    }),
    PutConfigurationRecorder: {
      eventSource: 'config.amazonaws.com',
      resourceIds: (record, prefix) => [
        parseWith(recorderInRequest, record, prefix).requestParameters.configurationRecorder.name,
      ],
    },
  },
};
