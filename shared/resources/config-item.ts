import type { Loaded, Rule } from '../rules/rule';
import { isGoneStatus } from '../triggers/config-item';
import { accountIdString, idString, invalid, jsonString, parseWith, regionString } from '../triggers/parse';
import * as z from '../zod';

/**
 * A configuration item, read the same whether Config sent it (the `configurationItem` of a
 * ConfigurationItemChangeNotification) or GetResourceConfigHistory returned it (for an oversized
 * one): identity, tags, and the configuration, which Config records as the resource type's
 * Describe* output with camelCase keys. Each resource-type module reads that configuration into
 * what its live read returns; each rule maps that to the same Loaded its load() produces.
 */
export interface RecordedItem {
  readonly resourceType: string;
  readonly resourceId: string;
  readonly region: string;
  readonly accountId: string;
  readonly status: string | undefined;
  readonly tags: Readonly<Record<string, string>>;
  /** null or absent for a deleted item. */
  readonly configuration: unknown;
}

/**
 * The item lacks a fact the verdict needs (a prefix list's entries, say): no verdict may be drawn
 * from it, compliant least of all. Judge a live read (load()) instead.
 */
export interface NotInItem {
  readonly notInItem: string;
}

export const notInItem = (what: string): NotInItem => ({ notInItem: what });

export const isNotInItem = (reading: unknown): reading is NotInItem =>
  typeof reading === 'object' && reading !== null && 'notInItem' in reading;

/** The item's tags as the EC2 SDK lists them (Config records them as a map). */
export const recordedTags = (item: RecordedItem): { Key: string; Value: string }[] =>
  Object.entries(item.tags).map(([Key, Value]) => ({ Key, Value }));

/** What an item shows, as load() would read it: the resource, gone (undefined), or not enough. */
export type ItemReading<State> = Loaded<State> | undefined | NotInItem;

/** AWS::::Account is Config's pseudo type for account-level checks: no item is ever recorded for it. */
export const isRecordedByConfig = (resourceType: string): boolean => !resourceType.startsWith('AWS::::');

const tags = z.nullish(z.record(z.string().check(z.maxLength(256)), z.string().check(z.maxLength(512))));
const status = z.nullish(z.string().check(z.maxLength(64)));

/** The notification's item: `ARN`, `awsAccountId`, the configuration as an object. */
const notifiedItem = z.object({
  resourceType: idString,
  resourceId: idString,
  awsRegion: regionString,
  awsAccountId: accountIdString,
  configurationItemStatus: status,
  tags,
  configuration: z.optional(z.unknown()),
});

/** GetResourceConfigHistory's item: `arn`, `accountId`, the configuration as a JSON string. */
const historyItem = z.object({
  resourceType: idString,
  resourceId: idString,
  awsRegion: regionString,
  accountId: accountIdString,
  configurationItemStatus: status,
  tags,
  configuration: z.nullish(jsonString(z.unknown())),
});

/** Reads either shape; throws ValidationError naming the field for anything else. */
export function readConfigurationItem(raw: unknown, prefix = 'configurationItem'): RecordedItem {
  const shape = typeof raw === 'object' && raw !== null && 'awsAccountId' in raw ? notifiedItem : historyItem;
  const item = parseWith(shape, raw, prefix);
  return {
    resourceType: item.resourceType,
    resourceId: item.resourceId,
    region: item.awsRegion,
    accountId: 'awsAccountId' in item ? item.awsAccountId : item.accountId,
    status: item.configurationItemStatus ?? undefined,
    tags: item.tags ?? {},
    configuration: item.configuration ?? null,
  };
}

/**
 * What a configuration item shows for a rule, as its load() would read it (Rule.fromConfigItem):
 * undefined for a deleted or no longer recorded item, NotInItem for one without its configuration. Throws ValidationError for an item of a type
 * the rule does not evaluate, or one it cannot read.
 */
export function loadFromConfigItem(rule: Rule, raw: unknown): ItemReading<unknown> {
  const item = readConfigurationItem(raw);
  const map = rule.fromConfigItem?.[item.resourceType];
  if (!map) {
    throw invalid('configurationItem.resourceType', `not a type ${rule.id} evaluates: ${item.resourceType}`);
  }
  if (isGoneStatus(item.status)) return undefined;
  // An item recorded without its configuration shows nothing a verdict could rest on.
  return item.configuration === null ? notInItem('its configuration') : map(item);
}
