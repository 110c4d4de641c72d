import {
  EC2Client,
  EnableEbsEncryptionByDefaultCommand,
  GetEbsDefaultKmsKeyIdCommand,
  GetEbsEncryptionByDefaultCommand,
  ModifyEbsDefaultKmsKeyIdCommand,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { createAwsClients } from '../../../shared/aws/clients';
import { ebsEncryptionByDefault as rule } from '../../../shared/rules/ebs-encryption-by-default';
import { actionsOf } from '../../../shared/rules/rule';
import { testSettings } from '../../support/incident';
import { SentActions } from '../../support/permissions';
import { recordingContext } from '../../support/remediation';

const ref = {
  resourceType: 'AWS::::Account',
  resourceId: '111122223333',
  region: 'eu-west-1',
  accountId: '111122223333',
};
const KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

describe('rule ebs-encryption-by-default', () => {
  const ec2 = mockClient(EC2Client);
  const aws = createAwsClients('us-east-1');
  const sent = new SentActions();
  beforeEach(() => ec2.reset());
  afterEach(() => sent.collect('EC2Client', ec2));
  afterAll(() => ec2.restore());

  it('reads the region the event names, and the default key only when a key is configured', async () => {
    // Prepare
    ec2.on(GetEbsEncryptionByDefaultCommand).resolves({ EbsEncryptionByDefault: false });
    // Act
    const loaded = await rule.load(ref, aws, testSettings());
    // Assess
    expect(loaded?.state).toEqual({ encryptionByDefault: false, kmsKeyId: undefined });
    expect(loaded?.arn).toBe('arn:aws:ec2:eu-west-1:111122223333:ebs-encryption-by-default');
    expect(ec2).toHaveReceivedCommandTimes(GetEbsDefaultKmsKeyIdCommand, 0);
    expect(await ec2.call(0).thisValue.config.region()).toBe('eu-west-1');
  });

  it('finds drift when encryption by default is off, and plans to turn it on', async () => {
    // Prepare
    ec2.on(GetEbsEncryptionByDefaultCommand).resolves({ EbsEncryptionByDefault: false });
    const loaded = await rule.load(ref, aws, testSettings());
    // Act
    const verdict = loaded && rule.detect(loaded, testSettings());
    // Assess
    expect(verdict).toMatchObject({
      compliant: false,
      reason: expect.stringContaining('off in eu-west-1'),
      plan: 'Enable EBS encryption by default in eu-west-1 with the AWS-managed key aws/ebs',
    });
  });

  it('is compliant when on with the AWS-managed key and no key is configured', async () => {
    // Prepare
    ec2.on(GetEbsEncryptionByDefaultCommand).resolves({ EbsEncryptionByDefault: true });
    const loaded = await rule.load(ref, aws, testSettings());
    // Act / Assess
    expect(loaded && rule.detect(loaded, testSettings())).toEqual({ compliant: true });
  });

  it('turns encryption on with an undo that turns it off again', async () => {
    // Prepare
    ec2.on(GetEbsEncryptionByDefaultCommand).resolves({ EbsEncryptionByDefault: false });
    ec2.on(EnableEbsEncryptionByDefaultCommand).resolves({ EbsEncryptionByDefault: true });
    const settings = testSettings();
    const loaded = await rule.load(ref, aws, settings);
    const { steps, context } = recordingContext(aws, settings);
    const finding = loaded && rule.detect(loaded, settings);
    if (!loaded || !finding || finding.compliant) throw new Error('expected drift');
    // Act
    await rule.remediate(loaded, finding, context);
    // Assess
    expect(ec2).toHaveReceivedCommandTimes(EnableEbsEncryptionByDefaultCommand, 1);
    expect(ec2).toHaveReceivedCommandTimes(ModifyEbsDefaultKmsKeyIdCommand, 0);
    expect(steps).toEqual([
      {
        action: 'EnableEbsEncryptionByDefault',
        undo: { service: 'ec2', action: 'DisableEbsEncryptionByDefault', input: { Region: 'eu-west-1' } },
      },
    ]);
  });

  // moto 5.2.1 does not implement GetEbsDefaultKmsKeyId, ModifyEbsDefaultKmsKeyId or
  // ResetEbsDefaultKmsKeyId, so the configured-key path is covered here with the mock.
  it('sets the configured key first, recording the previous key as the undo', async () => {
    // Prepare
    const settings = testSettings({ EBS_KMS_KEY_ID: KEY_ARN });
    ec2.on(GetEbsEncryptionByDefaultCommand).resolves({ EbsEncryptionByDefault: false });
    ec2.on(GetEbsDefaultKmsKeyIdCommand).resolves({ KmsKeyId: 'alias/aws/ebs' });
    const loaded = await rule.load(ref, aws, settings);
    const { steps, context } = recordingContext(aws, settings);
    const finding = loaded && rule.detect(loaded, settings);
    if (!loaded || !finding || finding.compliant) throw new Error('expected drift');
    // Act
    await rule.remediate(loaded, finding, context);
    // Assess
    expect(ec2).toHaveReceivedNthCommandWith(3, ModifyEbsDefaultKmsKeyIdCommand, { KmsKeyId: KEY_ARN });
    expect(ec2).toHaveReceivedNthCommandWith(4, EnableEbsEncryptionByDefaultCommand, {});
    expect(steps.map((s) => s.undo)).toEqual([
      {
        service: 'ec2',
        action: 'ModifyEbsDefaultKmsKeyId',
        input: { KmsKeyId: 'alias/aws/ebs', Region: 'eu-west-1' },
      },
      { service: 'ec2', action: 'DisableEbsEncryptionByDefault', input: { Region: 'eu-west-1' } },
    ]);
  });

  it('finds drift when encryption is on but with another key than the configured one', async () => {
    // Prepare
    const settings = testSettings({ EBS_KMS_KEY_ID: '1234abcd-12ab-34cd-56ef-1234567890ab' });
    ec2.on(GetEbsEncryptionByDefaultCommand).resolves({ EbsEncryptionByDefault: true });
    ec2
      .on(GetEbsDefaultKmsKeyIdCommand)
      .resolves({ KmsKeyId: 'arn:aws:kms:eu-west-1:111122223333:alias/aws/ebs' });
    const loaded = await rule.load(ref, aws, settings);
    // Act
    const verdict = loaded && rule.detect(loaded, settings);
    // Assess
    expect(verdict).toMatchObject({
      compliant: false,
      reason: expect.stringContaining('instead of the configured key'),
    });
    ec2.on(GetEbsDefaultKmsKeyIdCommand).resolves({ KmsKeyId: KEY_ARN });
    const fixed = await rule.load(ref, aws, settings);
    expect(fixed && rule.detect(fixed, settings)).toEqual({ compliant: true });
  });

  it('lets a throttled read fail instead of reporting compliance', async () => {
    // Prepare
    ec2
      .on(GetEbsEncryptionByDefaultCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'RequestLimitExceeded' }));
    // Act / Assess
    const listing = async () => {
      for await (const _ of rule.list(
        { accountId: '111122223333', region: 'eu-west-1' },
        aws,
        testSettings(),
      )) {
        // drain
      }
    };
    await expect(listing()).rejects.toThrow('Rate exceeded');
  });

  // Runs last: the contract between what the rule declares and what its tests saw it send.
  it('declares an IAM permission for every AWS call its tests saw it make', () => {
    // Assess
    expect(sent.all.length).toBeGreaterThan(0);
    expect(sent.all.filter((action) => !actionsOf(rule).includes(action))).toEqual([]);
  });
});
