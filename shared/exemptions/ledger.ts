import { randomBytes } from 'node:crypto';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  paginateQuery,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { ResponderError } from '../errors';
import type { ItemsRead } from '../pipeline/delivery-reads';
import * as z from '../zod';

/**
 * The exemption ledger: which rule may leave which resource non-compliant, until when, set by whom
 * and why. The system of record for "this drift is an approved exception"; a tag on the resource
 * is only a request (anyone with the service's TagResource could write it).
 *
 * Stored in the incidents table (key pk/sk, no new index), three items per exemption, written together:
 *  - the record      pk `EXEMPTION#<id>`    sk `EXEMPTION`              (get by id: remove)
 *  - the current one pk `EXEMPT#<ruleId>`   sk `<resourceArn>`          (read with the delivery's batch)
 *  - a listing copy  pk `EXEMPTIONS`        sk `<until ISO>#<id>`       (Query `sk > <now>`: in force)
 * The current item is overwritten by the next exemption of the same rule and resource, so the
 * pipeline's lookup is one consistent read whatever the history. Removal sets removedAt/removedBy
 * on every copy; nothing is deleted before the table's TTL (`expiresAt`, epoch seconds: the end of
 * the exemption plus the incident retention). The rule id is stored as `exemptRuleId`, never
 * `ruleId`, and no incident index key is set, so exemption items never appear in incident listings.
 */

export interface Exemption {
  readonly exemptionId: string;
  readonly ruleId: string;
  readonly resourceArn: string;
  readonly reason: string;
  /** When the exemption ends (ISO-8601 UTC). */
  readonly until: string;
  /** The caller's ARN (STS GetCallerIdentity) that set it. */
  readonly setBy: string;
  readonly setAt: string;
  readonly removedAt?: string;
  readonly removedBy?: string;
  readonly removeReason?: string;
}

/** Port: where exemptions live. The pipeline only reads it; the command line (and undo) write it. */
export interface ExemptionLedger {
  /**
   * Records a new exemption; fails with ExemptionInForceError if the rule and resource already have
   * one in force, unless `supersedes` names exactly that one (which is then removed in the same write).
   */
  add(exemption: Exemption, options?: { supersedes?: Exemption; now?: Date }): Promise<void>;
  get(exemptionId: string): Promise<Exemption | undefined>;
  /** The latest exemption of a rule and resource (in force or not): one consistent read. */
  current(ruleId: string, resourceArn: string): Promise<Exemption | undefined>;
  /** Exemptions ending after `time` (removed ones included), soonest end first; every one without it. */
  list(endingAfter?: Date): Promise<Exemption[]>;
  /** Ends an exemption now. Throws ExemptionNotFoundError or ExemptionAlreadyRemovedError. */
  remove(exemptionId: string, removedBy: string, at: Date, reason?: string): Promise<Exemption>;
}

export class ExemptionNotFoundError extends ResponderError {
  override name = 'ExemptionNotFoundError';
  constructor(readonly exemptionId: string) {
    super(`unknown exemption id '${exemptionId}' (see: exemptions list --all)`);
  }
}

export class ExemptionAlreadyRemovedError extends ResponderError {
  override name = 'ExemptionAlreadyRemovedError';
  constructor(readonly exemption: Exemption) {
    super(
      `exemption '${exemption.exemptionId}' was already removed at ${exemption.removedAt} by ${exemption.removedBy}`,
    );
  }
}

export class ExemptionInForceError extends ResponderError {
  override name = 'ExemptionInForceError';
  constructor(readonly existing: Exemption) {
    super(
      `${existing.resourceArn} is already exempt from ${existing.ruleId} until ${existing.until} (${existing.exemptionId}, set by ${existing.setBy}): remove it first (exemptions remove ${existing.exemptionId})`,
    );
  }
}

/** In force: not removed and not yet ended. */
export const isInForce = (exemption: Exemption, now: Date): boolean =>
  exemption.removedAt === undefined && Date.parse(exemption.until) > now.getTime();

/** The longest an exemption may last: a year, so every exception is looked at again. */
export const MAX_EXEMPTION_MS = 366 * 24 * 3600 * 1000;
export const REASON_MAX = 512;
/** The drift lock's sort key is the ARN too: DynamoDB sort keys hold at most 1024 bytes. */
export const ARN_MAX = 1000;

export const EXEMPTION_ID_PATTERN = /^exm-\d{8}T\d{6}-[0-9a-f]{8}$/;

export const newExemptionId = (now: Date): string =>
  `exm-${now.toISOString().replace(/[-:]/g, '').slice(0, 15)}-${randomBytes(4).toString('hex')}`;

const LISTING_PK = 'EXEMPTIONS';
const recordKey = (exemptionId: string) => ({ pk: `EXEMPTION#${exemptionId}`, sk: 'EXEMPTION' });
const currentKey = (ruleId: string, resourceArn: string) => ({ pk: `EXEMPT#${ruleId}`, sk: resourceArn });
const listingKey = (exemption: Pick<Exemption, 'exemptionId' | 'until'>) => ({
  pk: LISTING_PK,
  sk: `${exemption.until}#${exemption.exemptionId}`,
});
const keysOf = (exemption: Exemption) => [
  recordKey(exemption.exemptionId),
  listingKey(exemption),
  currentKey(exemption.ruleId, exemption.resourceArn),
];

const isoTimestamp = z.string().check(
  z.refine((value) => {
    const time = Date.parse(value);
    return !Number.isNaN(time) && new Date(time).toISOString() === value;
  }, 'expected an ISO-8601 UTC timestamp as toISOString() writes it'),
);

const itemSchema = z.object({
  exemptionId: z.string().check(z.regex(EXEMPTION_ID_PATTERN)),
  exemptRuleId: z.string().check(z.minLength(1), z.maxLength(64)),
  resourceArn: z.string().check(z.minLength(1), z.maxLength(ARN_MAX)),
  reason: z.string().check(z.minLength(1), z.maxLength(REASON_MAX)),
  until: isoTimestamp,
  setBy: z.string().check(z.minLength(1), z.maxLength(2048)),
  setAt: isoTimestamp,
  removedAt: z.optional(isoTimestamp),
  removedBy: z.optional(z.string().check(z.maxLength(2048))),
  removeReason: z.optional(z.string().check(z.maxLength(REASON_MAX))),
});

/**
 * An item that does not parse exempts nothing: a hand-edited or corrupted item never silences a rule.
 * One that parses is still checked against the limits by its reader (shared/ledger-limits.ts).
 */
function exemptionOf(item: Record<string, unknown> | undefined): Exemption | undefined {
  const parsed = itemSchema.safeParse(item);
  if (!parsed.success) return undefined;
  const { exemptRuleId, ...exemption } = parsed.data;
  return { ...exemption, ruleId: exemptRuleId };
}

export class DynamoDbExemptionLedger implements ExemptionLedger {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    /** Exemptions are kept as long as incidents (settings.incidentRetentionDays) after they end. */
    private readonly retentionDays: number,
  ) {}

  async add(exemption: Exemption, options: { supersedes?: Exemption; now?: Date } = {}): Promise<void> {
    if (!isoTimestamp.safeParse(exemption.until).success) {
      throw new Error(`exemption ${exemption.exemptionId}: until must be toISOString() text`);
    }
    const now = (options.now ?? new Date()).toISOString();
    const { ruleId, ...fields } = exemption;
    const item = {
      ...fields,
      exemptRuleId: ruleId,
      itemType: 'exemption',
      schemaVersion: 1,
      expiresAt: this.ttlOf(exemption),
    };
    const [record, listing, current] = keysOf(exemption);
    const { supersedes } = options;
    const superseded = supersedes
      ? this.removal(supersedes, exemption.setBy, now, `superseded by ${exemption.exemptionId}`)
      : [];
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            ...[record, listing].map((key) => ({
              Put: {
                TableName: this.tableName,
                Item: { ...item, ...key },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            })),
            {
              Put: {
                TableName: this.tableName,
                Item: { ...item, ...current },
                // Replaces only what is not in force, or exactly the exemption it supersedes.
                ConditionExpression: supersedes
                  ? 'exemptionId = :superseded'
                  : 'attribute_not_exists(pk) OR attribute_exists(removedAt) OR #until <= :now',
                ExpressionAttributeNames: supersedes ? undefined : { '#until': 'until' },
                ExpressionAttributeValues: supersedes
                  ? { ':superseded': supersedes.exemptionId }
                  : { ':now': now },
              },
            },
            ...superseded,
          ],
        }),
      );
    } catch (error) {
      if (error instanceof TransactionCanceledException) {
        const existing = await this.current(ruleId, exemption.resourceArn);
        if (existing && isInForce(existing, new Date(now))) throw new ExemptionInForceError(existing);
      }
      throw error;
    }
  }

  async get(exemptionId: string): Promise<Exemption | undefined> {
    return this.read(recordKey(exemptionId));
  }

  async current(ruleId: string, resourceArn: string): Promise<Exemption | undefined> {
    return this.read(currentKey(ruleId, resourceArn));
  }

  /** What `current` reads, for a delivery's one batched read (shared/pipeline/delivery-reads.ts). */
  currentRead(ruleId: string, resourceArn: string): ItemsRead<Exemption | undefined> {
    return {
      tableName: this.tableName,
      keys: [currentKey(ruleId, resourceArn)],
      decide: ([item]) => exemptionOf(item),
    };
  }

  async list(endingAfter?: Date): Promise<Exemption[]> {
    const exemptions: Exemption[] = [];
    for await (const page of paginateQuery(
      { client: this.client },
      {
        TableName: this.tableName,
        KeyConditionExpression: endingAfter ? 'pk = :pk AND sk > :after' : 'pk = :pk',
        ExpressionAttributeValues: endingAfter
          ? { ':pk': LISTING_PK, ':after': endingAfter.toISOString() }
          : { ':pk': LISTING_PK },
        ConsistentRead: true,
      },
    )) {
      for (const item of page.Items ?? []) {
        const exemption = exemptionOf(item);
        if (exemption) exemptions.push(exemption);
      }
    }
    return exemptions;
  }

  async remove(exemptionId: string, removedBy: string, at: Date, reason?: string): Promise<Exemption> {
    const exemption = await this.get(exemptionId);
    if (!exemption) throw new ExemptionNotFoundError(exemptionId);
    if (exemption.removedAt) throw new ExemptionAlreadyRemovedError(exemption);
    const removedAt = at.toISOString();
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: await this.removalWithCurrent(exemption, removedBy, removedAt, reason),
        }),
      );
    } catch (error) {
      // Someone removed it between our read and our write.
      if (error instanceof TransactionCanceledException) {
        const now = await this.get(exemptionId);
        if (now?.removedAt) throw new ExemptionAlreadyRemovedError(now);
      }
      throw error;
    }
    return { ...exemption, removedAt, removedBy, ...(reason ? { removeReason: reason } : {}) };
  }

  private async read(key: { pk: string; sk: string }): Promise<Exemption | undefined> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
    );
    return exemptionOf(result.Item);
  }

  private ttlOf(exemption: Pick<Exemption, 'until'>): number {
    return Math.floor(Date.parse(exemption.until) / 1000) + this.retentionDays * 24 * 3600;
  }

  /** The record and listing marked removed; the current item too while it is this exemption. */
  private async removalWithCurrent(
    exemption: Exemption,
    removedBy: string,
    removedAt: string,
    reason?: string,
  ) {
    const current = await this.current(exemption.ruleId, exemption.resourceArn);
    const items = this.removal(exemption, removedBy, removedAt, reason);
    if (current?.exemptionId !== exemption.exemptionId) return items;
    return [
      ...items,
      this.removalOf(
        currentKey(exemption.ruleId, exemption.resourceArn),
        exemption,
        removedBy,
        removedAt,
        reason,
      ),
    ];
  }

  private removal(exemption: Exemption, removedBy: string, removedAt: string, reason?: string) {
    return [recordKey(exemption.exemptionId), listingKey(exemption)].map((key) =>
      this.removalOf(key, exemption, removedBy, removedAt, reason),
    );
  }

  private removalOf(
    key: { pk: string; sk: string },
    exemption: Exemption,
    removedBy: string,
    removedAt: string,
    reason?: string,
  ) {
    return {
      Update: {
        TableName: this.tableName,
        Key: key,
        UpdateExpression: reason
          ? 'SET removedAt = :at, removedBy = :by, removeReason = :why'
          : 'SET removedAt = :at, removedBy = :by',
        ConditionExpression: 'exemptionId = :id AND attribute_not_exists(removedAt)',
        ExpressionAttributeValues: {
          ':at': removedAt,
          ':by': removedBy,
          ':id': exemption.exemptionId,
          ...(reason ? { ':why': reason } : {}),
        },
      },
    };
  }
}
