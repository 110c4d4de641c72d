/**
 * After a verified fix the pipeline asks Config to re-evaluate the paired rule. moto 5.2.1 has no
 * StartConfigRulesEvaluation, so this is covered with aws-sdk-client-mock (EC2 and Config mocked).
 */
import { ConfigServiceClient, StartConfigRulesEvaluationCommand } from '@aws-sdk/client-config-service';
import {
  EC2Client,
  EnableEbsEncryptionByDefaultCommand,
  GetEbsEncryptionByDefaultCommand,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { createAwsClients } from '../../../shared/aws/clients';
import { Metric } from '../../../shared/metrics';
import type { Observation } from '../../../shared/model';
import type { BlastRadiusGuard } from '../../../shared/pipeline/guards';
import { ResponsePipeline } from '../../../shared/pipeline/run-pipeline';
import { ebsEncryptionByDefault } from '../../../shared/rules/ebs-encryption-by-default';
import { testSettings } from '../../support/incident';
import { CollectingAlerts, MemoryExemptionLedger, MemoryIncidentStore } from '../../support/memory-store';

const ACCOUNT = '111122223333';
const ec2 = mockClient(EC2Client);
const config = mockClient(ConfigServiceClient);

const observation = (overrides: Partial<Observation>): Observation => ({
  source: 'cloudtrail',
  eventId: 'event-1',
  eventName: 'DisableEbsEncryptionByDefault',
  accountId: ACCOUNT,
  region: 'eu-west-1',
  resourceType: 'AWS::::Account',
  resourceId: ACCOUNT,
  observedAt: '2026-11-23T10:00:00Z',
  summary: {},
  ...overrides,
});

const MEMBER = '444455556666';

function pipeline(env: Record<string, string> = {}, { member = false }: { member?: boolean } = {}) {
  const store = new MemoryIncidentStore();
  const counted: string[] = [];
  const aws = createAwsClients('us-east-1');
  const responder = new ResponsePipeline(ebsEncryptionByDefault, {
    // A member account's clients (its member role's), as shared/pipeline/accounts.ts builds them.
    aws: member ? { ...aws, memberAccount: MEMBER } : aws,
    settings: testSettings({ STAGE: 'prod', ...env }),
    store,
    alerts: new CollectingAlerts(),
    guard: { acquire: async () => ({ allowed: true }) } as unknown as BlastRadiusGuard,
    exemptions: new MemoryExemptionLedger(),
    logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
    metrics: { count: (name) => counted.push(name) },
    verify: { attempts: 2, delayMs: 1 },
  });
  const only = () => [...store.incidents.values()];
  return { responder, only, counted };
}

describe('re-evaluating the paired Config rule after a fix', () => {
  beforeEach(() => {
    ec2.reset();
    config.reset();
    // Off when first read, on after the fix.
    ec2
      .on(GetEbsEncryptionByDefaultCommand)
      .resolvesOnce({ EbsEncryptionByDefault: false })
      .resolves({ EbsEncryptionByDefault: true });
    ec2.on(EnableEbsEncryptionByDefaultCommand).resolves({ EbsEncryptionByDefault: true });
    config.on(StartConfigRulesEvaluationCommand).resolves({});
  });

  it('re-evaluates the managed rule a compliance-change event named, in the region of the fix', async () => {
    // Prepare
    const { responder, only } = pipeline();
    const change = observation({
      source: 'config-compliance',
      eventName: 'ComplianceChangeNotification',
      configRuleName: 'ec2-ebs-encryption-by-default-conformance-pack-x1',
    });
    // Act
    await responder.handle({ kind: 'resources', observations: [change] });
    // Assess
    expect(config).toHaveReceivedCommandTimes(StartConfigRulesEvaluationCommand, 1);
    expect(config).toHaveReceivedCommandWith(StartConfigRulesEvaluationCommand, {
      ConfigRuleNames: ['ec2-ebs-encryption-by-default-conformance-pack-x1'],
    });
    expect(await config.call(0).thisValue.config.region()).toBe('eu-west-1');
    const [incident] = only();
    expect(incident?.status).toBe('remediated');
    expect(incident?.trigger.configRuleName).toBe('ec2-ebs-encryption-by-default-conformance-pack-x1');
    expect(incident?.steps.map((step) => [step.action, step.result])).toEqual([
      ['EnableEbsEncryptionByDefault', 'succeeded'],
      ['Verify', 'succeeded'],
      ['StartConfigRulesEvaluation', 'succeeded'],
    ]);
  });

  it("re-evaluates the stack's own custom rule when configRules is on, for any trigger in the home region", async () => {
    // Prepare
    const { responder } = pipeline({ CONFIG_RULES: 'true' });
    // Act
    await responder.handle({ kind: 'resources', observations: [observation({ region: 'us-east-1' })] });
    // Assess
    expect(config).toHaveReceivedCommandWith(StartConfigRulesEvaluationCommand, {
      ConfigRuleNames: ['compliance-responder-prod-ebs-encryption-by-default'],
    });
    expect(await config.call(0).thisValue.config.region()).toBe('us-east-1');
  });

  it("leaves out the stack's own rule outside the home region (CloudFormation creates it there only), keeping the event's managed rule", async () => {
    // Prepare: home region us-east-1, the fix in eu-west-1
    const { responder } = pipeline({ CONFIG_RULES: 'true' });
    const change = observation({
      source: 'config-compliance',
      eventName: 'ComplianceChangeNotification',
      configRuleName: 'ec2-ebs-encryption-by-default-conformance-pack-x1',
    });
    // Act
    await responder.handle({ kind: 'resources', observations: [change] });
    // Assess
    expect(config).toHaveReceivedCommandTimes(StartConfigRulesEvaluationCommand, 1);
    expect(config).toHaveReceivedCommandWith(StartConfigRulesEvaluationCommand, {
      ConfigRuleNames: ['ec2-ebs-encryption-by-default-conformance-pack-x1'],
    });
    expect(await config.call(0).thisValue.config.region()).toBe('eu-west-1');
  });

  it('asks nothing of Config outside the home region when only the stack rule would be named', async () => {
    // Prepare
    const { responder, only } = pipeline({ CONFIG_RULES: 'true' });
    // Act
    await responder.handle({ kind: 'resources', observations: [observation({})] });
    // Assess
    expect(config).not.toHaveReceivedCommand(StartConfigRulesEvaluationCommand);
    expect(only()[0]?.status).toBe('remediated');
  });

  it('asks nothing of Config when no Config rule is paired (configRules off, CloudTrail trigger)', async () => {
    // Prepare
    const { responder, only } = pipeline();
    // Act
    await responder.handle({ kind: 'resources', observations: [observation({})] });
    // Assess
    expect(config).not.toHaveReceivedCommand(StartConfigRulesEvaluationCommand);
    expect(only()[0]?.steps.map((step) => step.action)).toEqual(['EnableEbsEncryptionByDefault', 'Verify']);
  });

  it('keeps the remediation when Config refuses: the failure is a failed step and a metric, not a failed incident', async () => {
    // Prepare
    config
      .on(StartConfigRulesEvaluationCommand)
      .rejects(Object.assign(new Error('rule not found'), { name: 'NoSuchConfigRuleException' }));
    const { responder, only, counted } = pipeline({ CONFIG_RULES: 'true' });
    // Act
    const outcomes = await responder.handle({
      kind: 'resources',
      observations: [observation({ region: 'us-east-1' })],
    });
    // Assess
    expect(outcomes).toEqual([expect.objectContaining({ compliance: 'COMPLIANT', status: 'remediated' })]);
    const [incident] = only();
    expect(incident?.status).toBe('remediated');
    expect(incident?.steps.at(-1)).toMatchObject({
      action: 'StartConfigRulesEvaluation',
      result: 'failed',
      error: expect.stringContaining('rule not found'),
    });
    expect(counted).toContain(Metric.ConfigReevaluationFailed);
  });

  describe('in a member account of an organisation deployment', () => {
    it("skips the stack's own rule, which exists in the security account only, and says so in the incident: a succeeded note, no call, no failure", async () => {
      // Prepare: configRules on, the fix in a member, in the home region
      const { responder, only, counted } = pipeline({ CONFIG_RULES: 'true' }, { member: true });
      // Act
      await responder.handle({
        kind: 'resources',
        observations: [observation({ region: 'us-east-1', accountId: MEMBER, resourceId: MEMBER })],
      });
      // Assess
      expect(config).not.toHaveReceivedCommand(StartConfigRulesEvaluationCommand);
      const [incident] = only();
      expect(incident?.status).toBe('remediated');
      expect(incident?.steps.map((step) => [step.action, step.result])).toEqual([
        ['EnableEbsEncryptionByDefault', 'succeeded'],
        ['Verify', 'succeeded'],
        ['ConfigReevaluationSkipped', 'succeeded'],
      ]);
      expect(incident?.steps.at(-1)?.output).toEqual({
        configRules: 'compliance-responder-prod-ebs-encryption-by-default',
        why: `only the security account has it, not account ${MEMBER}`,
      });
      expect(counted).not.toContain(Metric.ConfigReevaluationFailed);
    });

    it("still re-evaluates the member's own rule a compliance-change event named, leaving out the stack's", async () => {
      // Prepare
      const { responder, only } = pipeline({ CONFIG_RULES: 'true' }, { member: true });
      const change = observation({
        source: 'config-compliance',
        eventName: 'ComplianceChangeNotification',
        configRuleName: 'ec2-ebs-encryption-by-default-conformance-pack-x1',
        region: 'us-east-1',
        accountId: MEMBER,
        resourceId: MEMBER,
      });
      // Act
      await responder.handle({ kind: 'resources', observations: [change] });
      // Assess
      expect(config).toHaveReceivedCommandTimes(StartConfigRulesEvaluationCommand, 1);
      expect(config).toHaveReceivedCommandWith(StartConfigRulesEvaluationCommand, {
        ConfigRuleNames: ['ec2-ebs-encryption-by-default-conformance-pack-x1'],
      });
      expect(
        only()[0]
          ?.steps.map((step) => [step.action, step.result])
          .slice(-2),
      ).toEqual([
        ['ConfigReevaluationSkipped', 'succeeded'],
        ['StartConfigRulesEvaluation', 'succeeded'],
      ]);
    });
  });
});
