import { CreateVolumeCommand, DescribeVolumesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { cloudTrailEvent, humanCaller } from '../../../scripts/lib/events';
import { sentinelTags } from '../bounds';
import { ACCOUNT, REGION, type Scenario, sweep } from '../scenario';

const ec2 = () => new EC2Client({ region: REGION });

export const scenario: Scenario = {
  family: 'storage-tenancy',
  async seed() {
    const created = await ec2().send(
      new CreateVolumeCommand({
        AvailabilityZone: 'us-east-1b',
        Size: 20,
        VolumeType: 'gp3',
        TagSpecifications: [{ ResourceType: 'volume', Tags: sentinelTags }],
      }),
    );
    const volumeId = String(created.VolumeId);
    const volumes = async () => (await ec2().send(new DescribeVolumesCommand({}))).Volumes ?? [];
    return {
      event: cloudTrailEvent({
        eventName: 'CreateVolume',
        eventSource: 'ec2.amazonaws.com',
        region: REGION,
        caller: humanCaller(ACCOUNT),
        requestParameters: { availabilityZone: 'us-east-1b', size: 20, volumeType: 'gp3' },
        responseElements: { volumeId, encrypted: false, availabilityZone: 'us-east-1b', size: '20' },
      }),
      sweep: sweep(),
      // Compliant: the unencrypted original is quarantined and an encrypted copy exists.
      compliant: async () => {
        const all = await volumes();
        const original = all.find((volume) => volume.VolumeId === volumeId);
        const quarantined = original?.Tags?.some((tag) => tag.Key === 'compliance-responder:quarantined');
        return quarantined === true && all.some((volume) => volume.Encrypted);
      },
      // No data lost: the original is kept until a human deletes it.
      kept: async () => (await volumes()).some((volume) => volume.VolumeId === volumeId),
    };
  },
};
