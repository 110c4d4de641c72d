import { CreateRepositoryCommand, DescribeRepositoriesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { cloudTrailEvent, humanCaller } from '../../../scripts/lib/events';
import { ACCOUNT, REGION, type Scenario, sweep } from '../scenario';

const ecr = () => new ECRClient({ region: REGION });
const NAME = 'claims-api';

/** A repository scanned on push (moto's registry is BASIC without rules) whose tags are mutable: enforce makes them immutable. */
export const scenario: Scenario = {
  family: 'storage-tenancy',
  async seed() {
    await ecr().send(
      new CreateRepositoryCommand({
        repositoryName: NAME,
        imageTagMutability: 'MUTABLE',
        imageScanningConfiguration: { scanOnPush: true },
      }),
    );
    return {
      event: cloudTrailEvent({
        eventName: 'CreateRepository',
        eventSource: 'ecr.amazonaws.com',
        region: REGION,
        caller: humanCaller(ACCOUNT),
        requestParameters: { repositoryName: NAME, imageTagMutability: 'MUTABLE' },
      }),
      sweep: sweep(),
      compliant: async () =>
        (await ecr().send(new DescribeRepositoriesCommand({ repositoryNames: [NAME] }))).repositories?.[0]
          ?.imageTagMutability === 'IMMUTABLE',
      kept: async () =>
        ((await ecr().send(new DescribeRepositoriesCommand({ repositoryNames: [NAME] }))).repositories ?? [])
          .length === 1,
    };
  },
};
