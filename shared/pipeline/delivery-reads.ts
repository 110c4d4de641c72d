import { setTimeout as sleep } from 'node:timers/promises';
import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ResponderError } from '../errors';
import type { Exemption, ExemptionLedger } from '../exemptions/ledger';
import type { GuardRead } from './guards';
import type { Collapse, IncidentStore } from './incident-store';

/** A table item's key: every table the responder reads is keyed by pk and sk. */
export interface ItemKey {
  readonly pk: string;
  readonly sk: string;
}

export type Item = Record<string, unknown>;

/**
 * Items one reader needs, to be read together with other readers' items, and what they say: the
 * reader knows its keys and decides over what was read (a pure function), the batch reads them.
 */
export interface ItemsRead<T> {
  readonly tableName: string;
  readonly keys: readonly ItemKey[];
  /** What the items say, given in the order of `keys` (undefined where an item does not exist). */
  readonly decide: (items: readonly (Item | undefined)[]) => T;
}

type Reads = Record<string, ItemsRead<unknown> | undefined>;
type ReadResults<R extends Reads> = { [K in keyof R]: R[K] extends ItemsRead<infer T> ? T : undefined };

/** DynamoDB left keys unprocessed through every attempt: nothing was decided, the delivery is retried. */
export class ItemsNotRead extends ResponderError {
  override name = 'ItemsNotRead';
}

/** Requests of one batched read in all: the first, and retries of what DynamoDB left unprocessed. */
const BATCH_ATTEMPTS = 4;
/** The first retry's longest wait; each retry doubles it (full jitter). */
const RETRY_BASE_MS = 25;

/**
 * Reads every reader's items in one BatchGetItem (several tables in one request, each read
 * consistently) and hands each reader its own. Keys DynamoDB leaves unprocessed (throttling, a
 * response's size) are asked for again, at most BATCH_ATTEMPTS requests in all, after a short
 * jittered wait; then ItemsNotRead. At most 100 keys, as BatchGetItem allows: a delivery reads five.
 */
export async function readTogether<R extends Reads>(
  client: DynamoDBDocumentClient,
  reads: R,
): Promise<ReadResults<R>> {
  const wanted = Object.values(reads).flatMap((read) =>
    read ? read.keys.map((key) => ({ tableName: read.tableName, key })) : [],
  );
  const found = await batchGet(client, wanted);
  const results = Object.entries(reads).map(([name, read]) => [
    name,
    read?.decide(read.keys.map((key) => found.get(idOf(read.tableName, key)))),
  ]);
  return Object.fromEntries(results) as ReadResults<R>;
}

async function batchGet(
  client: DynamoDBDocumentClient,
  wanted: readonly { tableName: string; key: ItemKey }[],
): Promise<Map<string, Item>> {
  const found = new Map<string, Item>();
  let pending: Record<string, { Keys: Item[]; ConsistentRead: true }> = {};
  const asked = new Set<string>();
  for (const { tableName, key } of wanted) {
    // BatchGetItem refuses a request that names one key twice.
    if (asked.has(idOf(tableName, key))) continue;
    asked.add(idOf(tableName, key));
    pending[tableName] ??= { Keys: [], ConsistentRead: true };
    pending[tableName].Keys.push({ pk: key.pk, sk: key.sk });
  }
  for (let attempt = 1; Object.keys(pending).length > 0; attempt++) {
    if (attempt > BATCH_ATTEMPTS)
      throw new ItemsNotRead(
        `DynamoDB left ${Object.values(pending).flatMap((table) => table.Keys).length} key(s) unprocessed after ${BATCH_ATTEMPTS} BatchGetItem requests`,
      );
    if (attempt > 1) await sleep(Math.random() * RETRY_BASE_MS * 2 ** (attempt - 2));
    const answer = await client.send(new BatchGetCommand({ RequestItems: pending }));
    for (const [tableName, items] of Object.entries(answer.Responses ?? {}))
      for (const item of items)
        found.set(idOf(tableName, { pk: String(item.pk), sk: String(item.sk) }), item);
    pending = {};
    for (const [tableName, left] of Object.entries(answer.UnprocessedKeys ?? {}))
      if (left.Keys?.length) pending[tableName] = { Keys: left.Keys, ConsistentRead: true };
  }
  return found;
}

const idOf = (tableName: string, key: ItemKey) => JSON.stringify([tableName, key.pk, key.sk]);

/** What a delivery reads before it decides (issue 21: one batched read). */
export interface BeforeDeciding {
  /** What opening its incident would collapse on: this delivery's earlier incident, or the drift's. */
  readonly collapse: Collapse | undefined;
  /** The rule and resource's current exemption in the ledger, in force or not (unread: undefined). */
  readonly exemption: Exemption | undefined;
  /** What the blast-radius guard decides on; unread (notify mode), the guard reads it itself. */
  readonly guard: GuardRead | undefined;
}

export interface Delivery {
  readonly deliveryKey: string;
  readonly ruleId: string;
  readonly resourceArn: string;
}

/** Port: how a delivery reads what it decides on. */
export interface DeliveryReader {
  read(delivery: Delivery, wants: { exemption: boolean; guard: boolean }): Promise<BeforeDeciding>;
}

/** The DynamoDB adapters whose items a delivery reads, each knowing its keys. */
export interface BatchedSources {
  readonly store: { seenRead(delivery: Delivery): ItemsRead<Collapse | undefined> };
  readonly exemptions: { currentRead(ruleId: string, resourceArn: string): ItemsRead<Exemption | undefined> };
  readonly guard: { stateRead(): ItemsRead<GuardRead> };
}

/** The functions' reader: one BatchGetItem for the marker, the lock, the exemption and the guard. */
export class BatchedDeliveryReader implements DeliveryReader {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly sources: BatchedSources,
  ) {}

  read(delivery: Delivery, wants: { exemption: boolean; guard: boolean }): Promise<BeforeDeciding> {
    const { store, exemptions, guard } = this.sources;
    return readTogether(this.client, {
      collapse: store.seenRead(delivery),
      exemption: wants.exemption ? exemptions.currentRead(delivery.ruleId, delivery.resourceArn) : undefined,
      guard: wants.guard ? guard.stateRead() : undefined,
    });
  }
}

/**
 * Each port asked on its own (the in-memory ports of unit tests, a caller without the batch); the
 * guard then reads its own items when it decides.
 */
export function readEachPort(ports: { store: IncidentStore; exemptions: ExemptionLedger }): DeliveryReader {
  return {
    async read({ deliveryKey, ruleId, resourceArn }, wants) {
      return {
        collapse: await ports.store.seen(deliveryKey, ruleId, resourceArn),
        exemption: wants.exemption ? await ports.exemptions.current(ruleId, resourceArn) : undefined,
        guard: undefined,
      };
    },
  };
}
