import {
  type ContainerDefinition,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ListClustersCommand,
  ListServicesCommand,
  ListTasksCommand,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { createAwsClients } from '../../../shared/aws/clients';
import { RemediationDeclined } from '../../../shared/errors';
import type { Observation } from '../../../shared/model';
import type { BlastRadiusGuard } from '../../../shared/pipeline/guards';
import { ResponsePipeline } from '../../../shared/pipeline/run-pipeline';
import { ecsTaskUnprivileged as rule } from '../../../shared/rules/ecs-task-unprivileged';
import { actionsOf, type Finding, type Loaded } from '../../../shared/rules/rule';
import { parseCloudTrailRecord } from '../../../shared/triggers/cloudtrail';
import { testSettings } from '../../support/incident';
import { CollectingAlerts, MemoryExemptionLedger, MemoryIncidentStore } from '../../support/memory-store';
import { SentActions } from '../../support/permissions';
import { recordingContext } from '../../support/remediation';

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const ARN = (revision: string) => `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${revision}`;
const CLUSTER = `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/phi`;
const ref = {
  resourceType: 'AWS::ECS::TaskDefinition',
  resourceId: 'claims:3',
  region: REGION,
  accountId: ACCOUNT,
};
const SECRET = 'postgres://claims:hunter2-s3cr3t@db.internal/claims';

const container = (overrides: Partial<ContainerDefinition> = {}): ContainerDefinition => ({
  name: 'app',
  image: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/claims:1.4.2`,
  environment: [{ name: 'DATABASE_URL', value: SECRET }],
  secrets: [
    { name: 'API_TOKEN', valueFrom: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:claims-token` },
  ],
  ...overrides,
});

const definition = (overrides: Partial<TaskDefinition> = {}): TaskDefinition => ({
  family: 'claims',
  revision: 3,
  taskDefinitionArn: ARN('claims:3'),
  status: 'ACTIVE',
  networkMode: 'awsvpc',
  containerDefinitions: [container()],
  ...overrides,
});

describe('rule ecs-task-unprivileged', () => {
  const ecs = mockClient(ECSClient);
  const aws = createAwsClients('us-east-1');
  const sent = new SentActions();
  const settings = testSettings();

  /** One cluster running the revision as service `claims-api` and one task. */
  function given(taskDefinition: TaskDefinition, tags: { key: string; value: string }[] = []) {
    ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition, tags });
    ecs.on(ListClustersCommand).resolves({ clusterArns: [CLUSTER] });
    ecs
      .on(ListServicesCommand)
      .resolves({ serviceArns: [`arn:aws:ecs:${REGION}:${ACCOUNT}:service/phi/claims-api`] });
    ecs.on(DescribeServicesCommand).resolves({
      services: [{ serviceName: 'claims-api', taskDefinition: taskDefinition.taskDefinitionArn }],
    });
    ecs.on(ListTasksCommand).resolves({ taskArns: [`arn:aws:ecs:${REGION}:${ACCOUNT}:task/phi/0a1b2c3d`] });
    ecs.on(DescribeTasksCommand).resolves({
      tasks: [
        {
          taskArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task/phi/0a1b2c3d`,
          taskDefinitionArn: taskDefinition.taskDefinitionArn,
        },
      ],
    });
  }

  async function loaded(): Promise<Loaded<unknown>> {
    const found = await rule.load(ref, aws, settings);
    if (!found) throw new Error('expected the revision');
    return found;
  }

  beforeEach(() => ecs.reset());
  afterEach(() => sent.collect('ECSClient', ecs));
  afterAll(() => ecs.restore());

  it('reads the revision with its tags, and the services and tasks of its family that run it, in the event region', async () => {
    // Prepare
    given(definition(), [{ key: 'phi', value: 'true' }]);
    // Act
    const found = await loaded();
    // Assess
    expect(found).toMatchObject({
      resourceId: 'claims:3',
      arn: ARN('claims:3'),
      tags: { phi: 'true' },
      state: { users: { services: ['phi/claims-api'], tasks: ['phi/0a1b2c3d'] } },
    });
    expect(ecs).toHaveReceivedCommandWith(DescribeTaskDefinitionCommand, {
      taskDefinition: 'claims:3',
      include: ['TAGS'],
    });
    expect(ecs).toHaveReceivedCommandWith(ListTasksCommand, { cluster: CLUSTER, family: 'claims' });
    expect(await ecs.call(0).thisValue.config.region()).toBe(REGION);
  });

  it('reads nothing for a revision ECS cannot describe, and a throttled read throws', async () => {
    // Prepare
    ecs
      .on(DescribeTaskDefinitionCommand)
      .rejectsOnce(
        Object.assign(new Error('Unable to describe task definition.'), { name: 'ClientException' }),
      );
    // Act / Assess
    expect(await rule.load(ref, aws, settings)).toBeUndefined();
    ecs
      .on(DescribeTaskDefinitionCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    await expect(rule.load(ref, aws, settings)).rejects.toThrow('Rate exceeded');
  });

  it('sweeps the revisions that services and running tasks use, each once', async () => {
    // Prepare
    given(definition());
    // Act
    const listed: string[] = [];
    for await (const revision of rule.list({ accountId: ACCOUNT, region: REGION }, aws, settings))
      listed.push(revision.resourceId);
    // Assess
    expect(listed).toEqual(['claims:3']);
    expect(ecs).toHaveReceivedCommandTimes(DescribeTaskDefinitionCommand, 1);
  });

  it('passes a revision without privileged containers or host namespaces', async () => {
    // Prepare
    given(definition());
    // Act / Assess
    expect(rule.detect(await loaded(), settings)).toEqual({ compliant: true });
  });

  it.each([
    [
      'a privileged container',
      { containerDefinitions: [container({ privileged: true })] },
      /privileged container\(s\) app/,
    ],
    ['host network mode', { networkMode: 'host' }, /host network mode/],
    ['host PID mode', { pidMode: 'host' }, /host PID mode/],
  ] as const)(
    'finds %s, naming the services and tasks that run the revision',
    async (_case, overrides, reason) => {
      // Prepare
      given(definition(overrides as Partial<TaskDefinition>));
      // Act
      const verdict = rule.detect(await loaded(), settings);
      // Assess
      expect(verdict).toMatchObject({
        compliant: false,
        reason: expect.stringMatching(reason),
        evidence: { services: 'phi/claims-api', runningTasks: 1, tasks: 'phi/0a1b2c3d' },
      });
      expect((verdict as Finding).reason).toMatch(
        /used by 1 service\(s\) \(phi\/claims-api\) and 1 running task\(s\)$/,
      );
    },
  );

  it('judges an explicit root user only when the setting asks, and never calls a missing user root', async () => {
    // Prepare
    given(definition({ containerDefinitions: [container({ user: '0:0' }), container({ name: 'sidecar' })] }));
    const strict = testSettings({ ECS_ROOT_USER_IS_DRIFT: 'true' });
    const resource = await loaded();
    // Act
    const lenient = rule.detect(resource, settings);
    const verdict = rule.detect(resource, strict);
    // Assess
    expect(lenient).toEqual({ compliant: true });
    expect(verdict).toMatchObject({
      compliant: false,
      reason: expect.stringContaining('container(s) app run as root (user set explicitly)'),
      evidence: { explicitRootContainers: 'app', containersUsingImageUser: 1 },
    });
  });

  it('judges only revisions in scope: one without the tag is not judged, and says so (never plain compliant)', async () => {
    // Prepare
    given(definition({ containerDefinitions: [container({ privileged: true })] }), [
      { key: 'team', value: 'x' },
    ]);
    // Act / Assess: the scope is the kit's (test/unit/rules/ecs-task-scope.test.ts)
    expect(rule.detect(await loaded(), testSettings({ ECS_SCOPE: 'tag:phi=true' }))).toEqual({
      compliant: true,
      outOfScope: 'out of scope (ecsScope tag:phi): not judged',
    });
  });

  it('never stops or deregisters anything, in enforce mode either', async () => {
    // Prepare
    given(definition({ containerDefinitions: [container({ privileged: true })] }));
    const resource = await loaded();
    const { context, steps } = recordingContext(aws, settings);
    // Act / Assess
    await expect(
      rule.remediate(resource, rule.detect(resource, settings) as Finding, context),
    ).rejects.toBeInstanceOf(RemediationDeclined);
    expect(steps).toEqual([]);
  });

  it('copies no environment variable or secret into the incident or the alert', async () => {
    // Prepare: a privileged revision whose environment holds a connection string with a password
    given(definition({ containerDefinitions: [container({ privileged: true })] }));
    const store = new MemoryIncidentStore();
    const alerts = new CollectingAlerts();
    const pipeline = new ResponsePipeline(rule, {
      aws,
      settings: testSettings({ MODE_ECS_TASK_UNPRIVILEGED: 'enforce' }),
      store,
      alerts,
      guard: { acquire: async () => ({ allowed: true }) } as unknown as BlastRadiusGuard,
      exemptions: new MemoryExemptionLedger(),
      logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
      metrics: { count: () => undefined },
      verify: { attempts: 1, delayMs: 1 },
    });
    const registered = parseCloudTrailRecord({
      eventName: 'RegisterTaskDefinition',
      eventSource: 'ecs.amazonaws.com',
      eventID: 'a1b2c3d4-0000-4000-8000-000000000001',
      eventTime: '2026-01-01T00:00:00Z',
      awsRegion: REGION,
      recipientAccountId: ACCOUNT,
      userIdentity: { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/dev-bob` },
      requestParameters: { family: 'claims', containerDefinitions: [container({ privileged: true })] },
      responseElements: {
        taskDefinition: { ...definition(), containerDefinitions: [container({ privileged: true })] },
      },
    });
    // Act
    await pipeline.handle(registered);
    // Assess
    const incidents = [...store.incidents.values()];
    expect(incidents.map((incident) => [incident.resourceId, incident.status])).toEqual([
      ['claims:3', 'open'],
    ]);
    expect(alerts.sent).toHaveLength(1);
    const written = JSON.stringify({ registered, incidents, alerts: alerts.sent });
    expect(written).not.toMatch(/hunter2|s3cr3t|DATABASE_URL|API_TOKEN|claims-token|secretsmanager/);
  });

  it.each([
    ['CreateService', { service: { serviceName: 'claims-api', taskDefinition: ARN('claims:3') } }],
    ['UpdateService', { service: { serviceName: 'claims-api', taskDefinition: ARN('claims:3') } }],
    [
      'RunTask',
      {
        tasks: [{ taskDefinitionArn: ARN('claims:3') }, { taskDefinitionArn: ARN('claims:3') }],
        failures: [],
      },
    ],
  ])('maps %s to the revision its response names', (eventName, responseElements) => {
    // Act
    const trigger = parseCloudTrailRecord({
      eventName,
      eventSource: 'ecs.amazonaws.com',
      eventID: 'a1b2c3d4-0000-4000-8000-000000000002',
      eventTime: '2026-01-01T00:00:00Z',
      awsRegion: REGION,
      recipientAccountId: ACCOUNT,
      userIdentity: { type: 'IAMUser' },
      requestParameters: {
        taskDefinition: 'claims',
        overrides: { containerOverrides: [{ environment: [{ name: 'X', value: SECRET }] }] },
      },
      responseElements,
    });
    // Assess
    const observations = (trigger as { observations: Observation[] }).observations;
    expect(observations.map((observation) => [observation.resourceType, observation.resourceId])).toEqual([
      ['AWS::ECS::TaskDefinition', 'claims:3'],
    ]);
    expect(JSON.stringify(trigger)).not.toContain('hunter2');
  });

  // Runs last: the contract between what the rule declares and what its tests saw it send.
  it('declares an IAM permission for every AWS call its tests saw it make', () => {
    // Assess
    expect(sent.all.length).toBeGreaterThan(0);
    expect(sent.all.filter((action) => !actionsOf(rule).includes(action))).toEqual([]);
  });
});
