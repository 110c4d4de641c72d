import {
  type ContainerDefinition,
  CreateClusterCommand,
  CreateServiceCommand,
  DescribeServicesCommand,
  ECSClient,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  RunTaskCommand,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-ecs';
import { cloudTrailEvent, humanCaller, scheduledEvent } from '../../scripts/lib/events';
import type { HandlerResult } from '../../shared/pipeline/rule-handler';
import { LocalResponder, resetAccount } from '../support/local-responder';
import { recordCalls } from '../support/recorder';

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

  describe('narrowed by ecsScope to tagged revisions, never silently', () => {
    /** The scope's value is configuration: it never appears in a note, incident or alert. */
    const SCOPE_VALUE = 'ward-seven';
    const NARROWED = { ECS_SCOPE: `tag:phi=${SCOPE_VALUE}` };
    /** What the rule must never call: each stops, changes or untags something. */
    const ECS_WRITES = [
      'StopTask',
      'UpdateService',
      'DeleteService',
      'DeregisterTaskDefinition',
      'DeleteTaskDefinitions',
      'TagResource',
      'UntagResource',
    ];

    const registerTagged = async (family: string) => {
      const { taskDefinition } = await ecs().send(
        new RegisterTaskDefinitionCommand({
          family,
          containerDefinitions: [worker({ privileged: true })],
          tags: [{ key: 'phi', value: SCOPE_VALUE }],
        }),
      );
      return taskDefinition?.taskDefinitionArn ?? '';
    };

    const untagCall = (resourceArn: string) =>
      cloudTrailEvent({
        eventName: 'UntagResource',
        eventSource: 'ecs.amazonaws.com',
        region: REGION,
        caller: humanCaller(ACCOUNT, 'dev-dana'),
        requestParameters: { resourceArn, tagKeys: ['phi'] },
      });

    it('answers a privileged revision outside the scope NOT_APPLICABLE naming the scope, and judges one inside', async () => {
      // Prepare
      handle = responder.handlerOf(loadFunction, NARROWED);
      const untagged = await register('tools', [worker({ privileged: true })]);
      const tagged = await registerTagged('claims');
      // Act
      const outOfScope = await handle(registeredCall(untagged));
      const inScope = await handle(registeredCall(tagged));
      // Assess
      expect(outOfScope.outcomes).toEqual([
        expect.objectContaining({
          resourceId: 'tools:1',
          compliance: 'NOT_APPLICABLE',
          note: 'out of scope (ecsScope tag:phi): not judged',
          outOfScope: true,
        }),
      ]);
      expect(inScope.outcomes).toEqual([
        expect.objectContaining({ resourceId: 'claims:1', compliance: 'NON_COMPLIANT' }),
      ]);
      expect((await responder.incidents()).map((incident) => incident.resourceArn)).toEqual([tagged]);
    });

    it('records and pages an UntagResource that takes a revision out of the scope, and changes nothing', async () => {
      // Prepare: a tagged privileged revision a service runs; someone removes its scope tag
      const arn = await registerTagged('claims');
      await ecs().send(
        new CreateServiceCommand({
          cluster: 'phi',
          serviceName: 'claims-api',
          taskDefinition: arn,
          desiredCount: 1,
        }),
      );
      await ecs().send(new UntagResourceCommand({ resourceArn: arn, tagKeys: ['phi'] }));
      const enforce = responder.handlerOf(loadFunction, {
        ...NARROWED,
        MODE_ECS_TASK_UNPRIVILEGED: 'enforce',
      });
      // Act
      const calls = await recordCalls(() => enforce(untagCall(arn)));
      // Assess: recorded and paged; no ECS write, the service as it was
      expect(calls.filter((call) => ECS_WRITES.includes(call.action))).toEqual([]);
      const [incident, ...others] = await responder.incidents();
      expect(others).toEqual([]);
      expect(incident).toMatchObject({
        ruleId: 'ecs-task-unprivileged',
        resourceArn: arn,
        status: 'open',
        trigger: { eventName: 'UntagResource' },
        actor: { arn: `arn:aws:iam::${ACCOUNT}:user/dev-dana` },
        evidence: { leftScopeBy: 'UntagResource', scope: 'tag:phi', scopeSetting: 'ecsScope' },
        reason: expect.stringContaining('its phi tag was removed (UntagResource)'),
      });
      const alerts = await responder.alerts();
      expect(alerts).toHaveLength(1);
      const services = await ecs().send(
        new DescribeServicesCommand({ cluster: 'phi', services: ['claims-api'] }),
      );
      expect(services.services?.[0]).toMatchObject({ status: 'ACTIVE', taskDefinition: arn });
      const shown = JSON.stringify({ incident, alerts });
      expect(shown).not.toContain(SCOPE_VALUE);
      expect(shown).not.toMatch(/hunter2|s3cr3t|DATABASE_URL/);
    });

    it('pages the untag on its own when the revision’s privileged incident is still open (notify, the default)', async () => {
      // Prepare: the tagged privileged revision is paged, its incident left open (notify)
      const arn = await registerTagged('claims');
      const notify = responder.handlerOf(loadFunction, NARROWED);
      await notify(registeredCall(arn));
      const [privileged] = await responder.incidents();
      await ecs().send(new UntagResourceCommand({ resourceArn: arn, tagKeys: ['phi'] }));
      // Act
      await notify(untagCall(arn));
      // Assess: two incidents, two pages; the first says the revision left the scope
      const incidents = await responder.incidents();
      expect(incidents).toHaveLength(2);
      expect(incidents.find((incident) => incident.incidentId === privileged?.incidentId)).toMatchObject({
        status: 'resolved',
      });
      expect(incidents.find((incident) => incident.incidentId !== privileged?.incidentId)).toMatchObject({
        status: 'open',
        evidence: { leftScopeBy: 'UntagResource' },
      });
      expect(await responder.alerts()).toHaveLength(2);
    });

    it('changes nothing for a forged UntagResource: the fresh read still shows the tag', async () => {
      // Prepare: the tag is still there, on an unprivileged revision
      const { taskDefinition } = await ecs().send(
        new RegisterTaskDefinitionCommand({
          family: 'claims',
          containerDefinitions: [worker()],
          tags: [{ key: 'phi', value: SCOPE_VALUE }],
        }),
      );
      const arn = taskDefinition?.taskDefinitionArn ?? '';
      const enforce = responder.handlerOf(loadFunction, {
        ...NARROWED,
        MODE_ECS_TASK_UNPRIVILEGED: 'enforce',
      });
      // Act
      const result = await enforce(untagCall(arn));
      // Assess
      expect(result.outcomes).toEqual([expect.objectContaining({ compliance: 'COMPLIANT' })]);
      expect(await responder.incidents()).toEqual([]);
      expect(await responder.alerts()).toEqual([]);
    });

    it('makes the sweep count the revisions it left out of scope', async () => {
      // Prepare: two privileged revisions in use, one tagged into the scope
      const tagged = await registerTagged('claims');
      const untagged = await register('tools', [worker({ privileged: true })]);
      for (const [serviceName, taskDefinition] of [
        ['claims-api', tagged],
        ['tools', untagged],
      ]) {
        await ecs().send(
          new CreateServiceCommand({ cluster: 'phi', serviceName, taskDefinition, desiredCount: 1 }),
        );
      }
      await ecs().send(
        new TagResourceCommand({ resourceArn: untagged, tags: [{ key: 'team', value: 'x' }] }),
      );
      const narrowed = responder.handlerOf(loadFunction, NARROWED);
      // Act
      const result = await narrowed(scheduledEvent({ accountId: ACCOUNT, region: REGION }));
      // Assess
      expect(
        Object.fromEntries(result.outcomes.map((outcome) => [outcome.resourceId, outcome.compliance])),
      ).toEqual({
        'claims:1': 'NON_COMPLIANT',
        'tools:1': 'NOT_APPLICABLE',
      });
      expect((await responder.incidents()).map((incident) => incident.resourceArn)).toEqual([tagged]);
    });
  });
});
