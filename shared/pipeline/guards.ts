import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Actor } from '../model';

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
 */
export class BlastRadiusGuard {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly threshold: number,
    private readonly windowMinutes: number,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async acquire(): Promise<GuardDecision> {
    const state = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: 'GUARD', sk: 'STATE' }, ConsistentRead: true }),
    );
    if (state.Item?.tripped === true) {
      return {
        allowed: false,
        justTripped: false,
        reason: String(state.Item.reason ?? 'blast-radius guard tripped'),
      };
    }
    const now = this.now().getTime();
    const windowMs = this.windowMinutes * 60_000;
    const currentStart = Math.floor(now / windowMs) * windowMs;
    const stillOverlapping = 1 - (now - currentStart) / windowMs;
    const previous = await this.remediationsIn(currentStart - windowMs);
    // Round up: when unsure, the guard errs towards stopping.
    const allowedNow = this.threshold - Math.ceil(previous * stillOverlapping);
    if (allowedNow > 0) {
      try {
        await this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { pk: 'GUARD', sk: windowKey(currentStart) },
            UpdateExpression: 'ADD remediations :one SET expiresAt = :expires',
            ConditionExpression: 'attribute_not_exists(remediations) OR remediations < :allowed',
            ExpressionAttributeValues: {
              ':one': 1,
              ':allowed': allowedNow,
              ':expires': Math.floor((currentStart + 3 * windowMs) / 1000),
            },
          }),
        );
        return { allowed: true };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }
    const reason = `blast-radius guard tripped: more than ${this.threshold} remediations within ${this.windowMinutes} minutes; notify-only until reset`;
    return { allowed: false, justTripped: await this.trip(reason), reason };
  }

  private async remediationsIn(windowStart: number): Promise<number> {
    const window = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: 'GUARD', sk: windowKey(windowStart) },
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
          Item: { pk: 'GUARD', sk: 'STATE', tripped: true, trippedAt: this.now().toISOString(), reason },
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

function windowKey(windowStart: number): string {
  return `WINDOW#${new Date(windowStart).toISOString()}`;
}

export interface Exemption {
  reason: string;
  until: string;
}

/** An exemption tag counts only with a reason and an expiry in the future (at most a year ahead). */
export function activeExemption(
  tags: Readonly<Record<string, string>>,
  tagNames: { reason: string; until: string },
  now: Date,
): Exemption | undefined {
  const reason = tags[tagNames.reason]?.trim();
  const untilText = tags[tagNames.until]?.trim();
  if (!reason || !untilText) return undefined;
  const until = new Date(untilText);
  if (Number.isNaN(until.getTime()) || until <= now) return undefined;
  const oneYear = 366 * 24 * 3600 * 1000;
  if (until.getTime() - now.getTime() > oneYear) return undefined;
  return { reason: reason.slice(0, 256), until: until.toISOString() };
}
