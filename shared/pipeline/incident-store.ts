import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateQuery,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type {
  AlertRecord,
  FindingRef,
  Incident,
  IncidentStatus,
  MitigationRecord,
  StatusTransition,
  Step,
  Summary,
  UndoRecord,
  Workflow,
} from '../model';
import type { Delivery, ItemsRead } from './delivery-reads';

/** Outcome of opening an incident: new, or collapsed into the incident that already covers this drift. */
export type OpenResult =
  | { opened: true }
  | { opened: false; existingIncidentId: string; collapsedOn: 'duplicate-delivery' | 'open-drift' };

export type Collapse = Extract<OpenResult, { opened: false }>;

/** Port: where incidents live. The system of record (DynamoDB in production). */
export interface IncidentStore {
  /**
   * Creates the incident unless this delivery was seen before (dedupe key) or the drift already has
   * an open incident (rule + resource lock). All or nothing: a conditional transaction.
   */
  open(incident: Incident, deliveryKey: string): Promise<OpenResult>;
  get(incidentId: string): Promise<Incident | undefined>;
  /**
   * What `open` would collapse on, read before deciding (the blast-radius guard is taken only for a
   * drift nobody holds): the incident this delivery opened before, or the one holding the drift.
   */
  seen(deliveryKey: string, ruleId: string, resourceArn: string): Promise<Collapse | undefined>;
  /**
   * Moves the incident from `from` to `status`, only if it still has `from` (conditional): false when
   * another writer changed it first. A change of status appends a StatusTransition (who: the store's
   * writer) in the same write. Only moveIncident calls it (shared/pipeline/lifecycle.ts).
   */
  setStatus(
    incidentId: string,
    from: IncidentStatus,
    status: IncidentStatus,
    statusReason?: string,
  ): Promise<boolean>;
  /**
   * One conditional write of what a remediation owes its record (shared/pipeline/journal.ts): its
   * status moves (each appended to the history), steps, workflow and a pending alert, only if the
   * incident still has the status `from`. The incident as written, or undefined when another writer
   * changed its status first.
   */
  commit(incidentId: string, change: IncidentChange): Promise<Incident | undefined>;
  /**
   * Records the alert sent (its message id), and with `release` lets the drift lock go in the same
   * transaction (never one a newer incident holds).
   */
  alertSent(incidentId: string, sent: AlertRecord, release?: DriftRef): Promise<void>;
  setAlert(incidentId: string, alert: AlertRecord): Promise<void>;
  /**
   * Brings an incident's finding up to date (a rule whose incidents end with a mitigation: its
   * findings arrive and clear while the incident stands). Status, steps and alert are untouched.
   */
  updateFinding(
    incidentId: string,
    finding: { reason: string; evidence: Summary; findings?: FindingRef[]; findingsTotal?: number },
  ): Promise<void>;
  /**
   * Records the incident's mitigation: false when one is recorded already (never overwritten), or,
   * with `replacing`, unless the incident is open again and still holds that one, which moves to
   * earlierMitigations (a reopened incident takes one more).
   */
  recordMitigation(
    incidentId: string,
    mitigation: MitigationRecord,
    replacing?: MitigationRecord,
    /** Only if the incident is still as read (its updatedAt): false otherwise. */
    seenUpdatedAt?: string,
  ): Promise<boolean>;
  /**
   * Takes over an incident whose remediation must be resumed. Succeeds only if nobody touched it
   * since `seenUpdatedAt`, so of concurrent resumers exactly one proceeds.
   */
  claim(incidentId: string, seenUpdatedAt: string): Promise<boolean>;
  /** Releases the drift lock so a later recurrence opens its own incident. */
  releaseDrift(ruleId: string, resourceArn: string, incidentId: string): Promise<void>;
  /** The incident holding the drift lock for this rule and resource, if any. */
  openDrift(ruleId: string, resourceArn: string): Promise<string | undefined>;
  /** Every drift lock the rule holds: the resource and its incident (Rule.rejudgesHeldDrift). */
  heldDrifts(ruleId: string): Promise<{ resourceArn: string; incidentId: string }[]>;
  /** Incidents newest first, through the index that fits the filter (status, rule, or month). */
  list(filter: IncidentFilter): Promise<Incident[]>;
  /**
   * Ids of the rule's incidents whose alert is recorded pending and not yet sent (a failed Publish
   * or a crash), found in the table, not by listing resources: a deleted resource's incident too.
   */
  pendingAlerts(ruleId: string): Promise<string[]>;
}

/** A status move the journal made, stamped with who by the store that writes it. */
export interface Move {
  from: IncidentStatus;
  to: IncidentStatus;
  at: string;
  reason?: string;
}

/** What one commit writes; see IncidentStore.commit. */
export interface IncidentChange {
  /** The status the incident has as this writer last wrote or read it. */
  from: IncidentStatus;
  /** In order; the last one's status and reason are the incident's. A same-status move only rewrites the reason. */
  moves?: readonly Move[];
  /** The whole list: a remediation's steps are written by the one writer that holds its status. */
  steps?: readonly Step[];
  workflow?: Workflow;
  /** Only `pending`: recorded before Publish, so a crash after it pages again. */
  alert?: AlertRecord;
}

export interface DriftRef {
  ruleId: string;
  resourceArn: string;
}

export interface IncidentFilter {
  status?: IncidentStatus;
  ruleId?: string;
  /** Only incidents about these accounts (an organisation deployment's table holds every member's). */
  accounts?: readonly string[];
  /** ISO time: only incidents detected at or after it. Default: 30 days ago. */
  since?: string;
  limit?: number;
}

const INCIDENT_SK = 'INCIDENT';
const incidentKey = (incidentId: string) => ({ pk: `INCIDENT#${incidentId}`, sk: INCIDENT_SK });
/** Named by the rule first: each function's role writes only its own rule's markers (dynamodb:LeadingKeys). */
const deliveryKeyOf = (deliveryKey: string, ruleId: string) => ({
  pk: `DELIVERY#${ruleId}#${deliveryKey}`,
  sk: `RULE#${ruleId}`,
});
const driftKey = (ruleId: string, resourceArn: string) => ({ pk: `DRIFT#${ruleId}`, sk: resourceArn });

/** An incident item without the table's own bookkeeping attributes. */
function withoutKeys(item: Record<string, unknown>): Incident {
  const {
    pk: _pk,
    sk: _sk,
    detectedMonth: _month,
    expiresAt: _expires,
    alertPendingFor: _pending,
    ...incident
  } = item;
  return incident as unknown as Incident;
}

/** 'YYYY-MM' of every month from `since` to `now`, newest first (the byMonth index's partitions). */
function monthsSince(since: string, now: Date): string[] {
  const months: string[] = [];
  const cursor = new Date(`${since.slice(0, 7)}-01T00:00:00Z`);
  while (cursor <= now) {
    months.unshift(cursor.toISOString().slice(0, 7));
    cursor.setUTCMonth(cursor.getUTCMonth() + 1);
  }
  return months;
}

/**
 * The most transitions an incident keeps (DynamoDB items are capped at 400 KB). The lifecycle makes
 * a handful; a full history stops growing and the store records when (transitionsTruncatedAt), so a
 * status change is never refused for lack of room.
 */
export const MAX_TRANSITIONS = 50;

/** Who writes through a store: a name, or the caller's ARN found once on first use (the CLI). */
export type Writer = string | (() => Promise<string>);

/** Delivery markers only need to outlive EventBridge and Lambda retries (24 h); keep a week. */
const DELIVERY_RETENTION_SECONDS = 7 * 24 * 3600;

export class DynamoDbIncidentStore implements IncidentStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly retentionDays: number,
    private readonly now: () => Date = () => new Date(),
    private readonly writer: Writer = 'compliance-responder',
  ) {}

  private writerName?: Promise<string>;

  /** The writer's name, asked once (a CLI caller's ARN costs an STS call). */
  private by(): Promise<string> {
    const { writer } = this;
    this.writerName ??= typeof writer === 'string' ? Promise.resolve(writer) : writer();
    return this.writerName;
  }

  async open(incident: Incident, deliveryKey: string): Promise<OpenResult> {
    const nowSeconds = Math.floor(this.now().getTime() / 1000);
    const delivery = deliveryKeyOf(deliveryKey, incident.ruleId);
    const drift = driftKey(incident.ruleId, incident.resourceArn);
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tableName,
                Item: {
                  ...delivery,
                  incidentId: incident.incidentId,
                  expiresAt: nowSeconds + DELIVERY_RETENTION_SECONDS,
                },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Put: {
                TableName: this.tableName,
                Item: { ...drift, incidentId: incident.incidentId, lockedAt: incident.detectedAt },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Put: {
                TableName: this.tableName,
                Item: await this.newItem(incident),
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
          ],
        }),
      );
      return { opened: true };
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      // Which condition failed tells us what the incident collapses into.
      const [deliveryReason, driftReason] = error.CancellationReasons ?? [];
      if (deliveryReason?.Code === 'ConditionalCheckFailed') {
        const seen = await this.client.send(
          new GetCommand({ TableName: this.tableName, Key: delivery, ConsistentRead: true }),
        );
        return {
          opened: false,
          existingIncidentId: String(seen.Item?.incidentId),
          collapsedOn: 'duplicate-delivery',
        };
      }
      if (driftReason?.Code === 'ConditionalCheckFailed') {
        const existing = await this.openDrift(incident.ruleId, incident.resourceArn);
        if (existing) return { opened: false, existingIncidentId: existing, collapsedOn: 'open-drift' };
      }
      throw error;
    }
  }

  /**
   * Records an incident that holds no drift: a person's SSH grant or revoke (cli/grant-incident.ts).
   * One conditional Put of the INCIDENT# item alone: no delivery marker and no drift lock, so a
   * rule's own finding on the same resource never collapses into it (docs/lifecycle.md).
   */
  async record(incident: Incident): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: await this.newItem(incident),
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  /** A new incident's item: its opening in the history, its partitions, its expiry. */
  private async newItem(incident: Incident): Promise<Record<string, unknown>> {
    const opening: StatusTransition = { to: incident.status, at: incident.detectedAt, by: await this.by() };
    return {
      ...incidentKey(incident.incidentId),
      ...incident,
      // Opened with its alert pending (shared/pipeline/journal.ts): in the index of alerts owed.
      ...(incident.alert?.status === 'pending' && { alertPendingFor: incident.ruleId }),
      transitions: incident.transitions ?? [opening],
      detectedMonth: incident.detectedAt.slice(0, 7),
      expiresAt: Math.floor(this.now().getTime() / 1000) + this.retentionDays * 24 * 3600,
    };
  }

  async seen(deliveryKey: string, ruleId: string, resourceArn: string): Promise<Collapse | undefined> {
    const read = this.seenRead({ deliveryKey, ruleId, resourceArn });
    const items = [];
    for (const Key of read.keys)
      items.push(
        (await this.client.send(new GetCommand({ TableName: this.tableName, Key, ConsistentRead: true })))
          .Item,
      );
    return read.decide(items);
  }

  /** What `seen` reads (the delivery marker, the drift lock), for the delivery's one batched read. */
  seenRead({ deliveryKey, ruleId, resourceArn }: Delivery): ItemsRead<Collapse | undefined> {
    return {
      tableName: this.tableName,
      keys: [deliveryKeyOf(deliveryKey, ruleId), driftKey(ruleId, resourceArn)],
      decide: ([delivery, drift]) => {
        if (delivery)
          return {
            opened: false,
            existingIncidentId: String(delivery.incidentId),
            collapsedOn: 'duplicate-delivery',
          };
        const holder = drift?.incidentId as string | undefined;
        return holder ? { opened: false, existingIncidentId: holder, collapsedOn: 'open-drift' } : undefined;
      },
    };
  }

  async get(incidentId: string): Promise<Incident | undefined> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: incidentKey(incidentId), ConsistentRead: true }),
    );
    return result.Item ? withoutKeys(result.Item) : undefined;
  }

  async setStatus(
    incidentId: string,
    from: IncidentStatus,
    status: IncidentStatus,
    statusReason?: string,
  ): Promise<boolean> {
    const move = { from, to: status, at: this.now().toISOString(), reason: statusReason };
    return (await this.commit(incidentId, { from, moves: [move] })) !== undefined;
  }

  async commit(incidentId: string, change: IncidentChange): Promise<Incident | undefined> {
    const by = await this.by();
    const sets: string[] = [];
    const removes: string[] = [];
    const values: Record<string, unknown> = { ':from': change.from };
    const moves = change.moves ?? [];
    const last = moves.at(-1);
    if (last) {
      sets.push('#status = :status');
      values[':status'] = last.to;
      if (last.reason === undefined) removes.push('statusReason');
      else {
        sets.push('statusReason = :reason');
        values[':reason'] = last.reason;
      }
    }
    // Only a change of status is history; a same-status move rewrites the reason alone.
    const history: StatusTransition[] = moves
      .filter((move) => move.from !== move.to)
      .map(({ reason, ...move }) => ({ ...move, by, ...(reason === undefined ? {} : { reason }) }));
    if (change.steps) {
      sets.push('steps = :steps');
      values[':steps'] = change.steps;
    }
    if (change.workflow) {
      sets.push('workflow = :workflow');
      values[':workflow'] = change.workflow;
    }
    if (change.alert) {
      sets.push('alert = :alert', 'alertPendingFor = ruleId');
      values[':alert'] = change.alert;
    }
    const write = async (extra: string, extraValues: Record<string, unknown>, condition: string) => {
      const expression = [
        `SET ${[...sets, extra, 'updatedAt = :now'].filter(Boolean).join(', ')}`,
        ...(removes.length > 0 ? [`REMOVE ${removes.join(', ')}`] : []),
      ].join(' ');
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: incidentKey(incidentId),
          UpdateExpression: expression,
          ConditionExpression: `attribute_exists(pk) AND #status = :from${condition}`,
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ...values, ...extraValues, ':now': this.now().toISOString() },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return withoutKeys(result.Attributes ?? {});
    };
    try {
      if (history.length === 0) return await write('', {}, '');
      try {
        return await write(
          'transitions = list_append(if_not_exists(transitions, :none), :transitions)',
          { ':transitions': history, ':none': [], ':room': MAX_TRANSITIONS - history.length + 1 },
          ' AND (attribute_not_exists(transitions) OR size(transitions) < :room)',
        );
      } catch (error) {
        // Another writer changed the status first (the item as it is now says so): lost the race.
        if (!(error instanceof ConditionalCheckFailedException) || error.Item?.status?.S !== change.from)
          throw error;
      }
      // The history is full: the move still goes through, and says from when it is not recorded.
      return await write(
        'transitionsTruncatedAt = if_not_exists(transitionsTruncatedAt, :at)',
        { ':at': history[0]?.at },
        '',
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  async alertSent(incidentId: string, sent: AlertRecord, release?: DriftRef): Promise<void> {
    if (!release) return this.setAlert(incidentId, sent);
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.tableName,
                Key: incidentKey(incidentId),
                UpdateExpression: 'REMOVE alertPendingFor SET alert = :alert, updatedAt = :now',
                ConditionExpression: 'attribute_exists(pk)',
                ExpressionAttributeValues: { ':alert': sent, ':now': this.now().toISOString() },
              },
            },
            {
              Delete: {
                TableName: this.tableName,
                Key: driftKey(release.ruleId, release.resourceArn),
                // Never release a lock that a newer incident holds.
                ConditionExpression: 'incidentId = :incidentId',
                ExpressionAttributeValues: { ':incidentId': incidentId },
              },
            },
          ],
        }),
      );
    } catch (error) {
      const [, lock] = error instanceof TransactionCanceledException ? (error.CancellationReasons ?? []) : [];
      if (lock?.Code !== 'ConditionalCheckFailed') throw error;
      // The lock is gone or another incident's: the alert is still recorded sent.
      await this.setAlert(incidentId, sent);
    }
  }

  /**
   * A pending alert also puts the incident in the sparse byPendingAlert index (alertPendingFor holds
   * its rule id); the sent one takes it out, so the index holds only alerts still owed.
   */
  async setAlert(incidentId: string, alert: AlertRecord): Promise<void> {
    const expression =
      alert.status === 'pending'
        ? 'SET alert = :alert, alertPendingFor = ruleId'
        : 'REMOVE alertPendingFor SET alert = :alert';
    await this.update(incidentId, expression, { values: { ':alert': alert } });
  }

  async updateFinding(
    incidentId: string,
    finding: { reason: string; evidence: Summary; findings?: FindingRef[]; findingsTotal?: number },
  ): Promise<void> {
    const findings = finding.findings ? ', findings = :findings' : '';
    // The total goes with the list it counts: kept when the list was cut, removed when it was not.
    const total = finding.findingsTotal !== undefined;
    const expression = finding.findings
      ? `${total ? '' : 'REMOVE findingsTotal '}SET reason = :reason, evidence = :evidence${findings}${total ? ', findingsTotal = :total' : ''}`
      : 'SET reason = :reason, evidence = :evidence';
    await this.update(incidentId, expression, {
      values: {
        ':reason': finding.reason,
        ':evidence': finding.evidence,
        ...(finding.findings && { ':findings': finding.findings }),
        ...(finding.findings && total && { ':total': finding.findingsTotal }),
      },
    });
  }

  async recordMitigation(
    incidentId: string,
    mitigation: MitigationRecord,
    replacing?: MitigationRecord,
    seenUpdatedAt?: string,
  ): Promise<boolean> {
    const unchanged = seenUpdatedAt !== undefined ? ' AND updatedAt = :seen' : '';
    const seen = seenUpdatedAt !== undefined ? { ':seen': seenUpdatedAt } : {};
    try {
      if (!replacing) {
        await this.update(incidentId, 'SET mitigation = :mitigation', {
          values: { ':mitigation': mitigation, ...seen },
          condition: `attribute_not_exists(mitigation)${unchanged}`,
        });
        return true;
      }
      await this.update(
        incidentId,
        'SET mitigation = :mitigation, earlierMitigations = list_append(if_not_exists(earlierMitigations, :none), :earlier)',
        {
          names: { '#status': 'status', '#at': 'at', '#by': 'by' },
          values: {
            ':mitigation': mitigation,
            ':earlier': [replacing],
            ':none': [],
            ':open': 'open',
            ':previousAt': replacing.at,
            ':previousBy': replacing.by,
            ...seen,
          },
          condition: `#status = :open AND mitigation.#at = :previousAt AND mitigation.#by = :previousBy${unchanged}`,
        },
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /**
   * Starts the one undo an incident may have (`incidents undo`): false when another undo already
   * started, so two people undoing at once replay the calls once.
   */
  async beginUndo(incidentId: string, undo: UndoRecord): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: incidentKey(incidentId),
          UpdateExpression: 'SET #undo = :undo, updatedAt = :now',
          ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(#undo)',
          ExpressionAttributeNames: { '#undo': 'undo' },
          ExpressionAttributeValues: { ':undo': undo, ':now': this.now().toISOString() },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** Records the undo's progress (after each call) and its end. */
  async saveUndo(incidentId: string, undo: UndoRecord): Promise<void> {
    await this.update(incidentId, 'SET #undo = :undo', {
      names: { '#undo': 'undo' },
      values: { ':undo': undo },
    });
  }

  async claim(incidentId: string, seenUpdatedAt: string): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: incidentKey(incidentId),
          UpdateExpression: 'SET updatedAt = :now',
          ConditionExpression: 'updatedAt = :seen',
          ExpressionAttributeValues: { ':now': this.now().toISOString(), ':seen': seenUpdatedAt },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async releaseDrift(ruleId: string, resourceArn: string, incidentId: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: driftKey(ruleId, resourceArn),
          // Never release a lock that a newer incident holds.
          ConditionExpression: 'incidentId = :incidentId',
          ExpressionAttributeValues: { ':incidentId': incidentId },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async openDrift(ruleId: string, resourceArn: string): Promise<string | undefined> {
    const result = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: driftKey(ruleId, resourceArn), ConsistentRead: true }),
    );
    return result.Item?.incidentId as string | undefined;
  }

  async heldDrifts(ruleId: string): Promise<{ resourceArn: string; incidentId: string }[]> {
    const held: { resourceArn: string; incidentId: string }[] = [];
    const pages = paginateQuery(
      { client: this.client },
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': driftKey(ruleId, '').pk },
        ConsistentRead: true,
      },
    );
    for await (const page of pages)
      for (const item of page.Items ?? [])
        held.push({ resourceArn: String(item.sk), incidentId: String(item.incidentId) });
    return held;
  }

  async list(filter: IncidentFilter): Promise<Incident[]> {
    const since = filter.since ?? new Date(this.now().getTime() - 30 * 24 * 3600 * 1000).toISOString();
    const limit = filter.limit ?? 1000;
    const queries = filter.status
      ? [{ index: 'byStatus', key: 'status', value: filter.status }]
      : filter.ruleId
        ? [{ index: 'byRule', key: 'ruleId', value: filter.ruleId }]
        : monthsSince(since, this.now()).map((month) => ({
            index: 'byMonth',
            key: 'detectedMonth',
            value: month,
          }));
    // Filtered page by page: the limit counts only incidents the filters keep.
    const kept = (incident: Incident) =>
      (!filter.ruleId || incident.ruleId === filter.ruleId) &&
      (!filter.status || incident.status === filter.status) &&
      (!filter.accounts || filter.accounts.includes(incident.account));
    const found: Incident[] = [];
    for (const query of queries) {
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: query.index,
            KeyConditionExpression: '#key = :value AND detectedAt >= :since',
            ExpressionAttributeNames: { '#key': query.key },
            ExpressionAttributeValues: { ':value': query.value, ':since': since },
            ScanIndexForward: false,
            ExclusiveStartKey: startKey,
          }),
        );
        found.push(...(page.Items ?? []).map(withoutKeys).filter(kept));
        startKey = page.LastEvaluatedKey;
      } while (startKey && found.length < limit);
    }
    return found.sort((a, b) => b.detectedAt.localeCompare(a.detectedAt)).slice(0, limit);
  }

  async pendingAlerts(ruleId: string): Promise<string[]> {
    const ids: string[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: 'byPendingAlert',
          KeyConditionExpression: 'alertPendingFor = :ruleId',
          ExpressionAttributeValues: { ':ruleId': ruleId },
          ProjectionExpression: 'pk',
          ExclusiveStartKey: startKey,
        }),
      );
      ids.push(...(page.Items ?? []).map((item) => String(item.pk).replace(/^INCIDENT#/, '')));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return ids;
  }

  private async update(
    incidentId: string,
    expression: string,
    {
      names,
      values,
      condition,
      returnOld = false,
    }: {
      names?: Record<string, string>;
      values: Record<string, unknown>;
      condition?: string;
      /** On a failed condition, the exception carries the item as it is (to tell why it failed). */
      returnOld?: boolean;
    },
  ): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: incidentKey(incidentId),
        UpdateExpression: `${expression}, updatedAt = :now`,
        ConditionExpression: condition ? `attribute_exists(pk) AND ${condition}` : 'attribute_exists(pk)',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: { ...values, ':now': this.now().toISOString() },
        ...(returnOld ? { ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const } : {}),
      }),
    );
  }
}
