import type { AwsClients } from '../aws/clients';
import { IAM_REGION } from '../aws/regions';
import type { Settings } from '../config';
import type { Loaded, PassedOver, Rule } from '../rules/rule';

/** The scope of a listing of resources that belong to no region (IAM). */
export const GLOBAL_SCOPE = 'global';

/** One read of a rule's resources: a region's, or the global ones. */
export interface Listing {
  /** A region, or GLOBAL_SCOPE. */
  readonly scope: string;
  /** The region whose endpoint the listing reads (IAM's is us-east-1). */
  readonly region: string;
  readonly resources: () => AsyncIterable<Loaded<unknown>>;
  /** The listing resumed after a resource, passing over the ones before it (Rule.listGlobalAfter). */
  readonly resourcesAfter?: (after: string) => AsyncIterable<Loaded<unknown> | PassedOver>;
}

/**
 * What covering `regions` with a rule reads: one listing per region, or only the home region for a
 * rule that watches the stack itself; plus, when `global`, the rule's regionless resources once.
 * The sweep, `scan` and `ssh lockdown` all list through here.
 */
export function listingsOf(
  rule: Rule,
  regions: readonly string[],
  context: { accountId: string; aws: AwsClients; settings: Settings },
  options: { global: boolean },
): Listing[] {
  const { accountId, aws, settings } = context;
  const regional = rule.triggers.sweepScope === 'home-region' ? [settings.homeRegion] : regions;
  const listings: Listing[] = regional.map((region) => ({
    scope: region,
    region,
    resources: () => rule.list({ accountId, region }, aws, settings),
  }));
  const { listGlobal, listGlobalAfter } = rule;
  if (options.global && listGlobal && rule.triggers.sweepScope !== 'home-region')
    listings.push({
      scope: GLOBAL_SCOPE,
      region: IAM_REGION,
      resources: () => listGlobal.call(rule, accountId, aws, settings),
      ...(listGlobalAfter && {
        resourcesAfter: (after: string) => listGlobalAfter.call(rule, accountId, aws, settings, after),
      }),
    });
  return listings;
}
