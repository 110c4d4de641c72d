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
import { FaultProxy } from '../support/fault-proxy';
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

  it('sends the CRITICAL alert of a deleted trail whose Publish failed from the next sweep, which no longer lists the trail', async () => {
    // Prepare: the DeleteTrail is handled while every Publish fails
    await createBucket('audit-logs-us-east-1');
    const stale = { REMEDIATION_STALE_SECONDS: '1' };
    const proxy = await FaultProxy.start(String(process.env.AWS_ENDPOINT_URL));
    proxy.arm([{ action: 'sns:Publish', nth: 1, kind: 'http500', times: 100 }]);
    const failed = await responder
      .invokeBundle(FUNCTION, trailCall('DeleteTrail', 'audit'), { ...stale, AWS_ENDPOINT_URL: proxy.url })
      .finally(() => proxy.close());
    expect(failed.ok).toBe(false);
    const [incident] = await responder.incidents();
    expect(incident).toMatchObject({ severity: 'CRITICAL', status: 'open', alert: { status: 'pending' } });
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    // Act: the next scheduled sweep, past the stale window
    await responder.handlerOf(
      loadFunction,
      stale,
    )(scheduledEvent({ accountId: ACCOUNT, region: 'us-east-1' }));
    // Assess: paged once, and the incident says so
    const alerts = await responder.alerts();
    expect(alerts).toEqual([
      expect.objectContaining({
        attributes: expect.objectContaining({ severity: 'CRITICAL', status: 'open' }),
        body: expect.objectContaining({ incidentId: incident?.incidentId }),
      }),
    ]);
    expect((await responder.incidents())[0]?.alert?.status).toBe('sent');
  }, 60_000);

  it('judges a trail recreated under the name of a deleted one afresh: starts it, and resolves the deletion incident', async () => {
    // Prepare: the trail was deleted (a CRITICAL incident holds its drift), then recreated, not logging
    await createBucket('audit-logs-us-east-1');
    await handle(trailCall('DeleteTrail', 'audit'));
    const [deletion] = await responder.incidents();
    await createAuditTrail();
    await stopLogging();
    await responder.alerts();
    // Act
    await handle(scheduledEvent({ accountId: ACCOUNT, region: 'us-east-1' }));
    // Assess: logging again, through an incident of its own; the deletion incident says why it closed
    expect(await isLogging()).toBe(true);
    const byId = Object.fromEntries((await responder.incidents()).map((found) => [found.incidentId, found]));
    expect(byId[String(deletion?.incidentId)]).toMatchObject({
      status: 'resolved',
      statusReason: expect.stringContaining('exists again'),
    });
    const fresh = Object.values(byId).filter((found) => found.incidentId !== deletion?.incidentId);
    expect(fresh).toEqual([
      expect.objectContaining({
        status: 'remediated',
        evidence: expect.objectContaining({ isLogging: false }),
      }),
    ]);
    expect((await responder.alerts()).map((alert) => alert.attributes.status)).toEqual(['remediated']);
  });

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
