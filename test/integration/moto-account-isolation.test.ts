import { CreateVolumeCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { accountContents } from '../support/clean-account';

// A second file on the same worker: whichever of the two runs first, the other must still start clean.
describe('a test file that leaves resources behind', () => {
  it('starts clean and then leaves a topic and a volume in its account', async () => {
    // Assess: nothing left by earlier files
    expect(await accountContents()).toEqual({ tables: [], topics: [], keys: [], volumes: [] });
    // Act: leave residue on purpose
    await new SNSClient({}).send(new CreateTopicCommand({ Name: 'residue' }));
    await new EC2Client({}).send(new CreateVolumeCommand({ AvailabilityZone: 'us-east-1a', Size: 1 }));
    // Assess
    const contents = await accountContents();
    expect(contents.topics).toHaveLength(1);
    expect(contents.volumes).toHaveLength(1);
  });
});
