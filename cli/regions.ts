import { UsageError } from './errors';

/**
 * AWS regions by code (commercial, GovCloud, China) as of this version: a name outside the list is
 * refused with the nearest one, since a typo would otherwise fail later as an unreachable endpoint.
 */
export const KNOWN_REGIONS = [
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'ca-central-1',
  'ca-west-1',
  'mx-central-1',
  'sa-east-1',
  'eu-central-1',
  'eu-central-2',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'eu-south-1',
  'eu-south-2',
  'eu-north-1',
  'il-central-1',
  'me-south-1',
  'me-central-1',
  'af-south-1',
  'ap-east-1',
  'ap-east-2',
  'ap-south-1',
  'ap-south-2',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-southeast-3',
  'ap-southeast-4',
  'ap-southeast-5',
  'ap-southeast-6',
  'ap-southeast-7',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'us-gov-west-1',
  'us-gov-east-1',
  'cn-north-1',
  'cn-northwest-1',
] as const;

/** Edit distance: the fewest one-character changes from a to b. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** The candidate nearest `name`, or undefined when none is within `within` edits. */
export function nearestOf(
  name: string,
  candidates: readonly string[],
  within = Number.POSITIVE_INFINITY,
): string | undefined {
  const lower = name.toLowerCase();
  const nearest = [...candidates].sort((a, b) => distance(lower, a) - distance(lower, b))[0];
  return nearest !== undefined && distance(lower, nearest) <= within ? nearest : undefined;
}

export function nearestRegion(name: string): string {
  return nearestOf(name, KNOWN_REGIONS) ?? 'us-east-1';
}

/** Refuses a region that AWS does not have, naming the nearest valid one. */
export function checkRegion(region: string, option = '--region'): string {
  if ((KNOWN_REGIONS as readonly string[]).includes(region)) return region;
  throw new UsageError(
    `unknown region '${region}' (${option}): did you mean ${nearestRegion(region)}? (aws ec2 describe-regions lists yours)`,
  );
}
