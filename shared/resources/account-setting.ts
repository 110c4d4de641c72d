import { type ResourceType, sameMapping } from './resource-type';

/** Region-level settings are "resources" of type AWS::::Account: here, EBS encryption by default. */
export const ACCOUNT = 'AWS::::Account';

export const accountSetting: ResourceType = {
  type: ACCOUNT,
  arn: {
    service: 'ec2',
    resource: /^ebs-encryption-by-default$/,
    plural: 'the EBS encryption-by-default setting',
  },
  calls: sameMapping(
    [
      'DisableEbsEncryptionByDefault',
      'EnableEbsEncryptionByDefault',
      'ModifyEbsDefaultKmsKeyId',
      'ResetEbsDefaultKmsKeyId',
    ],
    { eventSource: 'ec2.amazonaws.com', resourceIds: (_record, _prefix, accountId) => [accountId] },
  ),
};
