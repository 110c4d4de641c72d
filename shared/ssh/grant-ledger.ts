import { randomBytes } from 'node:crypto';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  paginateQuery,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { ResponderError } from '../errors';
import * as z from '../zod';

/**
 * The SSH grant ledger: who may reach what over SSH, until when, granted by whom and why, and who
 * ended it early and why. The system of record for "a live grant covers this path"; tags on AWS
 * resources only point at it.
 *
 * Stored in the incidents table (key pk/sk, no new index), two items per grant:
 *  - the record      pk `GRANT#<grantId>`  sk `GRANT`                     (get by id)
 *  - a listing copy  pk `GRANTS`           sk `<expiresAt ISO>#<grantId>` (Query `sk > <time>`)
 * ISO-8601 UTC timestamps sort as text, so "every grant still running at <time>" is one Query that
 * reads only the tail of the partition: expired grants are skipped by the key condition, not filtered.
 * Both items carry the table's TTL attribute `expiresAt` (epoch seconds) = the end of the grant plus
 * the incident retention, so the audit trail lives exactly as long as incidents do; the grant's own
 * end is stored as `grantExpiresAt`. None of the incident indexes' key attributes (status, ruleId,
 * detectedMonth) is set, so grant items never appear in incident listings.
 */

/**
 * Every attribute a revoke reads or writes (keys included): on-call may end a grant, never write
 * one, so its role may update grant items only within these (serverless.yml, EndGrantsOnly).
 */
export const REVOKE_ATTRIBUTES = ['pk', 'sk', 'revokedAt', 'revokedBy', 'revokeReason'] as const;

export const GrantKind = { IamSshKey: 'iam-ssh-key', SecurityGroupRule: 'security-group-rule' } as const;
export type GrantKind = (typeof GrantKind)[keyof typeof GrantKind];

export interface IamKeyTarget {
  readonly userName: string;
}

export interface SecurityGroupRuleTarget {
  readonly region: string;
  readonly groupId: string;
  /** Canonical CIDR (network address / prefix). */
  readonly cidr: string;
  readonly port: number;
  /** Set once AuthorizeSecurityGroupIngress has returned the rule's id. */
  readonly ruleId?: string;
}

interface GrantFields {
  readonly grantId: string;
  /**
   * The account whose resources the grant opens (12 digits). A grant covers that account's paths only
   * (shared/ssh/grant-match.ts); an item without one is the security account's, as every grant was
   * before grants named their account.
   */
  readonly account?: string;
  /** The person who gets access. */
  readonly grantedTo: string;
  /** The caller's ARN (STS GetCallerIdentity) that issued the grant. */
  readonly grantedBy: string;
  readonly reason: string;
  readonly createdAt: string;
  /** When access ends (ISO-8601 UTC). */
  readonly expiresAt: string;
  readonly revokedAt?: string;
  readonly revokedBy?: string;
  /** Why it was ended early (`ssh revoke --reason`); absent on grants revoked before it was asked. */
  readonly revokeReason?: string;
}

export type Grant =
  | (GrantFields & { readonly kind: typeof GrantKind.IamSshKey; readonly target: IamKeyTarget })
  | (GrantFields & {
      readonly kind: typeof GrantKind.SecurityGroupRule;
      readonly target: SecurityGroupRuleTarget;
    });

/** Port: where grants live. Rules only read it; the command line writes it. */
export interface GrantLedger {
  /** Records a new grant (fails if the id exists). */
  record(grant: Grant): Promise<void>;
  get(grantId: string): Promise<Grant | undefined>;
  /** Every grant whose access ends after `time`, revoked ones included, soonest end first. */
  endingAfter(time: Date): Promise<Grant[]>;
  /** Records the security group rule a grant created. */
  attachRule(grantId: string, ruleId: string): Promise<void>;
  /** Ends a grant now, saying who and why. Throws GrantNotFoundError or GrantAlreadyRevokedError. */
  revoke(grantId: string, revokedBy: string, at: Date, reason: string): Promise<Grant>;
}

export class GrantNotFoundError extends ResponderError {
  override name = 'GrantNotFoundError';
  constructor(readonly grantId: string) {
    super(`unknown grant id '${grantId}'`);
  }
}

export class GrantAlreadyRevokedError extends ResponderError {
  override name = 'GrantAlreadyRevokedError';
  constructor(readonly grant: Grant) {
    super(`grant '${grant.grantId}' was already revoked at ${grant.revokedAt} by ${grant.revokedBy}`);
  }
}

/** Live: not revoked and not yet ended. */
export const isLive = (grant: Grant, now: Date): boolean =>
  grant.revokedAt === undefined && Date.parse(grant.expiresAt) > now.getTime();

export const GRANT_ID_PATTERN = /^sshg-\d{8}T\d{6}-[0-9a-f]{8}$/;

/** An AWS account id, as a grant names its account. */
export const ACCOUNT_ID_PATTERN = /^\d{12}$/;

export const newGrantId = (now: Date): string =>
  `sshg-${now.toISOString().replace(/[-:]/g, '').slice(0, 15)}-${randomBytes(4).toString('hex')}`;

const LISTING_PK = 'GRANTS';
const recordKey = (grantId: string) => ({ pk: `GRANT#${grantId}`, sk: 'GRANT' });
const listingKey = (grant: Pick<Grant, 'grantId' | 'expiresAt'>) => ({
  pk: LISTING_PK,
  sk: `${grant.expiresAt}#${grant.grantId}`,
});

const isoTimestamp = z.string().check(
  z.refine((value) => {
    const time = Date.parse(value);
    return !Number.isNaN(time) && new Date(time).toISOString() === value;
  }, 'expected an ISO-8601 UTC timestamp as toISOString() writes it'),
);

const fieldsSchema = {
  grantId: z.string().check(z.regex(GRANT_ID_PATTERN)),
  account: z.optional(z.string().check(z.regex(ACCOUNT_ID_PATTERN))),
  grantedTo: z.string().check(z.minLength(1), z.maxLength(256)),
  grantedBy: z.string().check(z.minLength(1), z.maxLength(2048)),
  reason: z.string().check(z.minLength(1), z.maxLength(512)),
  createdAt: isoTimestamp,
  grantExpiresAt: isoTimestamp,
  revokedAt: z.optional(isoTimestamp),
  revokedBy: z.optional(z.string().check(z.maxLength(2048))),
  revokeReason: z.optional(z.string().check(z.maxLength(512))),
};

const itemSchema = z.discriminatedUnion('kind', [
  z.object({
    ...fieldsSchema,
    kind: z.literal(GrantKind.IamSshKey),
    target: z.object({ userName: z.string().check(z.minLength(1), z.maxLength(128)) }),
  }),
  z.object({
    ...fieldsSchema,
    kind: z.literal(GrantKind.SecurityGroupRule),
    target: z.object({
      region: z.string().check(z.minLength(1), z.maxLength(32)),
      groupId: z.string().check(z.minLength(1), z.maxLength(64)),
      cidr: z.string().check(z.minLength(1), z.maxLength(64)),
      port: z.number().check(z.int(), z.minimum(0), z.maximum(65_535)),
      ruleId: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
    }),
  }),
]);

/**
 * An item that does not parse grants nothing: deny by default (a hand-edited or corrupted item must
 * never keep a path open). One that parses is still checked against the limits by its reader
 * (shared/ledger-limits.ts).
 */
function grantOf(item: Record<string, unknown> | undefined): Grant | undefined {
  const parsed = itemSchema.safeParse(item);
  if (!parsed.success) return undefined;
  const { grantExpiresAt, ...grant } = parsed.data;
  return { ...grant, expiresAt: grantExpiresAt };
}

export class DynamoDbGrantLedger implements GrantLedger {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** Grants are kept as long as incidents (settings.incidentRetentionDays) after they end. */
    private readonly retentionDays: number,
  ) {}

  async record(grant: Grant): Promise<void> {
    const parsed = isoTimestamp.safeParse(grant.expiresAt);
    if (!parsed.success) throw new Error(`grant ${grant.grantId}: expiresAt must be toISOString() text`);
    if (grant.account !== undefined && !ACCOUNT_ID_PATTERN.test(grant.account))
      throw new Error(`grant ${grant.grantId}: account must be 12 digits`);
    const { expiresAt, ...fields } = grant;
    const item = {
      ...fields,
      itemType: 'ssh-grant',
      schemaVersion: 1,
      grantExpiresAt: expiresAt,
      expiresAt: Math.floor(Date.parse(expiresAt) / 1000) + this.retentionDays * 24 * 3600,
    };
    await this.client.send(
      new TransactWriteCommand({
        TransactItems: [recordKey(grant.grantId), listingKey(grant)].map((key) => ({
          Put: {
            TableName: this.tableName,
            Item: { ...item, ...key },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        })),
      }),
    );
  }

  async get(grantId: string): Promise<Grant | undefined> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: recordKey(grantId), ConsistentRead: true }),
    );
    return grantOf(result.Item);
  }

  async endingAfter(time: Date): Promise<Grant[]> {
    const grants: Grant[] = [];
    for await (const page of paginateQuery(
      { client: this.client },
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND sk > :after',
        ExpressionAttributeValues: { ':pk': LISTING_PK, ':after': time.toISOString() },
        ConsistentRead: true,
      },
    )) {
      for (const item of page.Items ?? []) {
        const grant = grantOf(item);
        if (grant) grants.push(grant);
      }
    }
    return grants;
  }

  async attachRule(grantId: string, ruleId: string): Promise<void> {
    const grant = await this.get(grantId);
    if (!grant) throw new GrantNotFoundError(grantId);
    await this.updateBoth(
      grant,
      'SET #target.ruleId = :ruleId',
      { '#target': 'target' },
      { ':ruleId': ruleId },
    );
  }

  async revoke(grantId: string, revokedBy: string, at: Date, reason: string): Promise<Grant> {
    const grant = await this.get(grantId);
    if (!grant) throw new GrantNotFoundError(grantId);
    if (grant.revokedAt) throw new GrantAlreadyRevokedError(grant);
    const revokedAt = at.toISOString();
    try {
      await this.updateBoth(
        grant,
        'SET revokedAt = :at, revokedBy = :by, revokeReason = :reason',
        undefined,
        { ':at': revokedAt, ':by': revokedBy, ':reason': reason },
        'attribute_not_exists(revokedAt)',
      );
    } catch (error) {
      // Someone revoked it between our read and our write.
      if (error instanceof TransactionCanceledException) {
        const now = await this.get(grantId);
        if (now?.revokedAt) throw new GrantAlreadyRevokedError(now);
      }
      throw error;
    }
    return { ...grant, revokedAt, revokedBy, revokeReason: reason };
  }

  /** Both items of a grant change together, or neither does. */
  private async updateBoth(
    grant: Grant,
    expression: string,
    names: Record<string, string> | undefined,
    values: Record<string, unknown>,
    condition?: string,
  ): Promise<void> {
    await this.client.send(
      new TransactWriteCommand({
        TransactItems: [recordKey(grant.grantId), listingKey(grant)].map((key) => ({
          Update: {
            TableName: this.tableName,
            Key: key,
            UpdateExpression: expression,
            ConditionExpression: condition ? `attribute_exists(pk) AND ${condition}` : 'attribute_exists(pk)',
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
          },
        })),
      }),
    );
  }
}
