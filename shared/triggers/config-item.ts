import * as z from '../zod';
import { accountIdString, idString, isoTimestamp, regionString } from './parse';

/**
 * AWS Config configuration items as they appear in rule invocations (invokingEvent) and in
 * EventBridge "Config Configuration Item Change" events. Only the fields the adapters read are
 * declared; `configuration` is never read (it may be null for deleted resources).
 */

export const ConfigMessageType = {
  ItemChange: 'ConfigurationItemChangeNotification',
  OversizedItemChange: 'OversizedConfigurationItemChangeNotification',
  Scheduled: 'ScheduledNotification',
} as const;

/** Statuses that mean the resource is gone or no longer recorded: NOT_APPLICABLE, act on nothing. */
const GONE_STATUSES: ReadonlySet<string> = new Set([
  'ResourceDeleted',
  'ResourceDeletedNotRecorded',
  'ResourceNotRecorded',
]);

export const isGoneStatus = (status: string | null | undefined): boolean =>
  status != null && GONE_STATUSES.has(status);

const itemFields = {
  resourceType: idString,
  resourceId: idString,
  awsRegion: regionString,
  awsAccountId: accountIdString,
  configurationItemCaptureTime: z.nullish(isoTimestamp),
  configurationItemStatus: z.nullish(z.string().check(z.maxLength(64))),
  ARN: z.nullish(z.string().check(z.maxLength(2048))),
};

export const configurationItemSchema = z.object(itemFields);

/** The summary of an oversized item: the same identity fields, plus the change type. */
export const configurationItemSummarySchema = z.object({
  ...itemFields,
  changeType: z.nullish(z.string().check(z.maxLength(64))),
});

export type ConfigurationItem = z.output<typeof configurationItemSchema>;

/** `configurationItemDiff` may be null or absent; only its change type is kept. */
export const configurationItemDiffSchema = z.nullish(
  z.object({ changeType: z.nullish(z.string().check(z.maxLength(64))) }),
);

/** Where a configuration item (or its summary) lives, as Observation fields. */
export const itemIdentity = (item: ConfigurationItem) => ({
  accountId: item.awsAccountId,
  region: item.awsRegion,
  resourceType: item.resourceType,
  resourceId: item.resourceId,
});

/** The summary facts of an item: never its configuration or tags. */
export const itemFacts = (
  messageType: string,
  item: ConfigurationItem,
  changeType: string | null | undefined,
) => ({
  messageType,
  configurationItemStatus: item.configurationItemStatus ?? undefined,
  changeType: changeType ?? undefined,
  arn: item.ARN ?? undefined,
});
