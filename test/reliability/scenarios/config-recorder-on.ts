import {
  ConfigServiceClient,
  DescribeConfigurationRecorderStatusCommand,
  PutConfigurationRecorderCommand,
  PutDeliveryChannelCommand,
  StartConfigurationRecorderCommand,
  StopConfigurationRecorderCommand,
} from '@aws-sdk/client-config-service';
import { cloudTrailEvent, humanCaller } from '../../../scripts/lib/events';
import { ACCOUNT, REGION, type Scenario, sweep } from '../scenario';

const config = () => new ConfigServiceClient({ region: REGION });

export const scenario: Scenario = {
  family: 'access-audit',
  async seed() {
    await config().send(
      new PutConfigurationRecorderCommand({
        ConfigurationRecorder: {
          name: 'default',
          roleARN: `arn:aws:iam::${ACCOUNT}:role/aws-config-role`,
          recordingGroup: { allSupported: true, includeGlobalResourceTypes: false },
        },
      }),
    );
    await config().send(
      new PutDeliveryChannelCommand({ DeliveryChannel: { name: 'default', s3BucketName: 'config-history' } }),
    );
    await config().send(new StartConfigurationRecorderCommand({ ConfigurationRecorderName: 'default' }));
    await config().send(new StopConfigurationRecorderCommand({ ConfigurationRecorderName: 'default' }));
    return {
      event: cloudTrailEvent({
        eventName: 'StopConfigurationRecorder',
        eventSource: 'config.amazonaws.com',
        region: REGION,
        caller: humanCaller(ACCOUNT),
        requestParameters: { configurationRecorderName: 'default' },
      }),
      sweep: sweep(),
      compliant: async () =>
        (
          await config().send(
            new DescribeConfigurationRecorderStatusCommand({ ConfigurationRecorderNames: ['default'] }),
          )
        ).ConfigurationRecordersStatus?.[0]?.recording === true,
      kept: async () => true,
    };
  },
};
