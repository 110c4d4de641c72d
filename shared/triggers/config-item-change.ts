import { TriggerSource } from '../model';
import * as z from '../zod';
import {
  ConfigMessageType,
  configurationItemDiffSchema,
  configurationItemSchema,
  configurationItemSummarySchema,
  isGoneStatus,
  itemFacts,
  itemIdentity,
} from './config-item';
import { eventBridgeEnvelope } from './eventbridge';
import { boundedSummary, parseWith } from './parse';
import type { TriggerEvent } from './types';

/**
 * EventBridge "Config Configuration Item Change": Config recorded a change to a resource. Not a rule
 * invocation (no result token), so the source is 'config-compliance', the Config-via-EventBridge source.
 */

export const ITEM_CHANGE_DETAIL_TYPE = 'Config Configuration Item Change';

const itemChangeEventSchema = z.extend(
  eventBridgeEnvelope(
    z.looseObject({
      messageType: z.enum([ConfigMessageType.ItemChange, ConfigMessageType.OversizedItemChange]),
    }),
  ),
  {
    'detail-type': z.literal(ITEM_CHANGE_DETAIL_TYPE),
    source: z.literal('aws.config'),
  },
);

const itemChangeDetail = z.object({
  configurationItem: configurationItemSchema,
  configurationItemDiff: configurationItemDiffSchema,
});

const oversizedItemChangeDetail = z.object({ configurationItemSummary: configurationItemSummarySchema });

/**
 * Parses the event into one observation. A deleted or unrecorded item is `notApplicable`; an oversized
 * item's summary gives identity only (the rule re-reads the resource), so nothing is decided from it.
 */
export const parseConfigItemChangeEvent = (event: unknown): TriggerEvent => {
  const envelope = parseWith(itemChangeEventSchema, event);
  const messageType = envelope.detail.messageType;
  const { item, changeType, notApplicable } =
    messageType === ConfigMessageType.ItemChange
      ? fullItem(parseWith(itemChangeDetail, envelope.detail, 'detail'))
      : summaryOnly(parseWith(oversizedItemChangeDetail, envelope.detail, 'detail'));
  return {
    kind: 'resources',
    observations: [
      {
        source: TriggerSource.ConfigCompliance,
        eventId: envelope.id,
        eventName: ITEM_CHANGE_DETAIL_TYPE,
        ...itemIdentity(item),
        observedAt: envelope.time,
        ...(notApplicable ? { notApplicable: true } : {}),
        summary: boundedSummary(itemFacts(messageType, item, changeType)),
      },
    ],
  };
};

const fullItem = (detail: z.output<typeof itemChangeDetail>) => ({
  item: detail.configurationItem,
  changeType: detail.configurationItemDiff?.changeType,
  notApplicable: isGoneStatus(detail.configurationItem.configurationItemStatus),
});

const summaryOnly = (detail: z.output<typeof oversizedItemChangeDetail>) => ({
  item: detail.configurationItemSummary,
  changeType: detail.configurationItemSummary.changeType,
  notApplicable: false,
});
