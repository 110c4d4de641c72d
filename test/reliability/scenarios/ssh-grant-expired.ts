import { IAMClient, TagUserCommand } from '@aws-sdk/client-iam';
import { keyStatuses, uploadKeyCall, userWithKey } from '../../support/ssh';
import { sentinelTags } from '../bounds';
import { REGION, type Scenario, sweep } from '../scenario';

export const scenario: Scenario = {
  family: 'access-audit',
  async seed() {
    // An Active SSH key uploaded without any grant in the ledger.
    const keyId = await userWithKey('dev-carol', 'Active');
    await new IAMClient({ region: REGION }).send(
      new TagUserCommand({ UserName: 'dev-carol', Tags: sentinelTags }),
    );
    return {
      event: uploadKeyCall('dev-carol', keyId),
      sweep: sweep(),
      compliant: async () => (await keyStatuses('dev-carol')).every((status) => status === 'Inactive'),
      // Deactivated, never deleted.
      kept: async () => (await keyStatuses('dev-carol')).length === 1,
    };
  },
};
