/**
 * `ecsScope` narrows ecs-task-unprivileged to task definition revisions a tag marks, never silently
 * (issue 20, on the kit's scope of issue 19): a revision out of scope is NOT_APPLICABLE naming the
 * scope (never COMPLIANT), the sweep counts what it left out, a cold start warns, and an ECS
 * TagResource/UntagResource that takes a revision out of the scope is recorded and paged, confirmed
 * by a fresh read, never remediated (the rule stops nothing anyway). ECS and Config are mocked.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { ConfigServiceClient, PutEvaluationsCommand } from '@aws-sdk/client-config-service';
import {
  type ContainerDefinition,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ListClustersCommand,
  ListServicesCommand,
  ListTasksCommand,
  type Tag,
} from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { cloudTrailEvent, humanCaller, scheduledEvent } from '../../../scripts/lib/events';
import { createAwsClients } from '../../../shared/aws/clients';
import type { BlastRadiusGuard } from '../../../shared/pipeline/guards';
import { ruleHandler } from '../../../shared/pipeline/rule-handler';
import { ResponsePipeline } from '../../../shared/pipeline/run-pipeline';
import { ecsTaskUnprivileged as rule } from '../../../shared/rules/ecs-task-unprivileged';
import { parseTriggerEvent } from '../../../shared/triggers';
import type { TriggerEvent } from '../../../shared/triggers/types';
import { testSettings } from '../../support/incident';
import { CollectingAlerts, MemoryExemptionLedger, MemoryIncidentStore } from '../../support/memory-store';

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const CLUSTER = `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/phi`;
const ARN = (revision: string) => `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${revision}`;
const TAGGED = 'claims:3';
const UNTAGGED = 'tools:1';
/** The scope's tag value: configuration, never shown in a note, log, incident or alert. */
const SCOPE_VALUE = 'ward-seven-secret';
const NARROWED = { ECS_SCOPE: `tag:phi=${SCOPE_VALUE}` };
const SECRET = 'postgres://claims:hunter2-s3cr3t@db.internal/claims';

const ecs = mockClient(ECSClient);
const config = mockClient(ConfigServiceClient);

const privileged: ContainerDefinition = {
  name: 'app',
  image: 'claims:1',
  privileged: true,
  environment: [{ name: 'DATABASE_URL', value: SECRET }],
};

/** Two privileged revisions, each run by one service; `tags` by revision. */
function given(tags: Record<string, Record<string, string>>) {
  const revisions = [TAGGED, UNTAGGED];
  ecs.on(DescribeTaskDefinitionCommand).callsFake(async (input: { taskDefinition: string }) => {
    const revision = revisions.find(
      (each) => input.taskDefinition === each || input.taskDefinition === ARN(each),
    );
    if (!revision)
      throw Object.assign(new Error('Unable to describe task definition.'), { name: 'ClientException' });
    const [family, number] = revision.split(':');
    const tagList: Tag[] = Object.entries(tags[revision] ?? {}).map(([key, value]) => ({ key, value }));
    return {
      taskDefinition: {
        family,
        revision: Number(number),
        taskDefinitionArn: ARN(revision),
        status: 'ACTIVE',
        containerDefinitions: [privileged],
      },
      tags: tagList,
    };
  });
  ecs.on(ListClustersCommand).resolves({ clusterArns: [CLUSTER] });
  ecs.on(ListServicesCommand).resolves({
    serviceArns: revisions.map(
      (revision) => `arn:aws:ecs:${REGION}:${ACCOUNT}:service/phi/${revision.split(':')[0]}-svc`,
    ),
  });
  ecs.on(DescribeServicesCommand).resolves({
    services: revisions.map((revision) => ({
      serviceName: `${revision.split(':')[0]}-svc`,
      taskDefinition: ARN(revision),
    })),
  });
  ecs.on(ListTasksCommand).resolves({ taskArns: [] });
  ecs.on(DescribeTasksCommand).resolves({ tasks: [] });
}

function pipelineFor(env: Record<string, string>) {
  const store = new MemoryIncidentStore();
  const alerts = new CollectingAlerts();
  const logged: { level: string; message: string; details: unknown }[] = [];
  const counted: Record<string, number> = {};
  const log = (level: string) => (message: string, details?: unknown) => {
    logged.push({ level, message, details });
  };
  const settings = testSettings({ SWEEP_REGIONS: 'own-region', ...env });
  const pipeline = new ResponsePipeline(rule, {
    aws: createAwsClients('us-east-1'),
    settings,
    store,
    alerts,
    guard: { acquire: async () => ({ allowed: true }) } as unknown as BlastRadiusGuard,
    exemptions: new MemoryExemptionLedger(),
    logger: { info: log('info'), warn: log('warn'), error: log('error') },
    metrics: {
      count: (name, value = 1) => {
        counted[name] = (counted[name] ?? 0) + value;
      },
    },
    verify: { attempts: 2, delayMs: 1 },
  });
  return { pipeline, store, alerts, logged, counted };
}

/** What the rule sent to ECS, by command: reads only (Describe*, List*), or something else. */
const writes = () =>
  ecs
    .calls()
    .map((call) => (call.args[0] as { constructor: { name: string } }).constructor.name)
    .filter((name) => !/^(Describe|List)/.test(name));

/** A Config custom rule invocation about one revision (a change notification). */
const configInvocation = (revision: string): TriggerEvent => ({
  kind: 'resources',
  observations: [
    {
      source: 'config-rule',
      eventId: `token-1:${revision}`,
      eventName: 'ConfigurationItemChangeNotification',
      accountId: ACCOUNT,
      region: REGION,
      resourceType: 'AWS::ECS::TaskDefinition',
      resourceId: revision,
      observedAt: '2026-12-04T10:00:00.000Z',
      configRuleName: 'hipaa-ecs-task-definitions',
      summary: {},
    },
  ],
  configEvaluation: {
    resultToken: 'token-1',
    configRuleName: 'hipaa-ecs-task-definitions',
    ruleParameters: {},
    orderingTimestamp: '2026-12-04T10:00:00.000Z',
  },
});

const registered = (revision: string) =>
  cloudTrailEvent({
    eventName: 'RegisterTaskDefinition',
    eventSource: 'ecs.amazonaws.com',
    region: REGION,
    caller: humanCaller(ACCOUNT, 'dev-bob'),
    requestParameters: { family: revision.split(':')[0] },
    responseElements: { taskDefinition: { taskDefinitionArn: ARN(revision) } },
  });

/** An ECS tag call as CloudTrail logs it (keys and values in `tags`, keys only in `tagKeys`). */
const tagCall = (
  eventName: 'TagResource' | 'UntagResource',
  resourceArn: string,
  tags: Record<string, string>,
) =>
  cloudTrailEvent({
    eventName,
    eventSource: 'ecs.amazonaws.com',
    region: REGION,
    caller: humanCaller(ACCOUNT, 'dev-dana'),
    requestParameters:
      eventName === 'TagResource'
        ? { resourceArn, tags: Object.entries(tags).map(([key, value]) => ({ key, value })) }
        : { resourceArn, tagKeys: Object.keys(tags) },
  });

describe('ecs-task-unprivileged scope (ecsScope)', () => {
  beforeEach(() => {
    ecs.reset();
    config.reset();
    config.on(PutEvaluationsCommand).resolves({ FailedEvaluations: [] });
  });

  it('declares its scope to the kit, on its own setting (parameter ecsScope, default all)', () => {
    expect(rule.scope).toMatchObject({ covers: 'task definition revision' });
    expect(rule.scope?.setting).toMatchObject({
      parameter: 'ecsScope',
      variable: 'ECS_SCOPE',
      fallback: 'all',
    });
  });

  describe('by default every revision is judged', () => {
    it('finds the privileged container of an untagged revision', async () => {
      // Prepare
      given({});
      const { pipeline, store } = pipelineFor({});
      // Act
      const outcomes = await pipeline.handle(parseTriggerEvent(registered(UNTAGGED)));
      // Assess
      expect(outcomes).toEqual([expect.objectContaining({ compliance: 'NON_COMPLIANT' })]);
      expect(store.incidents.size).toBe(1);
    });
  });

  describe('narrowed to a tag, never silently', () => {
    it('answers a revision out of scope NOT_APPLICABLE naming the scope (not COMPLIANT), to Config too', async () => {
      // Prepare
      given({ [TAGGED]: { phi: SCOPE_VALUE } });
      const { pipeline, store, alerts } = pipelineFor({ ...NARROWED, CONFIG_TEST_MODE: 'false' });
      const event = configInvocation(UNTAGGED);
      // Act
      const outcomes = await pipeline.handle(event);
      await pipeline.answer(event, outcomes);
      // Assess
      expect(outcomes).toEqual([
        expect.objectContaining({
          resourceId: UNTAGGED,
          compliance: 'NOT_APPLICABLE',
          note: 'out of scope (ecsScope tag:phi): not judged',
          outOfScope: true,
        }),
      ]);
      expect(config).toHaveReceivedCommandWith(PutEvaluationsCommand, {
        Evaluations: [
          expect.objectContaining({ ComplianceResourceId: UNTAGGED, ComplianceType: 'NOT_APPLICABLE' }),
        ],
      });
      expect(store.incidents.size).toBe(0);
      expect(alerts.sent).toEqual([]);
      // Not even the reads of what runs it, which only a judgement needs.
      expect(ecs).not.toHaveReceivedCommand(ListClustersCommand);
    });

    it('answers a RegisterTaskDefinition of a revision out of scope NOT_APPLICABLE', async () => {
      // Prepare
      given({ [TAGGED]: { phi: SCOPE_VALUE } });
      const { pipeline, store } = pipelineFor(NARROWED);
      // Act
      const outcomes = await pipeline.handle(parseTriggerEvent(registered(UNTAGGED)));
      // Assess
      expect(outcomes).toEqual([
        expect.objectContaining({ compliance: 'NOT_APPLICABLE', note: expect.stringContaining('ecsScope') }),
      ]);
      expect(store.incidents.size).toBe(0);
    });

    it('still judges a revision in scope', async () => {
      // Prepare
      given({ [TAGGED]: { phi: SCOPE_VALUE } });
      const { pipeline } = pipelineFor(NARROWED);
      // Act
      const outcomes = await pipeline.handle(parseTriggerEvent(registered(TAGGED)));
      // Assess
      expect(outcomes).toEqual([expect.objectContaining({ compliance: 'NON_COMPLIANT' })]);
    });

    it('makes the sweep count and report the revisions it left out of scope', async () => {
      // Prepare
      given({ [TAGGED]: { phi: SCOPE_VALUE } });
      const { pipeline, store, logged, counted } = pipelineFor(NARROWED);
      // Act
      const outcomes = await pipeline.handle(
        parseTriggerEvent(scheduledEvent({ accountId: ACCOUNT, region: REGION })),
      );
      // Assess
      expect(Object.fromEntries(outcomes.map((outcome) => [outcome.resourceId, outcome.compliance]))).toEqual(
        {
          [TAGGED]: 'NON_COMPLIANT',
          [UNTAGGED]: 'NOT_APPLICABLE',
        },
      );
      expect([...store.incidents.values()].map((incident) => incident.resourceArn)).toEqual([ARN(TAGGED)]);
      expect(counted.ResourcesOutOfScope).toBe(1);
      const report = logged.find((entry) => entry.message.includes('out of scope'));
      expect(report?.details).toMatchObject({ outOfScope: 1, scope: 'tag:phi', setting: 'ecsScope' });
      expect(JSON.stringify(logged)).not.toContain(SCOPE_VALUE);
    });

    describe('a cold start', () => {
      const saved = { ...process.env };
      afterEach(() => {
        process.env = { ...saved };
        jest.restoreAllMocks();
      });
      const coldStart = (env: Record<string, string>) => {
        Object.assign(process.env, {
          AWS_REGION: 'us-east-1',
          INCIDENT_TABLE: 'incidents',
          ALERT_TOPIC_ARN: `arn:aws:sns:us-east-1:${ACCOUNT}:alerts`,
          RESPONDER_ROLE_ARNS: `arn:aws:iam::${ACCOUNT}:role/responder`,
          ...env,
        });
        const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
        ruleHandler(rule);
        return warn.mock.calls.map((call) => JSON.stringify(call));
      };

      it('warns once, stating the narrowed scope (its key, never its value)', () => {
        // Act
        const warnings = coldStart(NARROWED);
        // Assess
        expect(warnings).toHaveLength(1);
        expect(warnings[0]).toContain('ecsScope');
        expect(warnings[0]).toContain('tag:phi');
        expect(warnings[0]).not.toContain(SCOPE_VALUE);
      });

      it('does not warn when the scope is every revision', () => {
        expect(coldStart({ ECS_SCOPE: 'all' })).toEqual([]);
      });
    });

    describe('a tag call that takes a revision out of the scope', () => {
      it.each([
        ['UntagResource', { phi: SCOPE_VALUE }, 'removed'],
        ['TagResource', { phi: 'not-phi-anymore' }, 'set to a value outside the scope'],
      ] as const)(
        'records %s and pages, confirmed by a fresh read, and changes nothing (in enforce mode too)',
        async (eventName, tags, how) => {
          // Prepare: the fresh read agrees: the tag is gone (or holds another value)
          given({ [TAGGED]: eventName === 'TagResource' ? { phi: 'not-phi-anymore' } : {} });
          const { pipeline, store, alerts } = pipelineFor({
            ...NARROWED,
            MODE_ECS_TASK_UNPRIVILEGED: 'enforce',
          });
          // Act
          const outcomes = await pipeline.handle(parseTriggerEvent(tagCall(eventName, ARN(TAGGED), tags)));
          // Assess
          const [incident, ...others] = [...store.incidents.values()];
          expect(others).toEqual([]);
          expect(incident).toMatchObject({
            resourceArn: ARN(TAGGED),
            status: 'open',
            trigger: { eventName },
            actor: { arn: `arn:aws:iam::${ACCOUNT}:user/dev-dana` },
            evidence: { leftScopeBy: eventName, scope: 'tag:phi', scopeSetting: 'ecsScope' },
            reason: expect.stringContaining(`its phi tag was ${how} (${eventName})`),
          });
          expect(incident?.reason).toMatch(/^Task definition revision claims:3 left the scope/);
          expect(outcomes).toEqual([expect.objectContaining({ compliance: 'NON_COMPLIANT' })]);
          expect(alerts.sent).toHaveLength(1);
          expect(writes()).toEqual([]);
          const shown = JSON.stringify({ incident, alerts: alerts.sent });
          expect(shown).not.toContain(SCOPE_VALUE);
          expect(shown).not.toContain('not-phi-anymore');
          expect(shown).not.toMatch(/hunter2|s3cr3t|DATABASE_URL/);
        },
      );

      it('pages the untag of a revision whose privileged incident is still open (notify): its own incident, not folded into the old one', async () => {
        // Prepare: in scope and privileged: notify opens an incident that stays open
        given({ [TAGGED]: { phi: SCOPE_VALUE } });
        const { pipeline, store, alerts } = pipelineFor(NARROWED);
        await pipeline.handle(parseTriggerEvent(registered(TAGGED)));
        const [privilegedIncident] = [...store.incidents.values()];
        expect(privilegedIncident).toMatchObject({ status: 'open' });
        // Act: someone removes the scope tag, and ECS shows it gone
        given({});
        const outcomes = await pipeline.handle(
          parseTriggerEvent(tagCall('UntagResource', ARN(TAGGED), { phi: SCOPE_VALUE })),
        );
        // Assess: a second incident, paged, saying the revision left the scope; the first says why it ended
        expect(outcomes).toEqual([expect.objectContaining({ compliance: 'NON_COMPLIANT' })]);
        const left = [...store.incidents.values()].find((incident) => incident.evidence.leftScopeBy);
        expect(left).toMatchObject({ status: 'open', trigger: { eventName: 'UntagResource' } });
        expect(alerts.sent).toHaveLength(2);
        expect(store.incidents.get(privilegedIncident?.incidentId ?? '')).toMatchObject({
          status: 'resolved',
        });
        expect(JSON.stringify([...store.incidents.values()])).toContain('left the scope (UntagResource)');
        expect(writes()).toEqual([]);
      });

      it('pages the drift again once the revision is back in the scope, as its own incident', async () => {
        // Prepare: the revision left the scope (an open incident says so)
        given({});
        const { pipeline, store, alerts } = pipelineFor(NARROWED);
        await pipeline.handle(parseTriggerEvent(tagCall('UntagResource', ARN(TAGGED), { phi: SCOPE_VALUE })));
        const [leftIncident] = [...store.incidents.values()];
        // Act: the tag is put back; the revision is still privileged
        given({ [TAGGED]: { phi: SCOPE_VALUE } });
        const outcomes = await pipeline.handle(
          parseTriggerEvent(tagCall('TagResource', ARN(TAGGED), { phi: SCOPE_VALUE })),
        );
        // Assess
        expect(outcomes).toEqual([expect.objectContaining({ compliance: 'NON_COMPLIANT' })]);
        expect(store.incidents.get(leftIncident?.incidentId ?? '')).toMatchObject({ status: 'resolved' });
        const privilegedIncident = [...store.incidents.values()].find(
          (incident) => incident.evidence.privilegedContainers === 'app',
        );
        expect(privilegedIncident).toMatchObject({ status: 'open', trigger: { eventName: 'TagResource' } });
        expect(alerts.sent).toHaveLength(2);
      });

      it('changes nothing on a forged UntagResource the fresh read contradicts (the tag is still there)', async () => {
        // Prepare: the call says the tag went; ECS still shows it, on an unprivileged revision
        given({ [TAGGED]: { phi: SCOPE_VALUE } });
        ecs.on(DescribeTaskDefinitionCommand).resolves({
          taskDefinition: {
            family: 'claims',
            revision: 3,
            taskDefinitionArn: ARN(TAGGED),
            status: 'ACTIVE',
            containerDefinitions: [{ name: 'app', image: 'claims:1' }],
          },
          tags: [{ key: 'phi', value: SCOPE_VALUE }],
        });
        const { pipeline, store, alerts } = pipelineFor(NARROWED);
        // Act
        const outcomes = await pipeline.handle(
          parseTriggerEvent(tagCall('UntagResource', ARN(TAGGED), { phi: SCOPE_VALUE })),
        );
        // Assess
        expect(outcomes).toEqual([expect.objectContaining({ compliance: 'COMPLIANT' })]);
        expect(store.incidents.size).toBe(0);
        expect(alerts.sent).toEqual([]);
      });

      it('leaves a tag call on a cluster or service alone, reading nothing', async () => {
        // Prepare
        given({});
        const { pipeline, store } = pipelineFor(NARROWED);
        // Act
        const outcomes = await pipeline.handle(
          parseTriggerEvent(tagCall('UntagResource', CLUSTER, { phi: SCOPE_VALUE })),
        );
        // Assess
        expect(outcomes).toEqual([]);
        expect(store.incidents.size).toBe(0);
        expect(ecs.calls()).toEqual([]);
      });

      it('finds nothing new when another tag key is removed from a revision out of scope', async () => {
        // Prepare
        given({});
        const { pipeline, store } = pipelineFor(NARROWED);
        // Act
        const outcomes = await pipeline.handle(
          parseTriggerEvent(tagCall('UntagResource', ARN(UNTAGGED), { team: 'x' })),
        );
        // Assess
        expect(outcomes).toEqual([expect.objectContaining({ compliance: 'NOT_APPLICABLE' })]);
        expect(store.incidents.size).toBe(0);
      });
    });
  });
});
