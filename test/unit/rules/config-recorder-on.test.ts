import {
  ConfigServiceClient,
  DescribeConfigurationRecorderStatusCommand,
  DescribeConfigurationRecordersCommand,
  StartConfigurationRecorderCommand,
} from '@aws-sdk/client-config-service';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { createAwsClients } from '../../../shared/aws/clients';
import { RemediationDeclined } from '../../../shared/errors';
import { configRecorderOn as rule } from '../../../shared/rules/config-recorder-on';
import { actionsOf, type Loaded } from '../../../shared/rules/rule';
import { testSettings } from '../../support/incident';
import { SentActions } from '../../support/permissions';
import { recordingContext } from '../../support/remediation';

const ACCOUNT = '111122223333';
const ref = (resourceId = 'default', region = 'eu-west-1') => ({
  resourceType: 'AWS::Config::ConfigurationRecorder',
  resourceId,
  region,
  accountId: ACCOUNT,
});
const recorder = { name: 'default', roleARN: `arn:aws:iam::${ACCOUNT}:role/config` };
const noSuchRecorder = Object.assign(new Error('Cannot find configuration recorder'), {
  name: 'NoSuchConfigurationRecorderException',
});

function findingOf(loaded: Loaded<unknown> | undefined) {
  const verdict = loaded && rule.detect(loaded, testSettings());
  if (!loaded || !verdict || verdict.compliant) throw new Error('expected drift');
  return { loaded, finding: verdict };
}

async function sweep(region = 'eu-west-1') {
  const swept: Loaded<unknown>[] = [];
  for await (const found of rule.list(
    { accountId: ACCOUNT, region },
    createAwsClients('us-east-1'),
    testSettings(),
  )) {
    swept.push(found);
  }
  return swept;
}

describe('rule config-recorder-on', () => {
  const config = mockClient(ConfigServiceClient);
  const aws = createAwsClients('us-east-1');
  const sent = new SentActions();
  beforeEach(() => config.reset());
  afterEach(() => sent.collect('ConfigServiceClient', config));
  afterAll(() => config.restore());

  it('finds drift when the recorder is stopped, in the region the event names', async () => {
    // Prepare
    config.on(DescribeConfigurationRecordersCommand).resolves({ ConfigurationRecorders: [recorder] });
    config.on(DescribeConfigurationRecorderStatusCommand).resolves({
      ConfigurationRecordersStatus: [{ name: 'default', recording: false, lastStatus: 'Success' }],
    });
    // Act
    const loaded = await rule.load(ref(), aws, testSettings());
    // Assess
    expect(loaded).toMatchObject({
      resourceId: 'default',
      arn: `arn:aws:config:eu-west-1:${ACCOUNT}:configuration-recorder/default`,
      tags: {},
      state: { exists: true, recording: false, lastStatus: 'Success' },
    });
    expect(loaded && rule.detect(loaded, testSettings())).toMatchObject({
      compliant: false,
      reason:
        'AWS Config configuration recorder default is stopped: resource changes in eu-west-1 are not recorded',
      plan: 'StartConfigurationRecorder default in eu-west-1',
    });
    expect(await config.call(0).thisValue.config.region()).toBe('eu-west-1');
  });

  it('starts a stopped recorder with StopConfigurationRecorder as the undo', async () => {
    // Prepare
    config.on(DescribeConfigurationRecordersCommand).resolves({ ConfigurationRecorders: [recorder] });
    config
      .on(DescribeConfigurationRecorderStatusCommand)
      .resolves({ ConfigurationRecordersStatus: [{ name: 'default', recording: false }] });
    config.on(StartConfigurationRecorderCommand).resolves({});
    const { loaded, finding } = findingOf(await rule.load(ref(), aws, testSettings()));
    const { context, steps } = recordingContext(aws, testSettings());
    // Act
    await rule.remediate(loaded, finding, context);
    // Assess
    expect(config).toHaveReceivedCommandWith(StartConfigurationRecorderCommand, {
      ConfigurationRecorderName: 'default',
    });
    expect(steps).toEqual([
      {
        action: 'StartConfigurationRecorder',
        undo: {
          service: 'config',
          action: 'StopConfigurationRecorder',
          input: { ConfigurationRecorderName: 'default', Region: 'eu-west-1' },
        },
      },
    ]);
  });

  it('is compliant while the recorder records', async () => {
    // Prepare
    config.on(DescribeConfigurationRecordersCommand).resolves({ ConfigurationRecorders: [recorder] });
    config
      .on(DescribeConfigurationRecorderStatusCommand)
      .resolves({ ConfigurationRecordersStatus: [{ name: 'default', recording: true }] });
    // Act
    const loaded = await rule.load(ref(), aws, testSettings());
    // Assess
    expect(loaded && rule.detect(loaded, testSettings())).toEqual({ compliant: true });
  });

  it('reads a deleted recorder as drift and declines with what to recreate, changing nothing', async () => {
    // Prepare: the region still has another recorder
    config.on(DescribeConfigurationRecordersCommand).callsFake(async (input) => {
      if (input.ConfigurationRecorderNames) throw noSuchRecorder;
      return { ConfigurationRecorders: [{ ...recorder, name: 'other' }] };
    });
    const { loaded, finding } = findingOf(await rule.load(ref(), aws, testSettings()));
    const { context, steps } = recordingContext(aws, testSettings());
    // Act
    const remediation = rule.remediate(loaded, finding, context);
    // Assess
    expect(loaded.state).toEqual({ exists: false, regionHasNone: false });
    expect(finding.reason).toBe('AWS Config configuration recorder default was deleted in eu-west-1');
    await expect(remediation).rejects.toThrow(RemediationDeclined);
    await expect(remediation).rejects.toThrow(
      'configuration recorder default was deleted; recreate it (PutConfigurationRecorder',
    );
    expect(steps).toEqual([]);
    expect(config).toHaveReceivedCommandTimes(StartConfigurationRecorderCommand, 0);
  });

  it('sweeps a region with no recorder into one finding, id default, that is declined', async () => {
    // Prepare
    config.on(DescribeConfigurationRecordersCommand).resolves({ ConfigurationRecorders: [] });
    // Act
    const swept = await sweep();
    // Assess
    expect(swept).toHaveLength(1);
    const { loaded, finding } = findingOf(swept[0]);
    expect(loaded).toMatchObject({ resourceId: 'default', state: { exists: false, regionHasNone: true } });
    expect(finding.reason).toBe(
      'no AWS Config configuration recorder in eu-west-1: resource changes there are not recorded',
    );
    await expect(
      rule.remediate(loaded, finding, recordingContext(aws, testSettings()).context),
    ).rejects.toThrow('no configuration recorder in eu-west-1; the responder does not create one');
  });

  it('sweeps customer-managed recorders only, reading their status in one call', async () => {
    // Prepare
    const serviceLinked = {
      name: 'AWSConfigurationRecorderForSecurityHub',
      servicePrincipal: 'securityhub.amazonaws.com',
    };
    config
      .on(DescribeConfigurationRecordersCommand)
      .resolves({ ConfigurationRecorders: [recorder, serviceLinked] });
    config
      .on(DescribeConfigurationRecorderStatusCommand)
      .resolves({ ConfigurationRecordersStatus: [{ name: 'default', recording: true }] });
    // Act
    const swept = await sweep();
    // Assess
    expect(swept.map((found) => found.resourceId)).toEqual(['default']);
    expect(config).toHaveReceivedCommandWith(DescribeConfigurationRecorderStatusCommand, {
      ConfigurationRecorderNames: ['default'],
    });
  });

  it('leaves a service-linked recorder alone: its service owns it', async () => {
    // Prepare
    config.on(DescribeConfigurationRecordersCommand).resolves({
      ConfigurationRecorders: [{ name: 'AWSConfigurationRecorderForX', servicePrincipal: 'x.amazonaws.com' }],
    });
    // Act
    const loaded = await rule.load(ref('AWSConfigurationRecorderForX'), aws, testSettings());
    // Assess
    expect(loaded).toBeUndefined();
  });

  it('declines, naming the missing delivery channel, when the recorder cannot start', async () => {
    // Prepare
    config.on(DescribeConfigurationRecordersCommand).resolves({ ConfigurationRecorders: [recorder] });
    config
      .on(DescribeConfigurationRecorderStatusCommand)
      .resolves({ ConfigurationRecordersStatus: [{ name: 'default', recording: false }] });
    config
      .on(StartConfigurationRecorderCommand)
      .rejects(Object.assign(new Error('no channel'), { name: 'NoAvailableDeliveryChannelException' }));
    const { loaded, finding } = findingOf(await rule.load(ref(), aws, testSettings()));
    // Act
    const remediation = rule.remediate(loaded, finding, recordingContext(aws, testSettings()).context);
    // Assess
    await expect(remediation).rejects.toThrow(RemediationDeclined);
    await expect(remediation).rejects.toThrow('eu-west-1 has no delivery channel');
  });

  it('lets a throttled read fail instead of reporting no recorder or compliance', async () => {
    // Prepare
    config
      .on(DescribeConfigurationRecordersCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    // Act / Assess
    await expect(rule.load(ref(), aws, testSettings())).rejects.toThrow('Rate exceeded');
    await expect(sweep()).rejects.toThrow('Rate exceeded');
  });

  // Runs last: the contract between what the rule declares and what its tests saw it send.
  it('declares an IAM permission for every AWS call its tests saw it make', () => {
    // Assess
    expect(sent.all.length).toBeGreaterThan(0);
    expect(sent.all.filter((action) => !actionsOf(rule).includes(action))).toEqual([]);
  });
});
