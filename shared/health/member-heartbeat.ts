import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand, paginateQuery } from '@aws-sdk/lib-dynamodb';
import { errorMessage } from '../errors';
import type { AccountAccess, MemberAccount } from '../organisation/accounts';
import * as z from '../zod';
import type { HealthProblem } from './heartbeat';

/**
 * The member stacks' heartbeat (docs/organisation.md). Every member stack, in every region, holds a
 * scheduled EventBridge rule whose target is the security account's default bus, through the same
 * role its forwarding rules use. What arrives there is EventBridge's own "Scheduled Event": source
 * `aws.events` (PutEvents refuses an `aws.` source, so no one can write one) naming the member's rule
 * in `resources`, `arn:<partition>:events:<region>:<member account>:rule/<stack>-forward-heartbeat`.
 * Only that account's own EventBridge can have sent it, and only through a forwarding path that works.
 * The member-heartbeat function records when each (account, region) was last heard; the scheduled
 * heartbeat pages for those silent too long.
 */

/** How often a member stack beats (its rule's schedule): see docs/organisation.md for the arithmetic. */
export const MEMBER_HEARTBEAT_MINUTES = 60;
export const MEMBER_HEARTBEAT_SCHEDULE = 'rate(1 hour)';
/** Periods without a beat before a region is silent: one or two lost deliveries never page. */
export const MEMBER_HEARTBEAT_STALE_PERIODS = 3;
export const MEMBER_HEARTBEAT_STALE_MS = MEMBER_HEARTBEAT_STALE_PERIODS * MEMBER_HEARTBEAT_MINUTES * 60_000;
/** A region not heard from this long disappears from the table (DynamoDB TTL), its account gone or not. */
export const MEMBER_HEARTBEAT_RETENTION_DAYS = 30;

/** The table partition of the last-seen items: only the member-heartbeat function writes it. */
export const MEMBER_HEARTBEAT_PK = 'HEARTBEAT#MEMBER';
export const memberHeartbeatSk = (accountId: string, region: string): string =>
  `ACCOUNT#${accountId}#REGION#${region}`;

/**
 * The member stack's heartbeat rule: `forward-` like its forwarding rules, so the dead-letter queue's
 * policy and the service control policies that keep those in place cover it too.
 */
export const memberHeartbeatRuleName = (stackName: string): string => `${stackName}-forward-heartbeat`;

const SCHEDULED_EVENT = 'Scheduled Event';
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

const eventSchema = z.object({
  id: z.string().check(z.minLength(1), z.maxLength(128)),
  source: z.string().check(z.maxLength(256)),
  'detail-type': z.string().check(z.maxLength(256)),
  account: z.string().check(z.regex(/^\d{12}$/)),
  region: z.string().check(z.regex(REGION)),
  time: z.iso.datetime(),
  resources: z.optional(z.array(z.string().check(z.maxLength(2048))).check(z.maxLength(10))),
});

/** A member stack's beat, as EventBridge delivered it. */
export interface MemberBeat {
  accountId: string;
  region: string;
  /** When EventBridge fired the member's rule (the event's `time`). */
  at: string;
  eventId: string;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The beat an event carries, or why it is none: anything but EventBridge's scheduled event of this
 * stack's member heartbeat rule, in the account and region the event itself names, is ignored.
 */
export function memberBeatOf(event: unknown, stackName: string): { beat: MemberBeat } | { ignored: string } {
  const parsed = eventSchema.safeParse(event);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ignored: `not an EventBridge event: ${issue?.path.join('.') || 'event'}: ${issue?.message}` };
  }
  const { data } = parsed;
  if (data.source !== 'aws.events') return { ignored: `source ${data.source} is not aws.events` };
  if (data['detail-type'] !== SCHEDULED_EVENT)
    return { ignored: `detail-type ${data['detail-type']} is not ${SCHEDULED_EVENT}` };
  const rule = new RegExp(
    `^arn:aws(-[a-z]+)*:events:${escapeRegExp(data.region)}:${data.account}:rule/${escapeRegExp(memberHeartbeatRuleName(stackName))}$`,
  );
  const resources = data.resources ?? [];
  if (resources.length !== 1 || !rule.test(resources[0] ?? ''))
    return {
      ignored: `resources ${JSON.stringify(resources)} do not name rule ${memberHeartbeatRuleName(stackName)} of account ${data.account} in ${data.region}`,
    };
  return { beat: { accountId: data.account, region: data.region, at: data.time, eventId: data.id } };
}

const itemSchema = z.object({
  pk: z.literal(MEMBER_HEARTBEAT_PK),
  account: z.string().check(z.regex(/^\d{12}$/)),
  region: z.string().check(z.regex(REGION)),
  lastSeenAt: z.iso.datetime(),
});

/** Where each (account, region) was last heard, `<account>/<region>` → ISO time. */
export type LastSeen = ReadonlyMap<string, string>;
export const lastSeenKey = (accountId: string, region: string): string => `${accountId}/${region}`;

export type RecordOutcome = 'recorded' | 'stale';

export class DynamoDbMemberHeartbeats {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /**
   * Records the beat unless a later one is already there (EventBridge retries deliver late). The
   * time is EventBridge's, capped at now.
   */
  async record(beat: MemberBeat, now: Date): Promise<RecordOutcome> {
    const at = beat.at > now.toISOString() ? now.toISOString() : beat.at;
    const expiresAt = Math.floor(Date.parse(at) / 1000) + MEMBER_HEARTBEAT_RETENTION_DAYS * 86_400;
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: MEMBER_HEARTBEAT_PK,
            sk: memberHeartbeatSk(beat.accountId, beat.region),
            schemaVersion: 1,
            account: beat.accountId,
            region: beat.region,
            lastSeenAt: at,
            eventId: beat.eventId,
            expiresAt,
          },
          ConditionExpression: 'attribute_not_exists(pk) OR lastSeenAt < :at',
          ExpressionAttributeValues: { ':at': at },
        }),
      );
      return 'recorded';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'stale';
      throw error;
    }
  }

  /** Every recorded region, in one (paginated) Query of the partition; items of another shape are skipped. */
  async lastSeen(): Promise<LastSeen> {
    const seen = new Map<string, string>();
    const pages = paginateQuery(
      { client: this.client },
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': MEMBER_HEARTBEAT_PK },
      },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        const parsed = itemSchema.safeParse(item);
        if (parsed.success)
          seen.set(lastSeenKey(parsed.data.account, parsed.data.region), parsed.data.lastSeenAt);
      }
    }
    return seen;
  }
}

export type ReceiveOutcome =
  | { outcome: 'recorded' | 'stale'; accountId: string; region: string; at: string }
  | { outcome: 'ignored' | 'refused'; reason: string; accountId?: string };

/**
 * A delivery to the member-heartbeat function: recorded when it is a member heartbeat from an ACTIVE
 * member of the organisation (the same check the rule functions make), refused (nothing written)
 * when it names this account or any other, ignored when it is not a member heartbeat at all.
 */
export async function receiveMemberHeartbeat(
  event: unknown,
  deps: {
    stackName: string;
    accounts: Pick<AccountAccess, 'own' | 'isActiveMember'>;
    heartbeats: Pick<DynamoDbMemberHeartbeats, 'record'>;
    now: Date;
  },
): Promise<ReceiveOutcome> {
  const verdict = memberBeatOf(event, deps.stackName);
  if ('ignored' in verdict) return { outcome: 'ignored', reason: verdict.ignored };
  const { beat } = verdict;
  if (beat.accountId === (await deps.accounts.own()).accountId)
    return {
      outcome: 'refused',
      accountId: beat.accountId,
      reason: 'the security account runs the home stack, not a member stack',
    };
  if (!(await deps.accounts.isActiveMember(beat.accountId)))
    return {
      outcome: 'refused',
      accountId: beat.accountId,
      reason: `account ${beat.accountId} is not an ACTIVE member of the organisation`,
    };
  const outcome = await deps.heartbeats.record(beat, deps.now);
  return { outcome, accountId: beat.accountId, region: beat.region, at: beat.at };
}

/**
 * The silent member stacks: for each expected account, the regions whose last beat (or, never heard,
 * the account's joining the organisation) is older than MEMBER_HEARTBEAT_STALE_MS. An account silent
 * in every region is one problem (its member stack is missing or cannot forward at all), else one a region.
 */
export function silentMembers(input: {
  members: readonly MemberAccount[];
  regions: readonly string[];
  lastSeen: LastSeen;
  now: Date;
}): HealthProblem[] {
  const { members, regions, lastSeen, now } = input;
  const problems: HealthProblem[] = [];
  const hours = MEMBER_HEARTBEAT_STALE_MS / 3_600_000;
  for (const { accountId, joinedAt } of members) {
    const silent = regions.filter((region) => {
      const seen = lastSeen.get(lastSeenKey(accountId, region));
      // Never heard: counted from its joining, so a new account's StackSet instances have time to deploy.
      const since = seen ? Date.parse(seen) : (joinedAt?.getTime() ?? Number.NEGATIVE_INFINITY);
      return now.getTime() - since > MEMBER_HEARTBEAT_STALE_MS;
    });
    if (silent.length === 0) continue;
    const heard = regions.some((region) => lastSeen.has(lastSeenKey(accountId, region)));
    if (silent.length === regions.length && !heard && regions.length > 1) {
      problems.push({
        check: 'member',
        subject: accountId,
        problem: `no heartbeat from its member stack in any of the ${regions.length} regions the sweep covers: the stack is missing or cannot reach this account's bus`,
      });
      continue;
    }
    for (const region of silent) {
      const seen = lastSeen.get(lastSeenKey(accountId, region));
      problems.push({
        check: 'member',
        subject: `${accountId} ${region}`,
        problem: seen
          ? `no heartbeat from its member stack for over ${hours} hours (last ${seen}): its forwarding has stopped`
          : `no heartbeat from its member stack for over ${hours} hours (never heard): the stack is missing there or cannot reach this account's bus`,
      });
    }
  }
  return problems;
}

/**
 * The member problems the scheduled heartbeat reports in an organisation deployment: every ACTIVE
 * account but this one and the management account (where service-managed StackSets never deploy),
 * in every region the sweep covers. A failure to read is itself a problem, never a thrown heartbeat.
 */
export async function memberProblems(deps: {
  accounts: Pick<AccountAccess, 'activeMemberAccounts' | 'managementAccount'>;
  heartbeats: Pick<DynamoDbMemberHeartbeats, 'lastSeen'>;
  regions: () => Promise<string[]>;
  now: Date;
}): Promise<{ problems: HealthProblem[]; members: number }> {
  try {
    const [members, management, regions, lastSeen] = await Promise.all([
      deps.accounts.activeMemberAccounts(),
      deps.accounts.managementAccount(),
      deps.regions(),
      deps.heartbeats.lastSeen(),
    ]);
    const expected = members.filter((member) => member.accountId !== management);
    return {
      problems: silentMembers({ members: expected, regions, lastSeen, now: deps.now }),
      members: expected.length,
    };
  } catch (error) {
    return {
      problems: [
        {
          check: 'member',
          subject: 'organisation',
          problem: `cannot check the member stacks' heartbeats: ${errorMessage(error)}`,
        },
      ],
      members: 0,
    };
  }
}
