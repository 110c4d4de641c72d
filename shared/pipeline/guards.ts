import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateQuery,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Actor } from '../model';
import type { ItemsRead } from './delivery-reads';
import type { DriftRef } from './incident-store';

/** Loop guard: events caused by the responder's own roles are its own remediations echoing back. */
export function isOwnEvent(actor: Actor | undefined, responderRoleArns: readonly string[]): boolean {
  if (!actor) return false;
  const candidates = [actor.sessionIssuerArn, actor.arn].filter((arn): arn is string => Boolean(arn));
  return candidates.some((arn) =>
    responderRoleArns.some((role) => arn === role || roleOfSession(arn) === role),
  );
}

/** arn:aws:sts::123:assumed-role/name/session → arn:aws:iam::123:role/name (paths are not in STS ARNs). */
function roleOfSession(arn: string): string | undefined {
  const match = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\/.+$/.exec(arn);
  return match ? `arn:${match[1]}:iam::${match[2]}:role/${match[3]}` : undefined;
}

export type GuardDecision = { allowed: true } | { allowed: false; justTripped: boolean; reason: string };

/**
 * Blast-radius guard. Every remediation takes a slot in a sliding window of `windowMinutes`; the
 * slot after the threshold trips the guard, which then stays tripped (notify-only) until a person
 * resets it. The trip is a conditional write, so exactly one caller learns it tripped and raises
 * the alert.
 *
 * The sliding window is estimated from two fixed windows (the current one and the one before,
 * weighted by how much of it still overlaps), so a burst across a window boundary still counts as
 * one burst. The previous window is closed, so reading it is race-free; the current window's count
 * is taken with one atomic conditional ADD.
 *
 * A window counts each drift (rule and resource) once: the deliveries of one drift that race to
 * open its incident take one slot between them, and one resource changed back again and again
 * cannot trip the guard and switch the responder off for every other resource. The window keeps a
 * short hash of each drift it counted, never the ARN.
 */
export class BlastRadiusGuard {
  /** Where this guard's items sort in the GUARD partition: '' for the stack's own account. */
  private readonly prefix: string;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly threshold: number,
    private readonly windowMinutes: number,
    private readonly now: () => Date = () => new Date(),
    /**
     * A member account of an organisation deployment: its own trip, windows and resets, so a trip
     * in one account never silences the others (docs/organisation.md). Absent: the stack's account.
     */
    readonly account?: string,
  ) {
    this.prefix = account === undefined ? '' : `ACCOUNT#${account}#`;
  }

  /** The same guard for a member account of an organisation deployment. */
  forAccount(account: string): BlastRadiusGuard {
    return new BlastRadiusGuard(
      this.client,
      this.tableName,
      this.threshold,
      this.windowMinutes,
      this.now,
      account,
    );
  }

  /** The member accounts whose guards hold items (organisation deployments): what the report lists. */
  async memberAccounts(): Promise<string[]> {
    const accounts = new Set<string>();
    const pages = paginateQuery(
      { client: this.client },
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :account)',
        ExpressionAttributeValues: { ':pk': 'GUARD', ':account': 'ACCOUNT#' },
        ProjectionExpression: 'sk',
      },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        const account = /^ACCOUNT#(\d{12})#/.exec(String(item.sk))?.[1];
        if (account) accounts.add(account);
      }
    }
    return [...accounts].sort();
  }

  private key(sk: string) {
    return { pk: 'GUARD', sk: `${this.prefix}${sk}` };
  }

  /**
   * Takes a slot for `drift`, or refuses. `read` is what the delivery read with its other items
   * (stateRead, shared/pipeline/delivery-reads.ts); without it, or when a new window began since,
   * the guard reads its items itself. Then one conditional ADD; a refused one reads the window.
   */
  async acquire(drift: DriftRef, read?: GuardRead): Promise<GuardDecision> {
    const { windowMs, currentStart, stillOverlapping } = this.windowAt(this.now().getTime());
    const previousStart = currentStart - windowMs;
    const known = read?.previousStart === previousStart ? read : await this.readAlone(previousStart);
    if (known.trippedReason !== undefined)
      return { allowed: false, justTripped: false, reason: known.trippedReason };
    const allowedNow = roomLeft(known, this.threshold, stillOverlapping);
    if (allowedNow > 0 && (await this.count(currentStart, drift, allowedNow))) return { allowed: true };
    const where = this.account === undefined ? '' : ` in account ${this.account}`;
    const reason = `blast-radius guard tripped${where}: more than ${this.threshold} remediations within ${this.windowMinutes} minutes; notify-only until reset`;
    return { allowed: false, justTripped: await this.trip(reason), reason };
  }

  /** What acquire() decides on (the guard's state, the window before this one), for a batched read. */
  stateRead(): ItemsRead<GuardRead> {
    const { windowMs, currentStart } = this.windowAt(this.now().getTime());
    const previousStart = currentStart - windowMs;
    return {
      tableName: this.tableName,
      keys: [this.key(STATE), this.key(windowKey(previousStart))],
      decide: ([state, previous]) => guardReadOf(previousStart, state, previous),
    };
  }

  /** The same items, read one by one: a tripped guard's window is not read. */
  private async readAlone(previousStart: number): Promise<GuardRead> {
    const state = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: this.key(STATE), ConsistentRead: true }),
    );
    if (state.Item?.tripped === true) return guardReadOf(previousStart, state.Item, undefined);
    return { previousStart, previousRemediations: await this.remediationsIn(previousStart) };
  }

  /**
   * Counts a remediation a person ordered past the guard (`ssh lockdown --emergency`): one ADD to the
   * current window, never refused and never tripping it. The window holds it like any other, so an
   * automated remediation within the window finds it full and trips the guard as usual.
   */
  async countPastLimit(drift: DriftRef): Promise<void> {
    await this.count(this.windowAt(this.now().getTime()).currentStart, drift);
  }

  /**
   * Counts `drift` in the window starting at `windowStart`, unless it already holds it: one
   * conditional ADD, refused past `allowed` (when given). Did the window count it (now or before)?
   */
  private async count(windowStart: number, drift: DriftRef, allowed?: number): Promise<boolean> {
    const key = driftKey(drift);
    const windowMs = this.windowMinutes * 60_000;
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: this.key(windowKey(windowStart)),
          UpdateExpression: 'ADD remediations :one, drifts :drifts SET expiresAt = :expires',
          ConditionExpression:
            allowed === undefined
              ? 'NOT contains(drifts, :drift)'
              : '(attribute_not_exists(remediations) OR remediations < :allowed) AND NOT contains(drifts, :drift)',
          ExpressionAttributeValues: {
            ':one': 1,
            ':drifts': new Set([key]),
            ':drift': key,
            ':expires': Math.floor((windowStart + 3 * windowMs) / 1000),
            ...(allowed === undefined ? {} : { ':allowed': allowed }),
          },
        }),
      );
      return true;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    // Refused: the window is full, or another delivery of this drift counted it first.
    const window = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: this.key(windowKey(windowStart)),
        ConsistentRead: true,
      }),
    );
    const counted = window.Item?.drifts;
    return counted instanceof Set && counted.has(key);
  }

  /** What `guard status` shows: the trip, and the remediations the sliding window counts now. */
  async status(): Promise<GuardStatus> {
    const state = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: this.key(STATE), ConsistentRead: true }),
    );
    const { windowMs, currentStart, stillOverlapping } = this.windowAt(this.now().getTime());
    const current = await this.remediationsIn(currentStart);
    const previous = await this.remediationsIn(currentStart - windowMs);
    const history = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :reset)',
        ExpressionAttributeValues: { ':pk': 'GUARD', ':reset': `${this.prefix}RESET#` },
        ScanIndexForward: false,
        Limit: 1,
      }),
    );
    const item = state.Item;
    const tripped = item?.tripped === true;
    const { pk: _pk, sk: _sk, ...lastReset } = history.Items?.[0] ?? {};
    return {
      tripped,
      trippedAt: tripped ? String(item?.trippedAt) : undefined,
      reason: tripped ? String(item?.reason) : undefined,
      // The same estimate acquire() makes, rounded up the same way.
      counted: current + Math.ceil(previous * stillOverlapping),
      threshold: this.threshold,
      windowMinutes: this.windowMinutes,
      lastReset: history.Items?.[0] ? (lastReset as GuardReset) : undefined,
    };
  }

  /**
   * What the report lists: every reset at or after `since` (each holds the trip it ended) and the
   * trip in force now, if any. A trip reset before `since` ended before it, so it is not read.
   */
  async history(
    since: Date,
  ): Promise<{ resets: GuardReset[]; tripped?: { trippedAt: string; reason: string } }> {
    const resets: GuardReset[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: {
            ':pk': 'GUARD',
            ':from': `${this.prefix}RESET#${since.toISOString()}`,
            ':to': `${this.prefix}RESET#\uffff`,
          },
          ExclusiveStartKey: startKey,
        }),
      );
      for (const { pk: _pk, sk: _sk, ...reset } of page.Items ?? []) resets.push(reset as GuardReset);
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    const state = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: this.key(STATE), ConsistentRead: true }),
    );
    const tripped =
      state.Item?.tripped === true
        ? { trippedAt: String(state.Item.trippedAt), reason: String(state.Item.reason) }
        : undefined;
    return { resets, ...(tripped ? { tripped } : {}) };
  }

  /**
   * Clears a trip and the window counts, so the next remediation is allowed, and keeps who reset it,
   * when and why as a history item. All in one conditional transaction: undefined (nothing changed)
   * when the guard was not tripped.
   */
  async reset(by: string, reason: string): Promise<GuardReset | undefined> {
    const state = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: this.key(STATE), ConsistentRead: true }),
    );
    if (state.Item?.tripped !== true) return undefined;
    const nowSeconds = Math.floor(this.now().getTime() / 1000);
    // Every window that can still count (whatever window length wrote it), not only this one's.
    const windows = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :window)',
        ExpressionAttributeValues: { ':pk': 'GUARD', ':window': `${this.prefix}WINDOW#` },
      }),
    );
    const live = (windows.Items ?? []).filter((window) => Number(window.expiresAt ?? 0) > nowSeconds);
    const at = this.now().toISOString();
    const record: GuardReset = {
      resetAt: at,
      resetBy: by,
      reason,
      trippedAt: String(state.Item.trippedAt),
      tripReason: String(state.Item.reason),
    };
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.tableName,
                Key: this.key(STATE),
                UpdateExpression: 'SET tripped = :false, resetAt = :at, resetBy = :by, resetReason = :reason',
                ConditionExpression: 'tripped = :true AND trippedAt = :trippedAt',
                ExpressionAttributeValues: {
                  ':false': false,
                  ':true': true,
                  ':at': at,
                  ':by': by,
                  ':reason': reason,
                  ':trippedAt': state.Item.trippedAt,
                },
              },
            },
            ...live.slice(0, 90).map((window) => ({
              Delete: { TableName: this.tableName, Key: { pk: 'GUARD', sk: window.sk } },
            })),
            { Put: { TableName: this.tableName, Item: { ...this.key(`RESET#${at}`), ...record } } },
          ],
        }),
      );
    } catch (error) {
      // Someone else reset it (or it tripped anew) between our read and write: nothing changed.
      if (error instanceof Error && error.name === 'TransactionCanceledException') return undefined;
      throw error;
    }
    return record;
  }

  private windowAt(now: number) {
    const windowMs = this.windowMinutes * 60_000;
    const currentStart = Math.floor(now / windowMs) * windowMs;
    return { windowMs, currentStart, stillOverlapping: 1 - (now - currentStart) / windowMs };
  }

  private async remediationsIn(windowStart: number): Promise<number> {
    const window = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: this.key(windowKey(windowStart)),
        ConsistentRead: true,
      }),
    );
    return Number(window.Item?.remediations ?? 0);
  }

  private async trip(reason: string): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...this.key(STATE),
            tripped: true,
            trippedAt: this.now().toISOString(),
            reason,
            threshold: this.threshold,
            windowMinutes: this.windowMinutes,
          },
          ConditionExpression: 'attribute_not_exists(tripped) OR tripped = :false',
          ExpressionAttributeValues: { ':false': false },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}

export interface GuardStatus {
  tripped: boolean;
  trippedAt?: string;
  reason?: string;
  /** Remediations in the sliding window now; the next one is allowed while this is below the threshold. */
  counted: number;
  threshold: number;
  windowMinutes: number;
  lastReset?: GuardReset;
}

/** A person's reset of a tripped guard, kept as a history item. */
export interface GuardReset {
  resetAt: string;
  resetBy: string;
  reason: string;
  trippedAt: string;
  tripReason: string;
}

/**
 * What the guard decides on, read consistently: the trip in force (its reason) and the remediations
 * of the closed window before the current one (closed, so reading it is race-free).
 */
export interface GuardRead {
  readonly trippedReason?: string;
  /** Which window was read: a read from before a window boundary is not used after it. */
  readonly previousStart: number;
  readonly previousRemediations: number;
}

const STATE = 'STATE';

function guardReadOf(
  previousStart: number,
  state: Record<string, unknown> | undefined,
  previous: Record<string, unknown> | undefined,
): GuardRead {
  const tripped = state?.tripped === true;
  return {
    ...(tripped && { trippedReason: String(state.reason ?? 'blast-radius guard tripped') }),
    previousStart,
    previousRemediations: Number(previous?.remediations ?? 0),
  };
}

/**
 * How many remediations the current window may still hold: the threshold less the previous
 * window's count weighted by how much of it still overlaps, rounded up (when unsure, the guard
 * errs towards stopping).
 */
const roomLeft = (read: GuardRead, threshold: number, stillOverlapping: number): number =>
  threshold - Math.ceil(read.previousRemediations * stillOverlapping);

function windowKey(windowStart: number): string {
  return `WINDOW#${new Date(windowStart).toISOString()}`;
}

/** A drift's name in a guard window: short, fixed-length, and not the resource's ARN. */
function driftKey({ ruleId, resourceArn }: DriftRef): string {
  return createHash('sha256').update(`${ruleId}\n${resourceArn}`).digest('hex').slice(0, 16);
}
