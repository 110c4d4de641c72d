import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { ResponderError } from '../errors';
import { Mode } from '../model';
import * as z from '../zod';

/**
 * The deployment's recorded history: what the responder was deployed to cover and each rule's mode,
 * with the time each changed. The heartbeat writes it (only its role may: dynamodb:LeadingKeys on
 * this key), so the auditor's report reads the modes in force during a period from what was recorded
 * then, not from today's settings. One item, a bounded list of transitions, oldest first.
 */
export const DEPLOYMENT_HISTORY_KEY = { pk: 'DEPLOYMENT#history', sk: 'HISTORY' } as const;

/** Transitions kept; the oldest is dropped beyond this (the report then says when the record starts). */
export const MAX_DEPLOYMENT_TRANSITIONS = 200;

/** Well under DynamoDB's 400 KB item limit, whatever the number of rules and regions. */
const MAX_TRANSITIONS_BYTES = 300_000;

const SCHEMA_VERSION = 1;

/** What a deployment covers and how it acts, as its heartbeat sees it. */
export interface DeploymentFacts {
  account: string;
  homeRegion: string;
  /** The regions the scheduled sweep covers (SWEEP_REGIONS resolved as the sweep resolves it), sorted. */
  regions: string[];
  stage: string;
  /** Each rule's mode as its function runs it (its live MODE_<ID>), by rule id. */
  modes: Record<string, Mode>;
  /**
   * The rules whose live mode differs from what their deployment published (someone changed the
   * function's MODE_<ID> outside a deployment), sorted; absent when none does.
   */
  modesChangedOutsideDeployment?: string[];
}

export interface DeploymentTransition extends DeploymentFacts {
  /** When the heartbeat first saw these facts. */
  at: string;
}

export type DeploymentHistoryRead =
  | { state: 'none' }
  | { state: 'unreadable'; reason: string }
  | { state: 'recorded'; revision: number; transitions: DeploymentTransition[] };

const region = z.string().check(z.regex(/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/));
const ruleId = z.string().check(z.regex(/^[a-z0-9-]{1,64}$/));
const transitionSchema = z.strictObject({
  at: z.iso.datetime(),
  account: z.string().check(z.regex(/^\d{12}$/)),
  homeRegion: region,
  regions: z.array(region).check(z.maxLength(64)),
  stage: z.string().check(z.regex(/^[A-Za-z0-9-]{1,64}$/)),
  modes: z.record(ruleId, z.enum([Mode.Off, Mode.Notify, Mode.Enforce])),
  // Absent in records written before it existed, and whenever no mode was changed outside a deployment.
  modesChangedOutsideDeployment: z.optional(z.array(ruleId).check(z.minLength(1), z.maxLength(200))),
});
const itemSchema = z
  .strictObject({
    pk: z.literal(DEPLOYMENT_HISTORY_KEY.pk),
    sk: z.literal(DEPLOYMENT_HISTORY_KEY.sk),
    schemaVersion: z.literal(SCHEMA_VERSION),
    revision: z.number().check(z.int(), z.positive()),
    transitions: z.array(transitionSchema).check(z.minLength(1), z.maxLength(MAX_DEPLOYMENT_TRANSITIONS)),
  })
  .check(
    z.refine(
      (item) =>
        item.transitions.every((entry, index, all) => index === 0 || entry.at >= (all[index - 1]?.at ?? '')),
      { message: 'transitions are not in time order', path: ['transitions'] },
    ),
  );

/**
 * The item as read, validated: an item of this key with any other shape is "unreadable", never
 * guessed at (only the heartbeat's role writes it; anything else there is not its record).
 */
export function parseDeploymentHistory(item: Record<string, unknown> | undefined): DeploymentHistoryRead {
  if (item === undefined) return { state: 'none' };
  const parsed = itemSchema.safeParse(item);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      state: 'unreadable',
      reason: `${issue?.path.join('.') || 'item'}: ${issue?.message ?? 'unexpected shape'}`,
    };
  }
  return {
    state: 'recorded',
    revision: parsed.data.revision,
    transitions: parsed.data.transitions.map((entry) => ({
      ...entry,
      modes: { ...entry.modes },
      ...(entry.modesChangedOutsideDeployment && {
        modesChangedOutsideDeployment: [...entry.modesChangedOutsideDeployment],
      }),
    })),
  };
}

/** Facts compared whatever the order the environment listed regions or modes in. */
function canonical(facts: DeploymentFacts): string {
  return JSON.stringify([
    facts.account,
    facts.homeRegion,
    [...facts.regions].sort(),
    facts.stage,
    Object.entries(facts.modes).sort(([a], [b]) => a.localeCompare(b)),
    [...(facts.modesChangedOutsideDeployment ?? [])].sort(),
  ]);
}

/**
 * The history with `facts` appended at `at`, or undefined when they are those of the last record
 * (nothing to write). Keeps the newest MAX_DEPLOYMENT_TRANSITIONS (and under the size cap).
 */
export function nextTransitions(
  transitions: readonly DeploymentTransition[],
  facts: DeploymentFacts,
  at: string,
): DeploymentTransition[] | undefined {
  const last = transitions.at(-1);
  if (last && canonical(last) === canonical(facts)) return undefined;
  const entry: DeploymentTransition = {
    // Never before the last record (a heartbeat whose clock lags another's): the list stays in time order.
    at: last && last.at > at ? last.at : at,
    account: facts.account,
    homeRegion: facts.homeRegion,
    regions: [...facts.regions].sort(),
    stage: facts.stage,
    modes: Object.fromEntries(Object.entries(facts.modes).sort(([a], [b]) => a.localeCompare(b))),
    ...(facts.modesChangedOutsideDeployment?.length && {
      modesChangedOutsideDeployment: [...facts.modesChangedOutsideDeployment].sort(),
    }),
  };
  const next = [...transitions, entry].slice(-MAX_DEPLOYMENT_TRANSITIONS);
  while (next.length > 1 && JSON.stringify(next).length > MAX_TRANSITIONS_BYTES) next.shift();
  return next;
}

/** The item of this key is not the heartbeat's record: it is left as found, and the heartbeat says so. */
export class DeploymentHistoryUnreadableError extends ResponderError {
  override name = 'DeploymentHistoryUnreadableError';
}

export type RecordOutcome = 'recorded' | 'unchanged';

/** How often a write that lost a race is retried on a fresh read (each heartbeat is one writer). */
const MAX_ATTEMPTS = 3;

export class DynamoDbDeploymentHistory {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async read(): Promise<DeploymentHistoryRead> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: DEPLOYMENT_HISTORY_KEY, ConsistentRead: true }),
    );
    return parseDeploymentHistory(Item);
  }

  /**
   * Appends `facts` when they differ from the last record. The write is conditional on the revision
   * read, so two heartbeats at once cannot lose a transition: the one that lost re-reads and appends
   * to what the other wrote (or finds its facts already recorded).
   */
  async record(facts: DeploymentFacts, now: Date): Promise<RecordOutcome> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.read();
      if (current.state === 'unreadable')
        throw new DeploymentHistoryUnreadableError(
          `the deployment history item (${DEPLOYMENT_HISTORY_KEY.pk}) is unreadable (${current.reason}): left as found`,
        );
      const recorded = current.state === 'recorded' ? current : { revision: 0, transitions: [] };
      const transitions = nextTransitions(recorded.transitions, facts, now.toISOString());
      if (transitions === undefined) return 'unchanged';
      try {
        await this.client.send(
          new PutCommand({
            TableName: this.tableName,
            Item: {
              ...DEPLOYMENT_HISTORY_KEY,
              schemaVersion: SCHEMA_VERSION,
              revision: recorded.revision + 1,
              transitions,
            },
            ...(recorded.revision === 0
              ? { ConditionExpression: 'attribute_not_exists(pk)' }
              : {
                  ConditionExpression: '#revision = :revision',
                  ExpressionAttributeNames: { '#revision': 'revision' },
                  ExpressionAttributeValues: { ':revision': recorded.revision },
                }),
          }),
        );
        return 'recorded';
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException) || attempt >= MAX_ATTEMPTS) throw error;
      }
    }
  }
}
