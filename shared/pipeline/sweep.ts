import { regionsToSweep } from '../aws/enabled-regions';
import { IAM_REGION } from '../aws/regions';
import { mapWithConcurrency, settleWithConcurrency } from '../concurrency';
import { errorMessage, ResponderError } from '../errors';
import { Metric } from '../metrics';
import { TriggerSource } from '../model';
import type { Loaded } from '../rules/rule';
import { narrowedScope } from '../rules/scope';
import type { SweepRequest } from '../triggers/types';
import type { PipelineContext } from './context';
import { type Listing, listingsOf } from './listings';
import type { ResourceOutcome } from './outcomes';
import { recover } from './recover';

/** How many resources of a sweep are worked on at once: bounded so throttling stays rare. */
export const SWEEP_CONCURRENCY = 4;
/** How many regions one sweep reads at once (each with SWEEP_CONCURRENCY resources in flight). */
const REGION_CONCURRENCY = 3;

/**
 * Some regions of a sweep could not be read, or some resources or pending alerts failed; the rest
 * was swept. The invocation fails, so it pages.
 */
export class SweepError extends ResponderError {
  override name = 'SweepError';
}

/** What of a sweep failed: a region's listing, one resource, or a pending alert (named by its incident). */
export interface SweepFailure {
  scope: string;
  error: unknown;
}

/**
 * Judges one swept resource (the pipeline's detect → respond), under the sweep's delivery id.
 * `locked` says whether the rule's drift locks, read once for the listing, hold one for it.
 */
export type JudgeSwept = (
  resource: Loaded<unknown>,
  request: SweepRequest,
  locked: boolean,
) => Promise<ResourceOutcome>;

/**
 * The ARNs the rule holds a drift lock for: one consistent Query of its lock partition per listing,
 * read after the listing, instead of a GetItem per compliant resource. A lock taken after this read
 * belongs to drift newer than the listing, which its own delivery answers for.
 */
export async function driftLocks(
  ctx: PipelineContext,
): Promise<{ held: { resourceArn: string; incidentId: string }[]; arns: ReadonlySet<string> }> {
  const held = await ctx.deps.store.heldDrifts(ctx.rule.id);
  return { held, arns: new Set(held.map((lock) => lock.resourceArn)) };
}

/**
 * A scheduled sweep covers every region `sweepRegions` names (by default every enabled region, so
 * a region without a forwarder is still swept), and IAM once, then re-sends the rule's alerts left
 * pending. A listing, a resource or an alert that fails does not stop the others; once all work
 * has settled, the sweep fails naming them, so the function's error alarm pages.
 */
export async function sweep(
  ctx: PipelineContext,
  request: SweepRequest,
  judge: JudgeSwept,
): Promise<ResourceOutcome[]> {
  const { aws, settings, metrics, logger } = ctx.deps;
  // A Config periodic evaluation answers for its own region (IAM's where Config records it).
  const global = request.source === TriggerSource.Schedule || request.region === IAM_REGION;
  const listings = listingsOf(
    ctx.rule,
    await sweepRegions(ctx, request),
    { accountId: request.accountId, aws, settings },
    { global },
  );
  const failures: SweepFailure[] = [];
  const perListing = await mapWithConcurrency(listings, REGION_CONCURRENCY, async (listing) => {
    try {
      return await sweepListing(ctx, listing, request, judge, failures);
    } catch (error) {
      failures.push({ scope: listing.scope, error });
      metrics.count(Metric.SweepRegionFailed);
      logger.error('sweep of a region failed', {
        ruleId: ctx.rule.id,
        region: listing.scope,
        error: errorMessage(error),
      });
      return [];
    }
  });
  const outcomes = perListing.flat();
  reportOutOfScope(ctx, outcomes);
  await resumePendingAlerts(ctx, failures);
  const [first] = failures;
  if (first && listings.length === 1 && failures.length === 1 && first.scope === listings[0]?.scope)
    throw first.error;
  if (first) {
    const names = failures.map((failure) => failure.scope).sort();
    // The first failure's own words, so a throttle or an access denial reads as what it is.
    throw new SweepError(
      `sweep failed in ${names.join(', ')} (the rest was swept): ${errorMessage(first.error)}`,
      {
        cause: first.error,
      },
    );
  }
  return outcomes;
}

/**
 * A narrowed scope is never silent: every sweep says how many resources it listed and left out of
 * scope (zero too), as a metric and a log line naming the scope's key, never its value.
 */
export function reportOutOfScope(ctx: PipelineContext, outcomes: readonly ResourceOutcome[]): void {
  const narrowed = narrowedScope(ctx.rule, ctx.deps.settings);
  if (!narrowed) return;
  const outOfScope = outcomes.filter((outcome) => outcome.outOfScope).length;
  ctx.deps.metrics.count(Metric.ResourcesOutOfScope, outOfScope);
  ctx.deps.logger.info('sweep left resources out of scope (not judged)', {
    ruleId: ctx.rule.id,
    setting: narrowed.setting,
    scope: narrowed.scope,
    outOfScope,
    judged: outcomes.length - outOfScope,
  });
}

export async function sweepRegions(ctx: PipelineContext, request: SweepRequest): Promise<readonly string[]> {
  const { settings, aws } = ctx.deps;
  // A Config periodic evaluation answers for its own region only; the stack lives in its home region.
  if (request.source !== TriggerSource.Schedule || ctx.rule.triggers.sweepScope === 'home-region')
    return [request.region];
  return regionsToSweep(settings.sweepRegions, request.region, (region) => aws.ec2(region));
}

/** Judges every resource of a listing; one that fails is recorded in `failures`, the others finish. */
async function sweepListing(
  ctx: PipelineContext,
  listing: Listing,
  request: SweepRequest,
  judge: JudgeSwept,
  failures: SweepFailure[],
): Promise<ResourceOutcome[]> {
  const resources: Loaded<unknown>[] = [];
  // A failed or throttled read throws here: a sweep never reports "no resources, all compliant".
  for await (const resource of listing.resources()) resources.push(resource);
  const locks = await driftLocks(ctx);
  if (ctx.rule.rejudgesHeldDrift)
    resources.push(...(await unlistedHeldDrift(ctx, listing, request, resources, locks.held)));
  ctx.deps.metrics.count(Metric.ResourcesSwept, resources.length);
  const settled = await settleWithConcurrency(resources, SWEEP_CONCURRENCY, (resource) =>
    judge(resource, request, locks.arns.has(resource.arn)),
  );
  const outcomes: ResourceOutcome[] = [];
  settled.forEach((result, index) => {
    if (result.status === 'fulfilled') {
      outcomes.push(result.value);
      return;
    }
    const resourceId = resources[index]?.resourceId;
    failures.push({ scope: `${listing.scope}/${resourceId}`, error: result.reason });
    ctx.deps.metrics.count(Metric.SweepResourceFailed);
    ctx.deps.logger.error('sweep of a resource failed', {
      ruleId: ctx.rule.id,
      region: listing.scope,
      resourceId,
      error: errorMessage(result.reason),
    });
  });
  return outcomes;
}

/**
 * The resources of the rule's incidents that hold a drift lock in this listing's region and account
 * and that the listing did not show (Rule.rejudgesHeldDrift), read again: a deleted image still
 * run by a task, or one that nothing runs any more. One whose read finds nothing is left alone.
 */
export async function unlistedHeldDrift(
  ctx: PipelineContext,
  listing: Listing,
  request: SweepRequest,
  listed: readonly { arn: string }[],
  held: readonly { resourceArn: string; incidentId: string }[],
): Promise<Loaded<unknown>[]> {
  const { store, aws, settings } = ctx.deps;
  const seen = new Set(listed.map((resource) => resource.arn));
  // An ARN names its region and account (arn:<partition>:<service>:<region>:<account>:…): other
  // regions' and accounts' are theirs to read (the incident is checked below all the same).
  const unlisted = held.filter((held) => {
    const [, , , region, account] = held.resourceArn.split(':');
    return !seen.has(held.resourceArn) && region === listing.region && account === request.accountId;
  });
  const reads = await mapWithConcurrency(unlisted, SWEEP_CONCURRENCY, async ({ incidentId }) => {
    const incident = await store.get(incidentId);
    if (!incident || incident.region !== listing.region || incident.account !== request.accountId) return [];
    const ref = {
      resourceType: incident.resourceType,
      resourceId: incident.resourceId,
      region: incident.region,
      accountId: incident.account,
    };
    const resource = await ctx.rule.load(ref, aws, settings);
    return resource ? [resource] : [];
  });
  return reads.flat();
}

/**
 * Re-sends the rule's alerts that a failed Publish or a crash left pending, found in the table: the
 * incident of a resource no listing shows any more (a deleted trail) pages too. recover sends only
 * those idle past the stale window, once under concurrent sweeps.
 */
export async function resumePendingAlerts(ctx: PipelineContext, failures: SweepFailure[]): Promise<void> {
  const { store, logger } = ctx.deps;
  let pending: string[];
  try {
    pending = await store.pendingAlerts(ctx.rule.id);
  } catch (error) {
    failures.push({ scope: 'pending alerts', error });
    return;
  }
  const settled = await settleWithConcurrency(pending, SWEEP_CONCURRENCY, async (incidentId) => {
    const incident = await store.get(incidentId);
    if (incident) await recover(ctx, incident);
  });
  settled.forEach((result, index) => {
    if (result.status === 'fulfilled') return;
    failures.push({ scope: `alert of ${pending[index]}`, error: result.reason });
    logger.error('a pending alert could not be sent', {
      ruleId: ctx.rule.id,
      incidentId: pending[index],
      error: errorMessage(result.reason),
    });
  });
}
