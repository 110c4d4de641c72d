import {
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { settleWithConcurrency } from '../concurrency';
import { errorMessage, ValidationError } from '../errors';
import { Metric } from '../metrics';
import { TriggerSource } from '../model';
import type { Loaded } from '../rules/rule';
import { SCHEDULED_DETAIL_TYPE } from '../triggers/schedule';
import { MAX_UNIT_PAGE, type SweepUnit } from '../triggers/sweep-unit';
import type { SweepRequest } from '../triggers/types';
import { contextIn, refusal } from './accounts';
import type { PipelineContext } from './context';
import { listingsOf } from './listings';
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

/**
 * A scheduled sweep as units: the scheduled invocation only plans (one unit per region, and one for
 * the rule's regionless resources), and each unit, delivered by the rule's own SQS queue, judges a
 * bounded number of resources and hands the rest of its listing on as the next unit. No invocation
 * walks a whole account, so none needs more than a fraction of the function's timeout.
 */

/**
 * How often SQS delivers a unit before it moves it to the dead-letter queue (the queue's
 * maxReceiveCount: scripts/lib/deployment.ts). On the last delivery a unit hands its listing on
 * even though some resources failed, so one broken resource never stops the rest of a region.
 */
export const SWEEP_MAX_RECEIVES = 3;

/** SendMessageBatch takes at most ten messages. */
const BATCH = 10;

/** What a rule's queue name adds to the stack's: `<stack>-<rule id>-sweep` (one queue per rule). */
export const sweepQueueTail = (ruleId: string): string => `${ruleId}-sweep`;
export const sweepQueueName = (stackName: string, ruleId: string): string =>
  `${stackName}-${sweepQueueTail(ruleId)}`;

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
  // This account's units name none; an organisation deployment's members each get theirs.
  const members = (await accounts?.activeMembers()) ?? [];
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
 * (or account) this rule's sweep does not cover; then lists from the unit's cursor, judges at most
 * `sweepUnits.resources` resources and hands the rest on. Re-delivery re-sweeps the same page: the
 * pipeline's delivery markers and drift locks make that idempotent.
 */
export async function sweepUnit(
  ctx: PipelineContext,
  unit: SweepUnit,
  origin: UnitOrigin,
  queue: UnitQueue,
  judge: JudgeSwept,
): Promise<ResourceOutcome[]> {
  const { settings, metrics, logger } = ctx.deps;
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

  const start = Number(unit.cursor ?? '0');
  const limit = settings.sweepUnits.resources;
  const resources: Loaded<unknown>[] = [];
  // What the listing showed up to here, earlier units' pages included (the held drift it misses).
  const listed: Loaded<unknown>[] = [];
  let more = false;
  let position = 0;
  // A failed or throttled read throws here: the unit fails and is delivered again.
  for await (const resource of listing.resources()) {
    if (position++ < start) {
      listed.push(resource);
      continue;
    }
    if (resources.length === limit) {
      more = true;
      break;
    }
    resources.push(resource);
  }
  const locks = await driftLocks(ctx);
  // The region's last page also re-reads the rule's held drift the whole listing did not show.
  if (!more && rule.rejudgesHeldDrift)
    resources.push(
      ...(await unlistedHeldDrift(where, listing, request, [...listed, ...resources], locks.held)),
    );
  metrics.count(Metric.ResourcesSwept, resources.length);
  const settled = await settleWithConcurrency(resources, SWEEP_CONCURRENCY, (resource) =>
    judge(resource, request, locks.arns.has(resource.arn)),
  );
  const outcomes: ResourceOutcome[] = [];
  const failures: SweepFailure[] = [];
  settled.forEach((result, index) => {
    if (result.status === 'fulfilled') {
      outcomes.push(result.value);
      return;
    }
    const resourceId = resources[index]?.resourceId;
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
  // Hand on once per page: after a clean page, or on the last delivery whatever failed.
  const handOn = more && (failures.length === 0 || origin.receiveCount >= SWEEP_MAX_RECEIVES);
  if (handOn && unit.attempt < MAX_UNIT_PAGE) {
    await queue.send([{ ...unit, cursor: String(start + resources.length), attempt: unit.attempt + 1 }]);
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
    judged: resources.length,
    drift: outcomes.filter((outcome) => outcome.incidentId !== undefined).length,
    failed: failures.length,
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
