import { ListAccountsCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { cloudTrailEvent, humanCaller, scheduledEvent } from '../../../scripts/lib/events';
import { createAwsClients } from '../../../shared/aws/clients';
import { Metric } from '../../../shared/metrics';
import { OrganisationAccounts } from '../../../shared/organisation/accounts';
import type { BlastRadiusGuard } from '../../../shared/pipeline/guards';
import { ResponsePipeline } from '../../../shared/pipeline/run-pipeline';
import { SqsUnitQueue } from '../../../shared/pipeline/sweep-units';
import type { Rule } from '../../../shared/rules/rule';
import { selfProtection } from '../../../shared/rules/self-protection';
import { sshOpenToWorld } from '../../../shared/rules/ssh-open-to-world';
import { parseTriggerEvent } from '../../../shared/triggers';
import { parseSweepUnit } from '../../../shared/triggers/sweep-unit';
import { testSettings } from '../../support/incident';
import { CollectingAlerts, MemoryExemptionLedger, MemoryIncidentStore } from '../../support/memory-store';

/**
 * deployment: organisation - a rule that watches only the home stack (Rule.homeStackOnly,
 * self-protection) has no member role and no organizations:ListAccounts: it never plans units for,
 * nor acts on events from, any account but its own, and never asks Organizations (docs/organisation.md).
 */
const OWN = '111122223333';
const MEMBER = '444455556666';
const REGION = 'us-east-1';
// testSettings(): STAGE dev.
const STACK = 'compliance-responder-dev';
const denied = Object.assign(new Error('not authorized to perform organizations:ListAccounts'), {
  name: 'AccessDeniedException',
});

const organizations = mockClient(OrganizationsClient);
const sts = mockClient(STSClient);
const sqs = mockClient(SQSClient);
afterAll(() => {
  organizations.restore();
  sts.restore();
  sqs.restore();
});

function pipelineOf(rule: Rule) {
  const counted: string[] = [];
  const logged: string[] = [];
  const store = new MemoryIncidentStore();
  const alerts = new CollectingAlerts();
  const pipeline = new ResponsePipeline(rule, {
    aws: createAwsClients(REGION),
    settings: testSettings({ ORGANIZATION_ID: 'o-abcd1234ef', SWEEP_REGIONS: REGION }),
    store,
    alerts,
    guard: {
      acquire: async () => ({ allowed: true }),
      forAccount: () => undefined,
    } as unknown as BlastRadiusGuard,
    exemptions: new MemoryExemptionLedger(),
    logger: {
      info: (message, fields) => logged.push(`${message} ${JSON.stringify(fields)}`),
      warn: (message, fields) => logged.push(`${message} ${JSON.stringify(fields)}`),
      error: (message, fields) => logged.push(`${message} ${JSON.stringify(fields)}`),
    },
    metrics: { count: (name) => counted.push(name) },
    accounts: new OrganisationAccounts({
      homeRegion: REGION,
      stackName: STACK,
      ruleId: rule.id,
      sts: new STSClient({ region: REGION }),
      organizations: new OrganizationsClient({ region: REGION }),
    }),
    units: new SqsUnitQueue(
      new SQSClient({ region: REGION }),
      `https://sqs.${REGION}.amazonaws.com/${OWN}/${STACK}-${rule.id}-sweep`,
    ),
  });
  return { pipeline, store, alerts, counted, logged };
}

const sentUnits = () =>
  sqs
    .commandCalls(SendMessageBatchCommand)
    .flatMap((call) => call.args[0].input.Entries ?? [])
    .map((entry) => parseSweepUnit(entry.MessageBody ?? ''));

describe('a rule that watches only the home stack, in an organisation deployment', () => {
  beforeEach(() => {
    organizations.reset();
    sts.reset();
    sqs.reset();
    // Its role has no organizations:ListAccounts and no sts:AssumeRole (scripts/lib/deployment.ts).
    organizations.on(ListAccountsCommand).rejects(denied);
    sts.on(AssumeRoleCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDenied' }));
    sts.on(GetCallerIdentityCommand).resolves({ Account: OWN, Arn: `arn:aws:sts::${OWN}:assumed-role/x/y` });
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
  });

  it('plans its own account’s unit only, asking Organizations nothing', async () => {
    // Prepare
    const { pipeline } = pipelineOf(selfProtection);
    // Act
    const outcomes = await pipeline.handle(
      parseTriggerEvent(scheduledEvent({ accountId: OWN, region: REGION })),
    );
    // Assess: one unit, the home region's, naming no account
    expect(outcomes).toEqual([]);
    expect(sentUnits()).toEqual([expect.objectContaining({ ruleId: 'self-protection', region: REGION })]);
    expect(sentUnits()[0]?.account).toBeUndefined();
    expect(organizations).toHaveReceivedCommandTimes(ListAccountsCommand, 0);
  });

  it('still lists the organisation for a rule that acts in members (the refusal is the role’s)', async () => {
    // Prepare
    const { pipeline } = pipelineOf(sshOpenToWorld);
    // Act / Assess: the same AccessDenied fails a member-acting rule's plan
    await expect(
      pipeline.handle(parseTriggerEvent(scheduledEvent({ accountId: OWN, region: REGION }))),
    ).rejects.toThrow('ListAccounts');
    expect(sentUnits()).toEqual([]);
  });

  it('ignores a member’s event on a name of the home stack: no Organizations, no role, no incident', async () => {
    // Prepare: an insider in a member creates a rule named like the home stack's
    const { pipeline, store, alerts, counted, logged } = pipelineOf(selfProtection);
    const event = cloudTrailEvent({
      eventName: 'PutRule',
      eventSource: 'events.amazonaws.com',
      region: REGION,
      caller: humanCaller(MEMBER),
      requestParameters: { name: `${STACK}-x`, state: 'ENABLED' },
    });
    // Act
    const outcomes = await pipeline.handle(parseTriggerEvent(event));
    // Assess
    expect(outcomes).toEqual([]);
    expect(organizations).toHaveReceivedCommandTimes(ListAccountsCommand, 0);
    expect(sts).toHaveReceivedCommandTimes(AssumeRoleCommand, 0);
    expect(store.incidents.size).toBe(0);
    expect(alerts.sent).toEqual([]);
    expect(counted).toContain(Metric.AccountRefused);
    expect(logged).toContainEqual(expect.stringContaining('watches only the home stack'));
  });

  it('refuses a unit naming a member account without asking Organizations', async () => {
    // Prepare: a unit as a forged message would carry it
    const { pipeline } = pipelineOf(selfProtection);
    const unit = {
      ruleId: 'self-protection',
      region: REGION,
      account: MEMBER,
      sweepId: 'forged',
      observedAt: '2026-12-06T10:00:00Z',
      attempt: 1,
    };
    // Act / Assess
    await expect(
      pipeline.handleUnit(unit, {
        accountId: OWN,
        region: REGION,
        queueName: `${STACK}-self-protection-sweep`,
        receiveCount: 1,
      }),
    ).rejects.toThrow('watches only the home stack');
    expect(organizations).toHaveReceivedCommandTimes(ListAccountsCommand, 0);
    expect(sts).toHaveReceivedCommandTimes(AssumeRoleCommand, 0);
  });
});
