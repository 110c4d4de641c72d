import {
  DisableEbsEncryptionByDefaultCommand,
  EC2Client,
  EnableEbsEncryptionByDefaultCommand,
  GetEbsEncryptionByDefaultCommand,
} from '@aws-sdk/client-ec2';
import {
  cloudTrailEvent,
  disableEbsEncryptionByDefaultCall,
  humanCaller,
  scheduledEvent,
} from '../../scripts/lib/events';
import { enabledRegions } from '../../shared/aws/enabled-regions';
import type { HandlerResult } from '../../shared/pipeline/rule-handler';
import { LocalResponder, resetAccount } from '../support/local-responder';

const ACCOUNT = '123456789012';
const HOME = 'us-east-1';
const SECOND = 'eu-west-1';
/** An opt-in region (Hong Kong) that moto reports as not opted in. */
const NOT_OPTED_IN = 'ap-east-1';
const loadFunction = () => require('../../functions/ebs-encryption-by-default');

const ec2 = (region: string) => new EC2Client({ region });
const encryptionByDefault = async (region: string) =>
  (await ec2(region).send(new GetEbsEncryptionByDefaultCommand({}))).EbsEncryptionByDefault;

describe('one home stack covering every enabled region, against moto', () => {
  let responder: LocalResponder;
  let regions: string[];

  beforeEach(async () => {
    await resetAccount();
    // The deployed default: the sweep covers every enabled region (local runs default to own-region).
    responder = await LocalResponder.provision({ SWEEP_REGIONS: 'all-enabled' });
    regions = await enabledRegions(ec2(HOME), HOME);
    // moto starts every region with encryption by default off: every region but SECOND is fixed first.
    await Promise.all(
      regions
        .filter((region) => region !== SECOND)
        .map((region) => ec2(region).send(new EnableEbsEncryptionByDefaultCommand({}))),
    );
    await ec2(SECOND).send(new DisableEbsEncryptionByDefaultCommand({}));
  });

  it('lists the enabled regions of the partition, and no region the account has not opted in to', () => {
    // Assess
    expect(regions).toEqual(expect.arrayContaining([HOME, SECOND, 'us-west-2']));
    expect(regions).not.toContain(NOT_OPTED_IN);
    expect(regions.filter((region) => region.startsWith('cn-') || region.startsWith('us-gov-'))).toEqual([]);
  });

  it('sweeps a second region from the home schedule, remediates there and records the incident at home', async () => {
    // Prepare
    const handle = responder.handlerOf(loadFunction);
    // Act: the home region's hourly schedule, as EventBridge delivers it
    const result: HandlerResult = await handle(scheduledEvent({ accountId: ACCOUNT, region: HOME }));
    // Assess: fixed in the second region, nothing else changed
    expect(await encryptionByDefault(SECOND)).toBe(true);
    expect(await encryptionByDefault(NOT_OPTED_IN)).toBe(false);
    expect(result.outcomes).toHaveLength(regions.length);
    expect(result.outcomes.filter((outcome) => outcome.status === 'remediated')).toHaveLength(1);
    // Assess: one incident, about the second region, in the home region's table
    const incidents = await responder.incidents();
    expect(responder.stack.region).toBe(HOME);
    expect(incidents).toEqual([
      expect.objectContaining({
        region: SECOND,
        status: 'remediated',
        trigger: expect.objectContaining({ source: 'schedule' }),
        resourceArn: `arn:aws:ec2:${SECOND}:${ACCOUNT}:ebs-encryption-by-default`,
      }),
    ]);
    expect((await responder.alerts()).map((alert) => alert.subject)).toEqual([
      `[HIGH] EBS encryption by default is off: remediated — ${ACCOUNT}/${SECOND}`,
    ]);
  });

  it('keeps drift in two regions apart: one incident each, not one collapsed into the other', async () => {
    // Prepare
    await ec2('us-west-2').send(new DisableEbsEncryptionByDefaultCommand({}));
    const handle = responder.handlerOf(loadFunction);
    // Act
    await handle(scheduledEvent({ accountId: ACCOUNT, region: HOME }));
    // Assess
    const swept = (await responder.incidents()).map((incident) => incident.region).sort();
    expect(swept).toEqual(['eu-west-1', 'us-west-2']);
    expect(await encryptionByDefault('us-west-2')).toBe(true);
  });

  it('sweeps only the regions sweepRegions names', async () => {
    // Prepare
    const handle = responder.handlerOf(loadFunction, { SWEEP_REGIONS: 'us-east-1,us-west-2' });
    // Act
    const result = await handle(scheduledEvent({ accountId: ACCOUNT, region: HOME }));
    // Assess
    expect(result.outcomes.map((outcome) => outcome.compliance)).toEqual(['COMPLIANT', 'COMPLIANT']);
    expect(await encryptionByDefault(SECOND)).toBe(false);
    expect(await responder.incidents()).toEqual([]);
  });

  it('handles an event forwarded from a second region in that region', async () => {
    // Prepare: what a forwarder stack puts on the home bus: the event unchanged, region = SECOND
    const handle = responder.handlerOf(loadFunction);
    const forwarded = cloudTrailEvent(disableEbsEncryptionByDefaultCall(SECOND, humanCaller(ACCOUNT)));
    // Act
    await handle(forwarded);
    // Assess: fixed in SECOND, recorded at home with who did it
    expect(await encryptionByDefault(SECOND)).toBe(true);
    expect(await responder.incidents()).toEqual([
      expect.objectContaining({
        region: SECOND,
        status: 'remediated',
        actor: expect.objectContaining({ arn: `arn:aws:iam::${ACCOUNT}:user/dev-alice` }),
      }),
    ]);
  });
});
