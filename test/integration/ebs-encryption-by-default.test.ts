import {
  DisableEbsEncryptionByDefaultCommand,
  EC2Client,
  GetEbsEncryptionByDefaultCommand,
} from '@aws-sdk/client-ec2';
import {
  cloudTrailEvent,
  configRuleInvocation,
  disableEbsEncryptionByDefaultCall,
  humanCaller,
  roleCaller,
  scheduledEvent,
} from '../../scripts/lib/events';
import type { HandlerResult } from '../../shared/pipeline/rule-handler';
import { LocalResponder, resetAccount } from '../support/local-responder';
import { recordCalls, writesAmong } from '../support/recorder';

const ACCOUNT = '123456789012';
const FUNCTION = 'ebs-encryption-by-default';
const loadFunction = () => require('../../functions/ebs-encryption-by-default');

const encryptionByDefault = async (region: string) =>
  (await new EC2Client({ region }).send(new GetEbsEncryptionByDefaultCommand({}))).EbsEncryptionByDefault;
const disableEncryptionByDefault = (region: string) =>
  new EC2Client({ region }).send(new DisableEbsEncryptionByDefaultCommand({}));

const disableCall = (region: string, caller = humanCaller(ACCOUNT)) =>
  cloudTrailEvent(disableEbsEncryptionByDefaultCall(region, caller));

describe('ebs-encryption-by-default end to end against moto', () => {
  let responder: LocalResponder;
  let handle: (event: unknown) => Promise<HandlerResult>;

  beforeEach(async () => {
    await resetAccount();
    responder = await LocalResponder.provision();
    handle = responder.handlerOf(loadFunction);
  });

  it('turns encryption by default back on, verifies it, records the incident and alerts on-call', async () => {
    // Prepare
    await disableEncryptionByDefault('us-east-1');
    // Act
    const result = await handle(disableCall('us-east-1'));
    // Assess: the drift is gone
    expect(await encryptionByDefault('us-east-1')).toBe(true);
    expect(result.outcomes).toEqual([
      expect.objectContaining({ compliance: 'COMPLIANT', status: 'remediated' }),
    ]);
    // Assess: one documented incident, with who, what, the steps and their undo
    const [incident, ...others] = await responder.incidents();
    expect(others).toEqual([]);
    expect(incident).toMatchObject({
      schemaVersion: 1,
      ruleId: FUNCTION,
      severity: 'HIGH',
      hipaa: ['164.312(a)(2)(iv)'],
      account: ACCOUNT,
      region: 'us-east-1',
      resourceType: 'AWS::::Account',
      status: 'remediated',
      mode: 'enforce',
      trigger: { source: 'cloudtrail', eventName: 'DisableEbsEncryptionByDefault' },
      actor: { arn: `arn:aws:iam::${ACCOUNT}:user/dev-alice`, sourceIp: '198.51.100.23' },
      evidence: { encryptionByDefault: false },
      runbook: 'docs/runbooks/ebs-encryption-by-default.md',
      alert: { status: 'sent', messageId: expect.any(String) },
    });
    expect(incident?.steps).toEqual([
      expect.objectContaining({
        action: 'EnableEbsEncryptionByDefault',
        result: 'succeeded',
        undo: { service: 'ec2', action: 'DisableEbsEncryptionByDefault', input: { Region: 'us-east-1' } },
      }),
      expect.objectContaining({ action: 'Verify', result: 'succeeded' }),
    ]);
    // Assess: the alert reached an SQS subscriber, filterable by its attributes
    const alerts = await responder.alerts();
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      subject: `[HIGH] EBS encryption by default is off: remediated — ${ACCOUNT}/us-east-1`,
      attributes: { severity: 'HIGH', ruleId: FUNCTION, status: 'remediated', account: ACCOUNT },
      body: { incidentId: incident?.incidentId, status: 'remediated' },
    });
  });

  it('only records and alerts in notify mode', async () => {
    // Prepare
    await disableEncryptionByDefault('us-east-1');
    const notify = responder.handlerOf(loadFunction, { MODE_EBS_ENCRYPTION_BY_DEFAULT: 'notify' });
    // Act
    await notify(disableCall('us-east-1'));
    // Assess
    expect(await encryptionByDefault('us-east-1')).toBe(false);
    const [incident] = await responder.incidents();
    expect(incident).toMatchObject({ status: 'open', mode: 'notify', steps: [] });
    expect(incident?.statusReason).toContain('notify mode');
    expect((await responder.alerts()).map((alert) => alert.attributes.status)).toEqual(['open']);
  });

  it('ignores the same call made by its own role (loop guard), even with drift present', async () => {
    // Prepare
    await disableEncryptionByDefault('us-east-1');
    // Act
    const result = await handle(disableCall('us-east-1', roleCaller(responder.responderRoleArn)));
    // Assess
    expect(result.outcomes).toEqual([]);
    expect(await encryptionByDefault('us-east-1')).toBe(false);
    expect(await responder.incidents()).toEqual([]);
    expect(await responder.alerts()).toEqual([]);
  });

  it('ignores a call that failed: no drift happened', async () => {
    // Prepare
    const failed = cloudTrailEvent({
      eventName: 'DisableEbsEncryptionByDefault',
      eventSource: 'ec2.amazonaws.com',
      region: 'us-east-1',
      caller: humanCaller(ACCOUNT),
      errorCode: 'Client.UnauthorizedOperation',
    });
    // Act
    const calls = await recordCalls(() => handle(failed));
    // Assess
    expect(calls).toEqual([]);
  });

  it('sweeps the region a scheduled event names and remediates there', async () => {
    // Prepare
    await disableEncryptionByDefault('eu-west-1');
    // Act
    await handle(scheduledEvent({ accountId: ACCOUNT, region: 'eu-west-1' }));
    // Assess
    expect(await encryptionByDefault('eu-west-1')).toBe(true);
    const [incident] = await responder.incidents();
    expect(incident).toMatchObject({
      region: 'eu-west-1',
      status: 'remediated',
      trigger: { source: 'schedule' },
    });
    expect(incident?.actor).toBeUndefined();
  });

  it('opens a new incident, and pages again, when the drift recurs after a fix', async () => {
    // Prepare
    await disableEncryptionByDefault('us-east-1');
    await handle(disableCall('us-east-1'));
    await disableEncryptionByDefault('us-east-1');
    // Act
    await handle(disableCall('us-east-1'));
    // Assess
    const incidents = await responder.incidents();
    expect(incidents.map((incident) => incident.status)).toEqual(['remediated', 'remediated']);
    expect(new Set(incidents.map((incident) => incident.incidentId)).size).toBe(2);
    expect(await responder.alerts()).toHaveLength(2);
  });

  it('trips the blast-radius guard past its threshold: notify-only and one critical alert', async () => {
    // Prepare
    const guarded = responder.handlerOf(loadFunction, { GUARD_THRESHOLD: '2' });
    const regions = ['us-east-1', 'us-east-2', 'us-west-1', 'us-west-2'];
    for (const region of regions) await disableEncryptionByDefault(region);
    // Act
    for (const region of regions) await guarded(scheduledEvent({ accountId: ACCOUNT, region }));
    // Assess: two remediations, then nothing changed
    expect(await Promise.all(regions.map(encryptionByDefault))).toEqual([true, true, false, false]);
    const byRegion = Object.fromEntries(
      (await responder.incidents()).map((incident) => [incident.region, incident]),
    );
    expect(byRegion['us-west-1']).toMatchObject({
      status: 'open',
      statusReason: expect.stringContaining('blast-radius guard tripped'),
    });
    expect(byRegion['us-west-2']).toMatchObject({ status: 'open' });
    const alerts = await responder.alerts();
    const critical = alerts.filter((alert) => alert.attributes.severity === 'CRITICAL');
    expect(critical).toHaveLength(1);
    expect(critical[0]?.subject).toContain('Blast-radius guard tripped');
    expect(alerts).toHaveLength(5);
  });

  it('answers a periodic Config rule about the setting at the notification time: NON_COMPLIANT, naming the incident that fixed it (TestMode, loopback only)', async () => {
    // Prepare
    await disableEncryptionByDefault('us-east-1');
    const invocation = configRuleInvocation({
      accountId: ACCOUNT,
      region: 'us-east-1',
      ruleName: 'compliance-responder-local-ebs-encryption-by-default',
      invokingEvent: {
        notificationCreationTime: new Date().toISOString(),
        messageType: 'ScheduledNotification',
      },
    });
    // Act
    const result = await handle(invocation);
    // Assess
    expect(result.evaluationsSent).toBe(1);
    expect(result.outcomes).toEqual([
      expect.objectContaining({
        resourceType: 'AWS::::Account',
        resourceId: ACCOUNT,
        compliance: 'NON_COMPLIANT',
        note: `remediated by ${(await responder.incidents())[0]?.incidentId}`,
        status: 'remediated',
      }),
    ]);
    expect(await encryptionByDefault('us-east-1')).toBe(true);
  });

  it('remediates on a compliance change of the paired AWS managed Config rule', async () => {
    // Prepare
    await disableEncryptionByDefault('us-east-1');
    const change = {
      version: '0',
      id: 'b1b2b3b4-0000-4000-8000-000000000001',
      'detail-type': 'Config Rules Compliance Change',
      source: 'aws.config',
      account: ACCOUNT,
      time: new Date().toISOString(),
      region: 'us-east-1',
      resources: [],
      detail: {
        resourceId: ACCOUNT,
        awsRegion: 'us-east-1',
        awsAccountId: ACCOUNT,
        configRuleName: 'ec2-ebs-encryption-by-default',
        recordVersion: '1.0',
        configRuleARN: `arn:aws:config:us-east-1:${ACCOUNT}:config-rule/config-rule-x1`,
        messageType: 'ComplianceChangeNotification',
        newEvaluationResult: {
          evaluationResultIdentifier: {
            evaluationResultQualifier: {
              configRuleName: 'ec2-ebs-encryption-by-default',
              resourceType: 'AWS::::Account',
              resourceId: ACCOUNT,
            },
            orderingTimestamp: new Date().toISOString(),
          },
          complianceType: 'NON_COMPLIANT',
          resultRecordedTime: new Date().toISOString(),
          configRuleInvokedTime: new Date().toISOString(),
        },
        notificationCreationTime: new Date().toISOString(),
        resourceType: 'AWS::::Account',
      },
    };
    // Act
    await handle(change);
    // Assess
    expect(await encryptionByDefault('us-east-1')).toBe(true);
    expect((await responder.incidents())[0]).toMatchObject({
      trigger: { source: 'config-compliance' },
      status: 'remediated',
    });
  });

  it.each([
    ['not an object', 'DisableEbsEncryptionByDefault'],
    ['an unknown detail-type', { ...disableCall('us-east-1'), 'detail-type': 'Something Else' }],
    [
      'a CloudTrail call missing its eventID',
      (() => {
        const event = disableCall('us-east-1');
        return { ...event, detail: { ...event.detail, eventID: undefined } };
      })(),
    ],
    [
      'a Config invocation whose invokingEvent is not JSON',
      { invokingEvent: '{not json', resultToken: 't', configRuleName: 'r', accountId: ACCOUNT },
    ],
    [
      'an unmapped CloudTrail eventName',
      cloudTrailEvent({
        eventName: 'DeleteEverything',
        eventSource: 'ec2.amazonaws.com',
        region: 'us-east-1',
        caller: humanCaller(ACCOUNT),
      }),
    ],
  ])('rejects %s with a validation error and makes no AWS write', async (_case, event) => {
    // Prepare
    await disableEncryptionByDefault('us-east-1');
    let failure: unknown;
    // Act
    const calls = await recordCalls(() => handle(event).catch((error: unknown) => (failure = error)));
    // Assess
    expect(failure).toMatchObject({ name: 'ValidationError' });
    expect((failure as Error).message).toMatch(/\S+: /);
    expect(writesAmong(calls)).toEqual([]);
    expect(await encryptionByDefault('us-east-1')).toBe(false);
    expect(await responder.incidents()).toEqual([]);
  });

  it('gives 20 concurrent deliveries of one event, in separate processes, one incident, one change and one alert', async () => {
    // Prepare
    await disableEncryptionByDefault('us-east-1');
    const event = disableCall('us-east-1');
    // Act
    const calls = await recordCalls(() =>
      Promise.all(Array.from({ length: 20 }, () => responder.invokeBundle(FUNCTION, event))),
    );
    // Assess
    expect(calls.filter((call) => call.action === 'EnableEbsEncryptionByDefault')).toHaveLength(1);
    expect(calls.filter((call) => call.action === 'Publish')).toHaveLength(1);
    const incidents = await responder.incidents();
    expect(incidents).toHaveLength(1);
    // The whole incident, so a failure shows its reason and steps.
    expect(incidents[0]).toMatchObject({ status: 'remediated' });
    expect(await responder.alerts()).toHaveLength(1);
    expect(await encryptionByDefault('us-east-1')).toBe(true);
  });
});
