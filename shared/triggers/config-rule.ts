import { type Observation, TriggerSource } from '../model';
import * as z from '../zod';
import {
  ConfigMessageType,
  type ConfigurationItem,
  configurationItemDiffSchema,
  configurationItemSchema,
  configurationItemSummarySchema,
  isGoneStatus,
  itemFacts,
  itemIdentity,
} from './config-item';
import {
  accountIdString,
  awsBoolean,
  boundedEventId,
  boundedSummary,
  idString,
  invalid,
  isoTimestamp,
  jsonString,
  MAX_ID_LENGTH,
  parseWith,
  regionString,
} from './parse';
import type { ConfigEvaluationContext, TriggerEvent } from './types';

/**
 * AWS Config custom rule invocation (the Lambda event Config sends). `invokingEvent` and
 * `ruleParameters` are JSON strings; the rule answers with PutEvaluations using `resultToken`.
 */

/** Config result tokens are opaque and run to a few kilobytes; anything far larger is not one. */
const MAX_RESULT_TOKEN_LENGTH = 64 * 1024;

const invocationSchema = z.object({
  accountId: accountIdString,
  configRuleName: idString,
  configRuleArn: z.optional(z.string().check(z.maxLength(2048))),
  resultToken: z.string().check(z.minLength(1), z.maxLength(MAX_RESULT_TOKEN_LENGTH)),
  eventLeftScope: z.optional(awsBoolean),
  // Only the message type here: the body is validated by the schema for that type.
  invokingEvent: jsonString(z.looseObject({ messageType: z.enum(ConfigMessageType) })),
  ruleParameters: z.optional(jsonString(z.record(z.string().check(z.maxLength(MAX_ID_LENGTH)), z.string()))),
});
type Invocation = z.output<typeof invocationSchema>;

const itemChangeBody = z.object({
  configurationItem: configurationItemSchema,
  configurationItemDiff: configurationItemDiffSchema,
  notificationCreationTime: z.optional(isoTimestamp),
});

/** The item as sent (tags, configuration): the pipeline judges it, the adapter only passes it on. */
const sentItem = z.looseObject({ configurationItem: z.unknown() });

const oversizedItemChangeBody = z.object({
  configurationItemSummary: configurationItemSummarySchema,
  notificationCreationTime: z.optional(isoTimestamp),
});

const scheduledBody = z.object({
  awsAccountId: z.optional(accountIdString),
  awsRegion: z.optional(regionString),
  notificationCreationTime: isoTimestamp,
});

/** Parses a Config custom rule invocation. Throws ValidationError naming the field for anything else. */
export const parseConfigRuleInvocation = (event: unknown): TriggerEvent => {
  const invocation = parseWith(invocationSchema, event);
  switch (invocation.invokingEvent.messageType) {
    case ConfigMessageType.ItemChange:
      return itemChange(invocation);
    case ConfigMessageType.OversizedItemChange:
      return oversizedItemChange(invocation);
    case ConfigMessageType.Scheduled:
      return scheduled(invocation);
  }
};

const itemChange = (invocation: Invocation): TriggerEvent => {
  const body = parseWith(itemChangeBody, invocation.invokingEvent, 'invokingEvent');
  const item = body.configurationItem;
  const orderingTimestamp = requireTimestamp(
    item.configurationItemCaptureTime ?? body.notificationCreationTime,
  );
  const notApplicable = invocation.eventLeftScope === true || isGoneStatus(item.configurationItemStatus);
  return resourceEvent(
    invocation,
    item,
    orderingTimestamp,
    notApplicable,
    body.configurationItemDiff?.changeType,
    parseWith(sentItem, invocation.invokingEvent, 'invokingEvent').configurationItem,
  );
};

/** The summary carries identity only: the pipeline fetches the item from Config to judge it. */
const oversizedItemChange = (invocation: Invocation): TriggerEvent => {
  const body = parseWith(oversizedItemChangeBody, invocation.invokingEvent, 'invokingEvent');
  const summary = body.configurationItemSummary;
  const orderingTimestamp = requireTimestamp(
    summary.configurationItemCaptureTime ?? body.notificationCreationTime,
  );
  return resourceEvent(
    invocation,
    summary,
    orderingTimestamp,
    invocation.eventLeftScope === true,
    summary.changeType,
  );
};

const scheduled = (invocation: Invocation): TriggerEvent => {
  const body = parseWith(scheduledBody, invocation.invokingEvent, 'invokingEvent');
  return {
    kind: 'sweep',
    sweep: {
      source: TriggerSource.ConfigRule,
      eventId: boundedEventId(invocation.resultToken),
      eventName: ConfigMessageType.Scheduled,
      accountId: body.awsAccountId ?? invocation.accountId,
      region: sweepRegion(invocation.configRuleArn, body.awsRegion),
      observedAt: body.notificationCreationTime,
    },
    configEvaluation: evaluationContext(invocation, body.notificationCreationTime),
  };
};

const resourceEvent = (
  invocation: Invocation,
  item: ConfigurationItem,
  orderingTimestamp: string,
  notApplicable: boolean,
  changeType: string | null | undefined,
  sentItem?: unknown,
): TriggerEvent => {
  const messageType = invocation.invokingEvent.messageType;
  const observation: Observation = {
    source: TriggerSource.ConfigRule,
    eventId: `${boundedEventId(invocation.resultToken)}:${item.resourceId}`,
    eventName: messageType,
    ...itemIdentity(item),
    observedAt: orderingTimestamp,
    configRuleName: invocation.configRuleName,
    ...(notApplicable ? { notApplicable: true } : {}),
    ...(sentItem !== undefined && { sentItem: () => sentItem }),
    summary: boundedSummary({
      ...itemFacts(messageType, item, changeType),
      eventLeftScope: invocation.eventLeftScope,
    }),
  };
  return {
    kind: 'resources',
    observations: [observation],
    configEvaluation: evaluationContext(invocation, orderingTimestamp),
  };
};

const evaluationContext = (invocation: Invocation, orderingTimestamp: string): ConfigEvaluationContext => ({
  resultToken: invocation.resultToken,
  configRuleName: invocation.configRuleName,
  ruleParameters: { ...invocation.ruleParameters },
  orderingTimestamp,
});

/** PutEvaluations needs an ordering timestamp: the capture time, else the notification time. */
const requireTimestamp = (timestamp: string | null | undefined): string => {
  if (!timestamp) {
    throw invalid(
      'invokingEvent.notificationCreationTime',
      'required when the configuration item has no configurationItemCaptureTime',
    );
  }
  return timestamp;
};

const RULE_ARN_REGION = /^arn:[a-z-]+:config:([a-z0-9-]+):/;

/** A periodic evaluation names no resource: its region comes from the rule's ARN (never the process). */
const sweepRegion = (configRuleArn: string | undefined, awsRegion: string | undefined): string => {
  const region = configRuleArn?.match(RULE_ARN_REGION)?.[1] ?? awsRegion;
  if (!region)
    throw invalid('configRuleArn', 'a Config rule ARN with a region is required for ScheduledNotification');
  return region;
};
