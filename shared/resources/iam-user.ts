import { scalarAt } from '../triggers/parse';
import { type ResourceType, requestParameter, sameMapping } from './resource-type';

export const IAM_USER = 'AWS::IAM::User';

export const iamUser: ResourceType = {
  type: IAM_USER,
  arn: { service: 'iam', resource: /^user\/[\w+=,.@/-]+$/, plural: 'IAM users' },
  calls: sameMapping(['UploadSSHPublicKey', 'UpdateSSHPublicKey'], {
    eventSource: 'iam.amazonaws.com',
    resourceIds: requestParameter('userName'),
    facts: (record) => ({
      sshPublicKeyId:
        scalarAt(record, 'requestParameters', 'sSHPublicKeyId') ??
        scalarAt(record, 'responseElements', 'sSHPublicKey', 'sSHPublicKeyId'),
      status: scalarAt(record, 'requestParameters', 'status'),
    }),
  }),
};
