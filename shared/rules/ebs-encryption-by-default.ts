import {
  EnableEbsEncryptionByDefaultCommand,
  GetEbsDefaultKmsKeyIdCommand,
  GetEbsEncryptionByDefaultCommand,
  ModifyEbsDefaultKmsKeyIdCommand,
} from '@aws-sdk/client-ec2';
import type { AwsClients } from '../aws/clients';
import type { Settings } from '../config';
import { Mode, Severity } from '../model';
import { ACCOUNT } from '../resources/account-setting';
import { ebsKmsKeyId } from './ebs-kms-key';
import { defineRule, type Loaded, REEVALUATE_PAIRED_CONFIG_RULES, type ResourceRef } from './rule';
import { settingsReader } from './settings';

interface EbsDefaults {
  encryptionByDefault: boolean;
  /** The region's default EBS key (ARN or alias as EC2 reports it); read only when a key is configured. */
  kmsKeyId: string | undefined;
}

/**
 * The region's EBS defaults are account-level: one "resource" per account and region. The default
 * key matters only when a key is configured (otherwise AWS's own aws/ebs is what we want), so it is
 * read only then: one call fewer on every event.
 */
async function readDefaults(
  scope: { accountId: string; region: string },
  aws: AwsClients,
  settings: Settings,
) {
  const ec2 = aws.ec2(scope.region);
  const [encryption, key] = await Promise.all([
    ec2.send(new GetEbsEncryptionByDefaultCommand({})),
    mine(settings).kmsKeyId ? ec2.send(new GetEbsDefaultKmsKeyIdCommand({})) : Promise.resolve(undefined),
  ]);
  const defaults: Loaded<EbsDefaults> = {
    resourceType: ACCOUNT,
    resourceId: scope.accountId,
    arn: `arn:aws:ec2:${scope.region}:${scope.accountId}:ebs-encryption-by-default`,
    region: scope.region,
    accountId: scope.accountId,
    // Account-level settings carry no tags, so they cannot be exempted by tag.
    tags: {},
    state: { encryptionByDefault: encryption.EbsEncryptionByDefault === true, kmsKeyId: key?.KmsKeyId },
  };
  return defaults;
}

/** A configured key matches the region's default when either names the other (id, alias or ARN). */
const sameKey = (configured: string, current: string | undefined): boolean =>
  current !== undefined &&
  (current === configured || current.endsWith(`/${configured}`) || current.endsWith(`:${configured}`));

const declared = { kmsKeyId: ebsKmsKeyId };
const mine = settingsReader(declared);

export const ebsEncryptionByDefault = defineRule<EbsDefaults>({
  id: 'ebs-encryption-by-default',
  settings: declared,
  title: 'EBS encryption by default is off',
  severity: Severity.High,
  hipaa: ['164.312(a)(2)(iv)'],
  runbook: 'docs/runbooks/ebs-encryption-by-default.md',
  readme: {
    enforce: 'turns EBS encryption by default back on in the region (and sets the configured key)',
  },
  undoActions: [
    'ec2:DisableEbsEncryptionByDefault',
    'ec2:ModifyEbsDefaultKmsKeyId',
    'ec2:ResetEbsDefaultKmsKeyId',
  ],
  defaultMode: Mode.Enforce,
  resourceType: ACCOUNT,
  triggers: {
    cloudTrail: {
      eventNames: ['DisableEbsEncryptionByDefault', 'ResetEbsDefaultKmsKeyId', 'ModifyEbsDefaultKmsKeyId'],
    },
    configResourceTypes: [ACCOUNT],
    managedConfigRules: [
      { sourceIdentifier: 'EC2_EBS_ENCRYPTION_BY_DEFAULT', ruleName: 'ec2-ebs-encryption-by-default' },
    ],
    customConfigRule: true,
    schedule: 'rate(1 hour)',
  },
  permissions: [
    {
      sid: 'RegionEbsDefaults',
      actions: [
        'ec2:GetEbsEncryptionByDefault',
        'ec2:GetEbsDefaultKmsKeyId',
        'ec2:EnableEbsEncryptionByDefault',
        'ec2:ModifyEbsDefaultKmsKeyId',
      ],
      why: 'Region-level EBS settings have no resource ARN.',
    },
    REEVALUATE_PAIRED_CONFIG_RULES,
  ],

  async load(ref: ResourceRef, aws, settings) {
    return readDefaults(ref, aws, settings);
  },

  async *list(scope, aws, settings) {
    yield await readDefaults(scope, aws, settings);
  },

  detect(resource, settings) {
    const { encryptionByDefault, kmsKeyId } = resource.state;
    const wantedKey = mine(settings).kmsKeyId;
    const keyDrift = wantedKey !== undefined && !sameKey(wantedKey, kmsKeyId);
    if (encryptionByDefault && !keyDrift) return { compliant: true };
    const keyWords = wantedKey ? `the configured key ${wantedKey}` : 'the AWS-managed key aws/ebs';
    return {
      compliant: false,
      reason: encryptionByDefault
        ? `EBS encryption by default uses ${kmsKeyId ?? 'an unknown key'} instead of ${keyWords} in ${resource.region}`
        : `EBS encryption by default is off in ${resource.region}: new volumes can be created unencrypted`,
      evidence: {
        encryptionByDefault,
        defaultKmsKeyId: kmsKeyId ?? null,
        configuredKmsKeyId: wantedKey ?? null,
      },
      plan: `Enable EBS encryption by default in ${resource.region} with ${keyWords}`,
    };
  },

  async remediate(resource, _finding, { aws, settings, step }) {
    const ec2 = aws.ec2(resource.region);
    const wantedKey = mine(settings).kmsKeyId;
    if (wantedKey && !sameKey(wantedKey, resource.state.kmsKeyId)) {
      const previousKey = resource.state.kmsKeyId;
      await step(
        'ModifyEbsDefaultKmsKeyId',
        () => ec2.send(new ModifyEbsDefaultKmsKeyIdCommand({ KmsKeyId: wantedKey })),
        {
          undo: previousKey
            ? {
                service: 'ec2',
                action: 'ModifyEbsDefaultKmsKeyId',
                input: { KmsKeyId: previousKey, Region: resource.region },
              }
            : { service: 'ec2', action: 'ResetEbsDefaultKmsKeyId', input: { Region: resource.region } },
        },
      );
    }
    if (!resource.state.encryptionByDefault) {
      await step(
        'EnableEbsEncryptionByDefault',
        () => ec2.send(new EnableEbsEncryptionByDefaultCommand({})),
        {
          undo: {
            service: 'ec2',
            action: 'DisableEbsEncryptionByDefault',
            input: { Region: resource.region },
          },
          output: (result) => ({ encryptionByDefault: result.EbsEncryptionByDefault ?? null }),
        },
      );
    }
  },
});
