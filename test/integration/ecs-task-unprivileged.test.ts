import {
  type ContainerDefinition,
  CreateClusterCommand,
  CreateServiceCommand,
  DescribeServicesCommand,
  ECSClient,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
} from '@aws-sdk/client-ecs';
import { cloudTrailEvent, humanCaller, scheduledEvent } from '../../scripts/lib/events';
import type { HandlerResult } from '../../shared/pipeline/rule-handler';
import { LocalResponder, resetAccount } from '../support/local-responder';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const SECRET = 'postgres://claims:hunter2-s3cr3t@db.internal/claims';
const loadFunction = () => require('../../functions/ecs-task-unprivileged');
const ecs = () => new ECSClient({ region: REGION });

const worker = (overrides: Partial<ContainerDefinition> = {}): ContainerDefinition => ({
  name: 'worker',
  image: 'public.ecr.aws/docker/library/busybox:latest',
  memory: 128,
  environment: [{ name: 'DATABASE_URL', value: SECRET }],
  ...overrides,
});

async function register(family: string, containers: ContainerDefinition[], networkMode?: 'host' | 'awsvpc') {
  const { taskDefinition } = await ecs().send(
    new RegisterTaskDefinitionCommand({
      family,
      containerDefinitions: containers,
      ...(networkMode && { networkMode }),
    }),
  );
  return taskDefinition?.taskDefinitionArn ?? '';
}

const registeredCall = (arn: string) =>
  cloudTrailEvent({
    eventName: 'RegisterTaskDefinition',
    eventSource: 'ecs.amazonaws.com',
    region: REGION,
    caller: humanCaller(ACCOUNT, 'dev-bob'),
    requestParameters: { family: 'claims', containerDefinitions: [worker({ privileged: true })] },
    responseElements: { taskDefinition: { taskDefinitionArn: arn } },
  });

describe('ecs-task-unprivileged end to end against moto', () => {
  let responder: LocalResponder;
  let handle: (event: unknown) => Promise<HandlerResult>;

  beforeEach(async () => {
    await resetAccount();
    responder = await LocalResponder.provision();
    handle = responder.handlerOf(loadFunction);
    await ecs().send(new CreateClusterCommand({ clusterName: 'phi' }));
  });

  it('pages a privileged revision a service and a task run, naming them, and stops nothing', async () => {
    // Prepare: moto's CreateService starts no task, so the running task comes from RunTask (Fargate)
    const arn = await register('claims', [worker({ privileged: true })]);
    await ecs().send(
      new CreateServiceCommand({
        cluster: 'phi',
        serviceName: 'claims-api',
        taskDefinition: arn,
        desiredCount: 1,
      }),
    );
    const { tasks } = await ecs().send(
      new RunTaskCommand({ cluster: 'phi', taskDefinition: arn, launchType: 'FARGATE' }),
    );
    const taskId = tasks?.[0]?.taskArn?.split('/').pop();
    // Act
    const result = await handle(registeredCall(arn));
    // Assess
    expect(result.outcomes).toEqual([
      expect.objectContaining({ resourceId: 'claims:1', compliance: 'NON_COMPLIANT' }),
    ]);
    const [incident, ...others] = await responder.incidents();
    expect(others).toEqual([]);
    expect(incident).toMatchObject({
      ruleId: 'ecs-task-unprivileged',
      resourceArn: arn,
      status: 'open',
      mode: 'notify',
      actor: { arn: `arn:aws:iam::${ACCOUNT}:user/dev-bob` },
      evidence: {
        privilegedContainers: 'worker',
        services: 'phi/claims-api',
        runningTasks: 1,
        tasks: `phi/${taskId}`,
      },
      steps: [],
    });
    const alerts = await responder.alerts();
    expect(alerts).toHaveLength(1);
    // Nothing stopped: the service and the task are still there; and no environment value anywhere.
    const services = await ecs().send(
      new DescribeServicesCommand({ cluster: 'phi', services: ['claims-api'] }),
    );
    expect(services.services?.[0]?.status).toBe('ACTIVE');
    expect((await ecs().send(new ListTasksCommand({ cluster: 'phi' }))).taskArns).toHaveLength(1);
    expect(JSON.stringify({ incident, alerts })).not.toMatch(/hunter2|s3cr3t|DATABASE_URL/);
  });

  it('finds host network mode on a revision only a service uses, from the sweep', async () => {
    // Prepare
    const host = await register('metrics-agent', [worker()], 'host');
    const plain = await register('claims', [worker()]);
    for (const [serviceName, taskDefinition] of [
      ['agent', host],
      ['claims-api', plain],
    ]) {
      await ecs().send(
        new CreateServiceCommand({ cluster: 'phi', serviceName, taskDefinition, desiredCount: 1 }),
      );
    }
    // Act
    const result = await handle(scheduledEvent({ accountId: ACCOUNT, region: REGION }));
    // Assess
    expect(result.outcomes.map((outcome) => [outcome.resourceId, outcome.compliance]).sort()).toEqual([
      ['claims:1', 'COMPLIANT'],
      ['metrics-agent:1', 'NON_COMPLIANT'],
    ]);
    const [incident] = await responder.incidents();
    expect(incident).toMatchObject({
      reason: expect.stringContaining(
        'host network mode; used by 1 service(s) (phi/agent) and 0 running task(s)',
      ),
    });
  });

  it('passes a privileged revision outside a tag scope, and judges it once tagged into scope', async () => {
    // Prepare
    handle = responder.handlerOf(loadFunction, { ECS_SCOPE: 'tag:phi=true' });
    const untagged = await register('tools', [worker({ privileged: true })]);
    const { taskDefinition } = await ecs().send(
      new RegisterTaskDefinitionCommand({
        family: 'claims',
        containerDefinitions: [worker({ privileged: true })],
        tags: [{ key: 'phi', value: 'true' }],
      }),
    );
    // Act
    const outOfScope = await handle(registeredCall(untagged));
    const inScope = await handle(registeredCall(taskDefinition?.taskDefinitionArn ?? ''));
    // Assess
    expect(outOfScope.outcomes).toEqual([expect.objectContaining({ compliance: 'COMPLIANT' })]);
    expect(inScope.outcomes).toEqual([
      expect.objectContaining({ resourceId: 'claims:1', compliance: 'NON_COMPLIANT' }),
    ]);
  });
});
