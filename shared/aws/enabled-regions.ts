import { DescribeRegionsCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { partitionOf, type SweepRegions } from './regions';

/**
 * The regions this account may use, in the partition of `homeRegion`. Asks for all regions and
 * keeps those whose opt-in status allows use, so an opt-in region the account never enabled is
 * skipped (its API calls would fail) and a newly enabled one is picked up without a redeploy.
 */
export async function enabledRegions(ec2: EC2Client, homeRegion: string): Promise<string[]> {
  const { Regions = [] } = await ec2.send(new DescribeRegionsCommand({ AllRegions: true }));
  const partition = partitionOf(homeRegion);
  return Regions.filter((region) => region.OptInStatus !== 'not-opted-in')
    .map((region) => region.RegionName)
    .filter((name): name is string => Boolean(name) && partitionOf(name as string) === partition)
    .sort();
}

/** The regions one scheduled sweep covers, with `eventRegion` the region the schedule fired in. */
export async function regionsToSweep(
  setting: SweepRegions,
  eventRegion: string,
  ec2: (region: string) => EC2Client,
): Promise<string[]> {
  switch (setting.kind) {
    case 'own-region':
      return [eventRegion];
    case 'list':
      return [...setting.regions];
    default:
      return enabledRegions(ec2(eventRegion), eventRegion);
  }
}
