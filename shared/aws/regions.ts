/**
 * Region names and the sweep's setting, without a client: settings parse them in every function. What
 * asks EC2 which regions are enabled is ./enabled-regions.ts.
 */

/**
 * Which regions a sweep covers. CloudTrail events reach EventBridge only in the region of the call,
 * so a region without a forwarder is seen by the sweep alone: by default it covers every region
 * the account has enabled.
 */
export type SweepRegions =
  /** Every enabled region (DescribeRegions), the home + forwarder layout. */
  | { kind: 'all-enabled' }
  /** Only the region the schedule fired in: one full stack per region. */
  | { kind: 'own-region' }
  /** Exactly these regions (e.g. the ones a region-deny SCP leaves open). */
  | { kind: 'list'; regions: readonly string[] };

/** IAM is global: its API and its CloudTrail events live in us-east-1. */
export const IAM_REGION = 'us-east-1';

const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

/** `all-enabled` | `own-region` | `eu-west-1,us-east-1`; throws naming what is wrong. */
export function parseSweepRegions(value: string): SweepRegions {
  const text = value.trim();
  if (text === '' || text === 'all-enabled') return { kind: 'all-enabled' };
  if (text === 'own-region') return { kind: 'own-region' };
  const regions = text.split(',').map((region) => region.trim());
  const bad = regions.find((region) => !REGION.test(region));
  if (bad !== undefined) throw new Error(`expected all-enabled, own-region or region names, not "${bad}"`);
  return { kind: 'list', regions: [...new Set(regions)] };
}

/** aws, aws-cn or aws-us-gov: a region of another partition is never reachable with these credentials. */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}
