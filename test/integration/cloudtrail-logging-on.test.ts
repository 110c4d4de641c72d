import { GetTrailCommand, UpdateTrailCommand } from '@aws-sdk/client-cloudtrail';
import { roleCaller, scheduledEvent } from '../../scripts/lib/events';
import type { HandlerResult } from '../../shared/pipeline/rule-handler';
import {
  cloudtrail,
  createAuditTrail,
  createBucket,
  isLogging,
  stopLogging,
  trailCall,
} from '../support/cloudtrail';
import { LocalResponder, resetAccount } from '../support/local-responder';
import { recordCalls } from '../support/recorder';

const ACCOUNT = '123456789012';
const FUNCTION = 'cloudtrail-logging-on';
const loadFunction = () => require('../../functions/cloudtrail-logging-on');

describe('cloudtrail-logging-on end to end against moto', () => {
  let responder: LocalResponder;
  let handle: (event: unknown) => Promise<HandlerResult>;

  beforeEach(async () => {
    await resetAccount();
    responder = await LocalResponder.provision();
    handle = responder.handlerOf(loadFunction);
  });

  it('starts a stopped trail again after the StopLogging event, verifies it, records who and pages', async () => {
    // Prepare
    const arn = await createAuditTrail();
    await stopLogging();
    // Act
    const result = await handle(trailCall('StopLogging', 'audit'));
    // Assess: logging again
    expect(await isLogging()).toBe(true);
    expect(result.outcomes).toEqual([
      expect.objectContaining({ compliance: 'COMPLIANT', status: 'remediated' }),
    ]);
    // Assess: one CRITICAL incident naming the actor, the step and its undo
    const [incident, ...others] = await responder.incidents();
    expect(others).toEqual([]);
    expect(incident).toMatchObject({
      ruleId: FUNCTION,
      severity: 'CRITICAL',
      hipaa: ['164.312(b)', '164.308(a)(1)(ii)(D)'],
      resourceType: 'AWS::CloudTrail::Trail',
      resourceId: 'audit',
      resourceArn: arn,
      region: 'us-east-1',
      status: 'remediated',
      trigger: { source: 'cloudtrail', eventName: 'StopLogging' },
      actor: { arn: `arn:aws:iam::${ACCOUNT}:user/dev-alice` },
      evidence: { isLogging: false, logFileValidation: true, multiRegion: true },
    });
    expect(incident?.steps).toEqual([
      expect.objectContaining({
        action: 'StartLogging',
        result: 'succeeded',
        undo: { service: 'cloudtrail', action: 'StopLogging', input: { Name: arn, Region: 'us-east-1' } },
      }),
      expect.objectContaining({ action: 'Verify', result: 'succeeded' }),
    ]);
    const alerts = await responder.alerts();
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      subject: `[CRITICAL] CloudTrail trail is not logging audit: remediated — ${ACCOUNT}/us-east-1`,
      attributes: { severity: 'CRITICAL', ruleId: FUNCTION, status: 'remediated' },
      body: { actor: { arn: `arn:aws:iam::${ACCOUNT}:user/dev-alice` } },
    });
  });

  it('starts a stopped trail again from the sweep: no event arrives while no trail logs', async () => {
    // Prepare
    await createAuditTrail();
    await stopLogging();
    // Act
    await handle(scheduledEvent({ accountId: ACCOUNT, region: 'us-east-1' }));
    // Assess
    expect(await isLogging()).toBe(true);
    const [incident] = await responder.incidents();
    expect(incident).toMatchObject({ status: 'remediated', trigger: { source: 'schedule' } });
    expect(incident?.actor).toBeUndefined();
  });

  it('starts a trail named by ARN in its home region', async () => {
    // Prepare
    const arn = await createAuditTrail('eu-audit', 'us-west-2');
    await stopLogging('eu-audit', 'us-west-2');
    // Act
    await handle(trailCall('StopLogging', arn, 'us-west-2'));
    // Assess
    expect(await isLogging('eu-audit', 'us-west-2')).toBe(true);
    expect((await responder.incidents())[0]).toMatchObject({ region: 'us-west-2', resourceId: 'eu-audit' });
  });

  it('turns log file validation back on after an UpdateTrail, with the undo', async () => {
    // Prepare
    const arn = await createAuditTrail();
    await cloudtrail('us-east-1').send(
      new UpdateTrailCommand({ Name: 'audit', EnableLogFileValidation: false }),
    );
    // Act
    await handle(trailCall('UpdateTrail', 'audit'));
    // Assess
    const { Trail: trail } = await cloudtrail('us-east-1').send(new GetTrailCommand({ Name: 'audit' }));
    expect(trail?.LogFileValidationEnabled).toBe(true);
    expect((await responder.incidents())[0]?.steps[0]).toMatchObject({
      action: 'UpdateTrail',
      result: 'succeeded',
      undo: { input: { Name: arn, Region: 'us-east-1', EnableLogFileValidation: false } },
    });
  });

  it('makes a single-region trail found by the sweep multi-region again', async () => {
    // Prepare
    await createAuditTrail('regional', 'us-east-1', { multiRegion: false });
    // Act
    await handle(scheduledEvent({ accountId: ACCOUNT, region: 'us-east-1' }));
    // Assess
    const { Trail: trail } = await cloudtrail('us-east-1').send(new GetTrailCommand({ Name: 'regional' }));
    expect(trail?.IsMultiRegionTrail).toBe(true);
  });

  it.each([
    ['off', {}, 'trail deleted; recreating is off (RECREATE_DELETED_TRAIL)'],
    ['on', { RECREATE_DELETED_TRAIL: 'true' }, 'cannot recreate it faithfully'],
  ])(
    'raises a CRITICAL incident for a DeleteTrail, not NOT_APPLICABLE, and recreates nothing (RECREATE_DELETED_TRAIL %s)',
    async (_flag, overrides, reason) => {
      // Prepare: the trail is gone by the time the event arrives
      await createBucket('audit-logs-us-east-1');
      const deleted = responder.handlerOf(loadFunction, overrides);
      // Act
      let result: HandlerResult | undefined;
      const calls = await recordCalls(async () => {
        result = await deleted(trailCall('DeleteTrail', 'audit'));
      });
      // Assess
      expect(result?.outcomes).toEqual([
        expect.objectContaining({ compliance: 'NON_COMPLIANT', status: 'open' }),
      ]);
      expect(
        calls.filter((call) => /Trail|Logging/.test(call.action) && !/^(Get|Describe)/.test(call.action)),
      ).toEqual([]);
      const [incident] = await responder.incidents();
      expect(incident).toMatchObject({
        severity: 'CRITICAL',
        status: 'open',
        resourceArn: `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/audit`,
        statusReason: expect.stringContaining(reason),
        actor: { arn: `arn:aws:iam::${ACCOUNT}:user/dev-alice` },
        evidence: { trailExists: false },
      });
      const [alert] = await responder.alerts();
      expect(alert).toMatchObject({ attributes: { severity: 'CRITICAL', status: 'open' } });
    },
  );

  it('ignores the StopLogging made by its own role (loop guard)', async () => {
    // Prepare
    await createAuditTrail();
    await stopLogging();
    // Act
    const result = await handle(
      trailCall('StopLogging', 'audit', 'us-east-1', roleCaller(responder.responderRoleArn)),
    );
    // Assess
    expect(result.outcomes).toEqual([]);
    expect(await isLogging()).toBe(false);
    expect(await responder.incidents()).toEqual([]);
  });

  it('only records and alerts in notify mode', async () => {
    // Prepare
    await createAuditTrail();
    await stopLogging();
    const notify = responder.handlerOf(loadFunction, { MODE_CLOUDTRAIL_LOGGING_ON: 'notify' });
    // Act
    await notify(trailCall('StopLogging', 'audit'));
    // Assess
    expect(await isLogging()).toBe(false);
    expect((await responder.incidents())[0]).toMatchObject({ status: 'open', mode: 'notify', steps: [] });
    expect(await responder.alerts()).toHaveLength(1);
  });

  it('records an exempted trail without starting it or paging', async () => {
    // Prepare
    const arn = await createAuditTrail();
    await responder.exempt('cloudtrail-logging-on', arn, 'CHG-1234 migration to the organization trail');
    await stopLogging();
    // Act
    await handle(trailCall('StopLogging', 'audit'));
    // Assess
    expect(await isLogging()).toBe(false);
    expect((await responder.incidents())[0]).toMatchObject({ status: 'exempted' });
    expect(await responder.alerts()).toEqual([]);
  });
});
