import { described, instanceCall, launch } from '../../support/phi-dedicated-tenancy';
import { SENTINEL, sentinelTags } from '../bounds';
import { type Scenario, sweep } from '../scenario';

export const scenario: Scenario = {
  family: 'storage-tenancy',
  // notify is the default; stop is the enforce action that changes something in moto (it cannot move tenancy).
  env: { MODE_PHI_DEDICATED_TENANCY: 'enforce', TENANCY_ACTION: 'stop' },
  async seed() {
    const instanceId = await launch({
      phi: 'true',
      Name: `${SENTINEL} records of jane doe`,
      ...Object.fromEntries(sentinelTags.map((tag) => [tag.Key, tag.Value])),
    });
    const state = async () => (await described(instanceId)).State?.Name;
    return {
      event: instanceCall('RunInstances', instanceId),
      sweep: sweep(),
      compliant: async () => ['stopping', 'stopped'].includes(String(await state())),
      // Stopped, never terminated: its disks and data are kept.
      kept: async () => !['shutting-down', 'terminated'].includes(String(await state())),
    };
  },
};
