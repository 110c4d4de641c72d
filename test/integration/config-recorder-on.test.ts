import {
  ConfigServiceClient,
  DeleteConfigurationRecorderCommand,
  DescribeConfigurationRecorderStatusCommand,
  PutConfigurationRecorderCommand,
  PutDeliveryChannelCommand,
  StartConfigurationRecorderCommand,
  StopConfigurationRecorderCommand,
} from '@aws-sdk/client-config-service';
import { cloudTrailEvent, humanCaller, roleCaller, scheduledEvent } from '../../scripts/lib/events';
import type { HandlerResult } from '../../shared/pipeline/rule-handler';
import { LocalResponder, resetAccount } from '../support/local-responder';

const ACCOUNT = '123456789012';
const FUNCTION = 'config-recorder-on';
const loadFunction = () => require('../../functions/config-recorder-on');
const config = (region: string) => new ConfigServiceClient({ region });

/** A recorder that records, with the role and delivery channel AWS Config needs. */
async function createRecorder(region = 'us-east-1', { deliveryChannel = true } = {}) {
  await config(region).send(
    new PutConfigurationRecorderCommand({
      ConfigurationRecorder: {
        name: 'default',
        roleARN: `arn:aws:iam::${ACCOUNT}:role/aws-config-role`,
        recordingGroup: { allSupported: true, includeGlobalResourceTypes: false },
      },
    }),
  );
  if (!deliveryChannel) return;
  await config(region).send(
    new PutDeliveryChannelCommand({ DeliveryChannel: { name: 'default', s3BucketName: 'config-history' } }),
  );
  await config(region).send(new StartConfigurationRecorderCommand({ ConfigurationRecorderName: 'default' }));
}

const recording = async (region = 'us-east-1') =>
  (
    await config(region).send(
      new DescribeConfigurationRecorderStatusCommand({ ConfigurationRecorderNames: ['default'] }),
    )
  ).ConfigurationRecordersStatus?.[0]?.recording;
const stopRecorder = (region = 'us-east-1') =>
  config(region).send(new StopConfigurationRecorderCommand({ ConfigurationRecorderName: 'default' }));

const recorderCall = (eventName: string, region = 'us-east-1', caller = humanCaller(ACCOUNT)) =>
  cloudTrailEvent({
    eventName,
    eventSource: 'config.amazonaws.com',
    region,
    caller,
    requestParameters: { configurationRecorderName: 'default' },
  });

describe('config-recorder-on end to end against moto', () => {
  let responder: LocalResponder;
  let handle: (event: unknown) => Promise<HandlerResult>;

  beforeEach(async () => {
    await resetAccount();
    responder = await LocalResponder.provision();
    handle = responder.handlerOf(loadFunction);
  });

  it('starts a stopped recorder again after the StopConfigurationRecorder event, verified by a read', async () => {
    // Prepare
    await createRecorder();
    await stopRecorder();
    // Act
    const result = await handle(recorderCall('StopConfigurationRecorder'));
    // Assess
    expect(await recording()).toBe(true);
    expect(result.outcomes).toEqual([
      expect.objectContaining({ compliance: 'COMPLIANT', status: 'remediated' }),
    ]);
    const [incident, ...others] = await responder.incidents();
    expect(others).toEqual([]);
    expect(incident).toMatchObject({
      ruleId: FUNCTION,
      severity: 'HIGH',
      resourceType: 'AWS::Config::ConfigurationRecorder',
      resourceId: 'default',
      status: 'remediated',
      actor: { arn: `arn:aws:iam::${ACCOUNT}:user/dev-alice` },
      evidence: { recorderExists: true, recording: false },
    });
    expect(incident?.steps).toEqual([
      expect.objectContaining({
        action: 'StartConfigurationRecorder',
        result: 'succeeded',
        undo: {
          service: 'config',
          action: 'StopConfigurationRecorder',
          input: { ConfigurationRecorderName: 'default', Region: 'us-east-1' },
        },
      }),
      expect.objectContaining({ action: 'Verify', result: 'succeeded' }),
    ]);
    expect((await responder.alerts()).map((alert) => alert.attributes)).toEqual([
      expect.objectContaining({ severity: 'HIGH', status: 'remediated', ruleId: FUNCTION }),
    ]);
  });

  it('starts a stopped recorder again from the sweep', async () => {
    // Prepare
    await createRecorder('eu-west-1');
    await stopRecorder('eu-west-1');
    // Act
    await handle(scheduledEvent({ accountId: ACCOUNT, region: 'eu-west-1' }));
    // Assess
    expect(await recording('eu-west-1')).toBe(true);
    expect((await responder.incidents())[0]).toMatchObject({ region: 'eu-west-1', status: 'remediated' });
  });

  it('reports a region without any recorder once: one finding, id default, paged once across sweeps', async () => {
    // Act
    const first = await handle(scheduledEvent({ accountId: ACCOUNT, region: 'eu-west-1' }));
    await handle(scheduledEvent({ accountId: ACCOUNT, region: 'eu-west-1' }));
    // Assess
    expect(first.outcomes).toEqual([
      expect.objectContaining({ resourceId: 'default', compliance: 'NON_COMPLIANT', status: 'open' }),
    ]);
    const incidents = await responder.incidents();
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({
      resourceId: 'default',
      reason: 'no AWS Config configuration recorder in eu-west-1: resource changes there are not recorded',
      statusReason: expect.stringContaining(
        'no configuration recorder in eu-west-1; the responder does not create one',
      ),
    });
    expect(await responder.alerts()).toHaveLength(1);
  });

  it('declines a deleted recorder with what to recreate, and pages', async () => {
    // Prepare
    await createRecorder('us-east-1', { deliveryChannel: false });
    await config('us-east-1').send(
      new DeleteConfigurationRecorderCommand({ ConfigurationRecorderName: 'default' }),
    );
    // Act
    await handle(recorderCall('DeleteConfigurationRecorder'));
    // Assess
    expect((await responder.incidents())[0]).toMatchObject({
      status: 'open',
      statusReason: expect.stringContaining('recreate it (PutConfigurationRecorder'),
      actor: { arn: `arn:aws:iam::${ACCOUNT}:user/dev-alice` },
    });
    expect(await responder.alerts()).toHaveLength(1);
  });

  it('declines, naming the missing delivery channel, when the recorder cannot start', async () => {
    // Prepare: a recorder that never had a delivery channel is stopped
    await createRecorder('us-east-1', { deliveryChannel: false });
    // Act
    await handle(recorderCall('StopConfigurationRecorder'));
    // Assess
    expect(await recording()).toBe(false);
    const [incident] = await responder.incidents();
    expect(incident).toMatchObject({
      status: 'open',
      statusReason: expect.stringContaining('no delivery channel'),
    });
    expect(incident?.steps).toEqual([
      expect.objectContaining({ action: 'StartConfigurationRecorder', result: 'failed' }),
    ]);
  });

  it('ignores the call made by its own role (loop guard)', async () => {
    // Prepare
    await createRecorder();
    await stopRecorder();
    // Act
    const result = await handle(
      recorderCall('StopConfigurationRecorder', 'us-east-1', roleCaller(responder.responderRoleArn)),
    );
    // Assess
    expect(result.outcomes).toEqual([]);
    expect(await recording()).toBe(false);
    expect(await responder.incidents()).toEqual([]);
  });
});
