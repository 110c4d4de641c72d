import {
  CreateClusterCommand,
  CreateServiceCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
} from '@aws-sdk/client-ecs';
import { cloudTrailEvent, humanCaller } from '../../../scripts/lib/events';
import { SENTINEL } from '../bounds';
import { ACCOUNT, notifyOnly, REGION, type Scenario } from '../scenario';

const ecs = () => new ECSClient({ region: REGION });

/** A privileged revision whose environment holds a sentinel secret: it pages, and the secret reaches nothing. */
export const scenario: Scenario = {
  family: 'access-audit',
  async seed() {
    const { taskDefinition } = await ecs().send(
      new RegisterTaskDefinitionCommand({
        family: 'claims-worker',
        networkMode: 'host',
        containerDefinitions: [
          {
            name: 'worker',
            image: 'public.ecr.aws/docker/library/busybox:latest',
            memory: 128,
            privileged: true,
            environment: [{ name: 'DATABASE_URL', value: `${SENTINEL}-postgres://u:p@db/claims` }],
          },
        ],
      }),
    );
    const arn = taskDefinition?.taskDefinitionArn ?? '';
    // A service runs it, so the sweep (revisions in use) finds it too.
    await ecs().send(new CreateClusterCommand({ clusterName: 'phi' }));
    await ecs().send(
      new CreateServiceCommand({
        cluster: 'phi',
        serviceName: 'claims-worker',
        taskDefinition: arn,
        desiredCount: 1,
      }),
    );
    return notifyOnly(
      cloudTrailEvent({
        eventName: 'RegisterTaskDefinition',
        eventSource: 'ecs.amazonaws.com',
        region: REGION,
        caller: humanCaller(ACCOUNT),
        requestParameters: { family: 'claims-worker' },
        responseElements: {
          taskDefinition: { taskDefinitionArn: arn, family: 'claims-worker', revision: 1 },
        },
      }),
      async () =>
        (await ecs().send(new DescribeTaskDefinitionCommand({ taskDefinition: arn }))).taskDefinition
          ?.containerDefinitions?.[0]?.privileged !== true,
    );
  },
};
