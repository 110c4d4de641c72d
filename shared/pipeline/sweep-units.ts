import {
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { settleWhile } from '../concurrency';
import { errorMessage, ValidationError } from '../errors';
import { Metric } from '../metrics';
import { TriggerSource } from '../model';
import { isPassedOver, type Loaded, type PassedOver } from '../rules/rule';
import { SCHEDULED_DETAIL_TYPE } from '../triggers/schedule';
import { MAX_UNIT_PAGE, type SweepUnit } from '../triggers/sweep-unit';
import type { SweepRequest } from '../triggers/types';
import { contextIn, refusal } from './accounts';
import type { PipelineContext } from './context';
import { type Listing, listingsOf } from './listings';
import type { ResourceOutcome } from './outcomes';
import {
  driftLocks,
  type JudgeSwept,
  reportOutOfScope,
  resumePendingAlerts,
  SWEEP_CONCURRENCY,
  SweepError,
  type SweepFailure,
  sweepRegions,
  unlistedHeldDrift,
} from './sweep';
import { sweepQueueName } from './sweep-names';

/**
 * A scheduled sweep as units: the scheduled invocation only plans (one unit per region, and one for
 * the rule's regionless resources), and each unit, delivered by the rule's own SQS queue, judges a
 * bounded number of resources, for a bounded share of its invocation's time, and hands the rest of
 * its listing on as the next unit. No invocation walks a whole account or remediates without end,
 * so none needs more than a fraction of the function's timeout.
 */

/**
 * A unit's share of its invocation: it starts no new resource once less than half of the time it
 * began with is left (one unit per invocation, so half the timeout), and hands the rest on. The
 * other half is the reserve for what is in flight when it stops, which always finishes: up to
 * SWEEP_CONCURRENCY remediations, each through its recorded steps (an EC2 wait ends before the
 * invocation does: shared/aws/instance-power.ts), then the continuation's send. A count of
 * resources alone does not bound a unit: one full of drift remediates every resource it judges.
 * Not a parameter: a smaller share only makes more units, a larger one eats the reserve.
 */
export const UNIT_TIME_SHARE = 0.5;

/**
 * How often SQS delivers a unit before it moves it to the dead-letter queue (the queue's
 * maxReceiveCount: scripts/lib/deployment.ts). On the last delivery a unit hands its listing on
 * even though some resources failed, so one broken resource never stops the rest of a region.
 * Five, as AWS advises for a queue Lambda consumes: a receive Lambda throttles (the rule's reserved
 * concurrency busy with live events) counts as a delivery too.
 */
export const SWEEP_MAX_RECEIVES = 5;

/** SendMessageBatch takes at most ten messages. */
const BATCH = 10;

/** Where a sweep's units go. */
export interface UnitQueue {
  send(units: readonly SweepUnit[]): Promise<void>;
}

/** The rule's own queue; a unit SQS did not take fails the send (the invocation retries). */
export class SqsUnitQueue implements UnitQueue {
  constructor(
    private readonly sqs: SQSClient,
    readonly queueUrl: string,
  ) {}

  async send(units: readonly SweepUnit[]): Promise<void> {
    for (let start = 0; start < units.length; start += BATCH) {
      const entries: SendMessageBatchRequestEntry[] = units
        .slice(start, start + BATCH)
        .map((unit, index) => ({
          Id: String(index),
          MessageBody: JSON.stringify(unit),
        }));
      const sent = await this.sqs.send(
        new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: entries }),
      );
      const failed = sent.Failed ?? [];
      if (failed.length > 0) {
        const regions = failed.map((entry) => units[start + Number(entry.Id)]?.region).join(', ');
        throw new SweepError(`the sweep queue refused units of ${regions}: ${failed[0]?.Code ?? 'unknown'}`);
      }
    }
  }
}

/**
 * The scheduled invocation's part: one unit per listing the sweep covers, then the rule's alerts
 * left pending (recover). Nothing is judged here.
 */
export async function planSweep(
  ctx: PipelineContext,
  request: SweepRequest,
  queue: UnitQueue,
): Promise<ResourceOutcome[]> {
  const { aws, settings, logger, accounts } = ctx.deps;
  const listings = listingsOf(
    ctx.rule,
    await sweepRegions(ctx, request),
    { accountId: request.accountId, aws, settings },
    { global: true },
  );
  // This account's units name none; an organisation deployment's members each get theirs, but for a
  // rule that watches only the home stack, whose role may not list the organisation.
  const members = (ctx.rule.homeStackOnly === undefined && (await accounts?.activeMembers())) || [];
  const units: SweepUnit[] = [undefined, ...members].flatMap((account) =>
    listings.map((listing) => ({
      ruleId: ctx.rule.id,
      region: listing.scope,
      ...(account && { account }),
      sweepId: request.eventId,
      observedAt: request.observedAt,
      attempt: 1,
    })),
  );
  await queue.send(units);
  logger.info('sweep planned', {
    ruleId: ctx.rule.id,
    sweepId: request.eventId,
    units: units.length,
    regions: listings.map((listing) => listing.scope),
    memberAccounts: members.length,
  });
  const failures: SweepFailure[] = [];
  await resumePendingAlerts(ctx, failures);
  const [first] = failures;
  if (first)
    throw new SweepError(`sweep planned; pending alerts failed: ${errorMessage(first.error)}`, {
      cause: first.error,
    });
  return [];
}

/** Where a unit came from: the queue's account and region, and how often SQS delivered it. */
export interface UnitOrigin {
  accountId: string;
  region: string;
  queueName: string;
  receiveCount: number;
}

const refuse = (field: string, problem: string): ValidationError =>
  new ValidationError(`${field}: ${problem}`, field);

/**
 * One unit: refuses a unit that is not this rule's, not from its own queue, or names a region
 * (or account) this rule's sweep does not cover; then lists from the unit's place, judges at most
 * `sweepUnits.resources` resources, starting none once its share of the invocation's time is used
 * (UNIT_TIME_SHARE), and hands what it did not judge on as the next unit, which resumes right after
 * the last resource judged. Re-delivery re-sweeps the same page: the pipeline's delivery markers
 * and drift locks make that idempotent.
 */
export async function sweepUnit(
  ctx: PipelineContext,
  unit: SweepUnit,
  origin: UnitOrigin,
  queue: UnitQueue,
  judge: JudgeSwept,
): Promise<ResourceOutcome[]> {
  const { settings, metrics, logger, remainingMs } = ctx.deps;
  // Measured first: the listing's own time counts against the unit's share.
  const mayStart = remainingMs ? startsWhile(remainingMs) : () => true;
  const { rule } = ctx;
  if (unit.ruleId !== rule.id)
    throw refuse('ruleId', `a unit of ${unit.ruleId} is not this function's (${rule.id})`);
  if (origin.queueName !== sweepQueueName(settings.stackName, rule.id))
    throw refuse('eventSourceARN', `units of ${rule.id} come only from its own queue`);
  const account = unit.account ?? origin.accountId;
  if (account !== origin.accountId) {
    // Another account only in an organisation deployment, and only an ACTIVE member of it.
    const refused = ctx.deps.accounts
      ? await refusal(ctx, account)
      : 'a unit sweeps only its queue’s own account';
    if (refused) throw refuse('account', refused);
  }
  // The account's clients and guard: the function's own, or the rule's member role's there.
  const where = await contextIn(ctx, account);
  const { aws } = where.deps;
  const request: SweepRequest = {
    source: TriggerSource.Schedule,
    eventId: unit.sweepId,
    eventName: SCHEDULED_DETAIL_TYPE,
    accountId: account,
    region: origin.region,
    observedAt: unit.observedAt,
  };
  // The regions come from the settings and AWS, as the planner read them; never from the unit.
  const listings = listingsOf(
    rule,
    await sweepRegions(ctx, { ...request, accountId: origin.accountId }),
    { accountId: account, aws, settings },
    { global: true },
  );
  const listing = listings.find((candidate) => candidate.scope === unit.region);
  if (!listing) throw refuse('region', `${unit.region} is not swept by ${rule.id}`);

  // A failed or throttled read throws here: the unit fails and is delivered again.
  const page = await readPage(listing, unit, settings.sweepUnits.resources);
  const locks = await driftLocks(ctx);
  // The region's last page also re-reads the rule's held drift the whole listing did not show.
  const held =
    !page.more && rule.rejudgesHeldDrift ? await heldDrift(where, listing, request, unit, page, locks) : [];
  const work = [...page.resources, ...held];
  const settled = await settleWhile(
    work,
    SWEEP_CONCURRENCY,
    (resource) => judge(resource, request, locks.arns.has(resource.arn)),
    mayStart,
  );
  metrics.count(Metric.ResourcesSwept, settled.length);
  const outcomes: ResourceOutcome[] = [];
  const failures: SweepFailure[] = [];
  settled.forEach((result, index) => {
    if (result.status === 'fulfilled') {
      outcomes.push(result.value);
      return;
    }
    const resourceId = work[index]?.resourceId;
    failures.push({ scope: `${listing.scope}/${resourceId}`, error: result.reason });
    metrics.count(Metric.SweepResourceFailed);
    logger.error('sweep of a resource failed', {
      ruleId: rule.id,
      region: listing.scope,
      resourceId,
      error: errorMessage(result.reason),
    });
  });
  reportOutOfScope(ctx, outcomes);
  const outOfTime = settled.length < work.length;
  const next = nextPlace(unit, page, work, settled.length);
  // Hand on once per unit: after a clean run, or on the last delivery whatever failed. A delivery
  // that fails hands nothing on, so only the one that ends the unit sends its continuation.
  const handOn = next !== undefined && (failures.length === 0 || origin.receiveCount >= SWEEP_MAX_RECEIVES);
  if (handOn && unit.attempt < MAX_UNIT_PAGE) {
    await queue.send([continuation(unit, next)]);
  } else if (handOn) {
    logger.error('sweep unit chain too long; the rest of the listing waits for the next sweep', {
      ruleId: rule.id,
      region: unit.region,
      attempt: unit.attempt,
    });
  }
  logger.info('sweep unit done', {
    ruleId: rule.id,
    sweepId: unit.sweepId,
    ...(unit.account && { account: unit.account }),
    region: unit.region,
    attempt: unit.attempt,
    receiveCount: origin.receiveCount,
    start: page.start,
    resumed: page.resumed,
    judged: settled.length,
    drift: outcomes.filter((outcome) => outcome.incidentId !== undefined).length,
    failed: failures.length,
    outOfTime,
    left: work.length - settled.length,
    continues: handOn,
  });
  const [first] = failures;
  if (first)
    throw new SweepError(
      `sweep unit ${unit.region} #${unit.attempt} failed for ${failures.length} resource(s): ${errorMessage(first.error)}`,
      { cause: first.error },
    );
  return outcomes;
}

/**
 * The rule's held drift the whole listing did not show (unlistedHeldDrift), in ARN order so that a
 * unit out of time can say where the next resumes, after the unit's `heldAfter`.
 */
async function heldDrift(
  ctx: PipelineContext,
  listing: Listing,
  request: SweepRequest,
  unit: SweepUnit,
  page: Page,
  locks: Awaited<ReturnType<typeof driftLocks>>,
): Promise<Loaded<unknown>[]> {
  const { heldAfter } = unit;
  const pending = (arn: string) => heldAfter === undefined || arn > heldAfter;
  const read = await unlistedHeldDrift(
    ctx,
    listing,
    request,
    [...page.before, ...page.resources],
    locks.held.filter((lock) => pending(lock.resourceArn)),
  );
  return read
    .filter((resource) => pending(resource.arn))
    .sort((a, b) => (a.arn < b.arn ? -1 : a.arn > b.arn ? 1 : 0));
}

/** Yes while more than the reserve (1 − UNIT_TIME_SHARE) of the time left now is still left. */
function startsWhile(remainingMs: () => number): () => boolean {
  const reserve = remainingMs() * (1 - UNIT_TIME_SHARE);
  // No deadline (no Lambda context): no share to keep.
  if (!Number.isFinite(reserve)) return () => true;
  return () => remainingMs() > reserve;
}

/** A unit's page as the listing reads now. */
interface Page {
  /** What the listing showed before the page (earlier units'): the held drift it misses is the rest. */
  before: readonly { arn: string }[];
  resources: Loaded<unknown>[];
  /** The listing position of the page's first resource. */
  start: number;
  /** The listing goes on after the page. */
  more: boolean;
  /**
   * How the unit found its place: right after its `after` resource, at its `cursor` (a unit with no
   * `after`: the first, or one from before `after` existed), at its `cursor` because the `after`
   * resource is gone from the listing, or past the listing's end (the held drift only).
   */
  resumed: 'after' | 'cursor' | 'cursor, after gone' | 'held drift';
}

/**
 * Reads the listing up to the unit's page and one resource past it (so it knows whether the listing
 * goes on); until the `after` resource shows, on to its end. A unit of held drift reads it whole. A
 * listing that can resume after a resource (Listing.resourcesAfter) passes over the ones before it
 * unread; when that resource is gone, the unit reads the listing whole, as any other.
 */
async function readPage(listing: Listing, unit: SweepUnit, limit: number): Promise<Page> {
  if (unit.heldAfter !== undefined) {
    const read: Loaded<unknown>[] = [];
    for await (const resource of listing.resources()) read.push(resource);
    return { before: read, resources: [], start: read.length, more: false, resumed: 'held drift' };
  }
  if (unit.after !== undefined && listing.resourcesAfter) {
    const page = await pageOf(listing.resourcesAfter(unit.after), unit, limit);
    if (page.resumed === 'after') return page;
  }
  return pageOf(listing.resources(), unit, limit);
}

async function pageOf(
  listed: AsyncIterable<Loaded<unknown> | PassedOver>,
  unit: SweepUnit,
  limit: number,
): Promise<Page> {
  const cursor = Number(unit.cursor ?? '0');
  const { after } = unit;
  const read: (Loaded<unknown> | PassedOver)[] = [];
  let anchor = -1;
  const begin = (): number | undefined =>
    after === undefined ? cursor : anchor >= 0 ? anchor + 1 : undefined;
  for await (const resource of listed) {
    if (anchor < 0 && after !== undefined && resource.arn === after) anchor = read.length;
    read.push(resource);
    const from = begin();
    if (from !== undefined && read.length > from + limit) break;
  }
  const start = Math.min(begin() ?? cursor, read.length);
  const resumed = after === undefined ? 'cursor' : anchor >= 0 ? 'after' : 'cursor, after gone';
  const page = read.slice(start, start + limit);
  // Passed over means before the place (when the place is gone the caller reads the listing whole):
  // one after it breaks the listing's word, and nothing of the page is judged.
  const passed = read.slice(start).find(isPassedOver);
  if (passed && resumed === 'after')
    throw new Error(`the listing passed over ${passed.arn}, after the unit's place ${after}: not judged`);
  return {
    before: read.slice(0, start),
    resources: page.filter((resource): resource is Loaded<unknown> => !isPassedOver(resource)),
    start,
    more: read.length > start + limit,
    resumed,
  };
}

/** Where the next unit resumes, if anything is left: `judged` of `work` (the page, then held drift) were. */
function nextPlace(
  unit: SweepUnit,
  page: Page,
  work: readonly Loaded<unknown>[],
  judged: number,
): Pick<SweepUnit, 'cursor' | 'after' | 'heldAfter'> | undefined {
  const last = work[judged - 1];
  const lastListed = page.resources.at(-1)?.arn ?? unit.after;
  const atEnd = {
    cursor: String(page.start + page.resources.length),
    ...(lastListed && { after: lastListed }),
  };
  if (judged < work.length && last) {
    // Out of time in the listing: right after the last resource judged; in the held drift: after its ARN.
    if (judged <= page.resources.length) return { cursor: String(page.start + judged), after: last.arn };
    return { ...atEnd, heldAfter: last.arn };
  }
  return page.more ? atEnd : undefined;
}

/** The next unit of the same chain, at `place`. */
function continuation(unit: SweepUnit, place: Pick<SweepUnit, 'cursor' | 'after' | 'heldAfter'>): SweepUnit {
  const { cursor: _cursor, after: _after, heldAfter: _heldAfter, ...chain } = unit;
  return { ...chain, ...place, attempt: unit.attempt + 1 };
}
