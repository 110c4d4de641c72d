import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  CreateVolumeCommand,
  DisableEbsEncryptionByDefaultCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { assertLoopbackEndpoint } from './moto';

/** What the demo's drift consists of, by id, so a test can look for exactly these. */
export interface SeededDrift {
  /** Regions where EBS encryption by default was turned off. */
  encryptionOffRegions: string[];
  /** The unencrypted volume, in us-east-1. */
  volumeId: string;
  /** The security group with SSH open to 0.0.0.0/0, in us-east-1. */
  groupId: string;
}

/**
 * The demo's drift, seeded into the local account AWS_ENDPOINT_URL names (loopback only): someone
 * turns EBS encryption by default off in two regions, creates an unencrypted volume and opens SSH
 * to the world. Used by `npm run demo` and by the tests of `scan`, so both see the same drift.
 */
export async function seedDemoDrift(): Promise<SeededDrift> {
  assertLoopbackEndpoint();
  const encryptionOffRegions = ['us-east-1', 'us-west-2'];
  for (const region of encryptionOffRegions) {
    await new EC2Client({ region }).send(new DisableEbsEncryptionByDefaultCommand({}));
  }
  const ec2 = new EC2Client({ region: 'us-east-1' });
  const volume = await ec2.send(
    new CreateVolumeCommand({
      AvailabilityZone: 'us-east-1a',
      Size: 100,
      VolumeType: 'gp3',
      TagSpecifications: [{ ResourceType: 'volume', Tags: [{ Key: 'app', Value: 'claims-db' }] }],
    }),
  );
  const group = await ec2.send(
    new CreateSecurityGroupCommand({ GroupName: 'bastion', Description: 'bastion hosts' }),
  );
  const groupId = group.GroupId ?? '';
  await ec2.send(
    new AuthorizeSecurityGroupIngressCommand({
      GroupId: groupId,
      IpPermissions: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
    }),
  );
  return { encryptionOffRegions, volumeId: volume.VolumeId ?? '', groupId };
}
