import { TriggerSource } from '../model';
import * as z from '../zod';
import { eventBridgeEnvelope } from './eventbridge';
import { jsonString, parseWith } from './parse';
import type { TriggerEvent } from './types';

/**
 * EventBridge "Scheduled Event": a rule schedule (source aws.events, `detail` an object, often {}) or
 * EventBridge Scheduler (source aws.scheduler, `detail` the string "{}"). The detail is never read.
 */

export const SCHEDULED_DETAIL_TYPE = 'Scheduled Event';

const anyObject = z.record(z.string(), z.unknown());

const scheduledEventSchema = z.extend(eventBridgeEnvelope(z.union([anyObject, jsonString(anyObject)])), {
  'detail-type': z.literal(SCHEDULED_DETAIL_TYPE),
  source: z.enum(['aws.events', 'aws.scheduler']),
});

/** Parses a scheduled event into a sweep of the account and region it was delivered in. */
export const parseScheduledEvent = (event: unknown): TriggerEvent => {
  const envelope = parseWith(scheduledEventSchema, event);
  return {
    kind: 'sweep',
    sweep: {
      source: TriggerSource.Schedule,
      eventId: envelope.id,
      eventName: SCHEDULED_DETAIL_TYPE,
      accountId: envelope.account,
      region: envelope.region,
      observedAt: envelope.time,
    },
  };
};
