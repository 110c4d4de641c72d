import { scalarAt } from '../triggers/parse';
import { type CallMapping, type ResourceType, regionWide, requestParameter } from './resource-type';

export const ECR_REPOSITORY = 'AWS::ECR::Repository';

/** What a repository call asked for: the mutability and scan-on-push it set (no tags, no policies). */
const repositoryCall: CallMapping = {
  eventSource: 'ecr.amazonaws.com',
  resourceIds: requestParameter('repositoryName'),
  facts: (record) => ({
    imageTagMutability: scalarAt(record, 'requestParameters', 'imageTagMutability'),
    scanOnPush: scalarAt(record, 'requestParameters', 'imageScanningConfiguration', 'scanOnPush'),
  }),
};

/**
 * A private ECR repository, named by its repository name in its region. The registry's scanning
 * configuration is account-wide (one per region) and decides whether each repository is scanned:
 * a change to it names no repository, so it re-judges every repository of its region.
 */
export const ecrRepository: ResourceType = {
  type: ECR_REPOSITORY,
  arn: {
    service: 'ecr',
    resource: /^repository\/[a-z0-9][a-z0-9._/-]{0,255}$/,
    plural: 'ECR repositories',
  },
  calls: {
    CreateRepository: repositoryCall,
    PutImageTagMutability: repositoryCall,
    PutImageScanningConfiguration: repositoryCall,
    PutRegistryScanningConfiguration: regionWide('ecr.amazonaws.com', (record) => ({
      scanType: scalarAt(record, 'requestParameters', 'scanType'),
    })),
  },
};
