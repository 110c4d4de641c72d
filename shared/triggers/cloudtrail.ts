import { z } from 'zod';
import { type Actor, type Observation, TriggerSource } from '../model';
import { resourceTypes } from '../resources';
import type { CallMapping } from '../resources/resource-type';
import { eventBridgeEnvelope } from './eventbridge';
import {
  accountIdString,
  boundedSummary,
  fieldPath,
  idString,
  invalid,
  isoTimestamp,
  parseWith,
  regionString,
  truncate,
} from './parse';
import type { TriggerEvent } from './types';

/**
 * EventBridge "AWS API Call via CloudTrail" events, and bare CloudTrail records (the event's
 * `detail`, or one entry of a CloudTrail log file's `Records`).
 */

export const CLOUDTRAIL_DETAIL_TYPE = 'AWS API Call via CloudTrail';

const MAX_ACTOR_FIELD_LENGTH = 1024;

const userIdentitySchema = z.object({
  type: z.string().max(64).optional(),
  arn: z.string().max(2048).optional(),
  principalId: idString.optional(),
  accountId: accountIdString.optional(),
  sessionContext: z
    .object({ sessionIssuer: z.object({ arn: z.string().max(2048).optional() }).optional() })
    .optional(),
});

const recordSchema = z.object({
  eventName: idString,
  eventSource: idString,
  eventID: idString,
  eventTime: isoTimestamp,
  awsRegion: regionString,
  recipientAccountId: accountIdString.optional(),
  userIdentity: userIdentitySchema,
  sourceIPAddress: z.string().max(8192).optional(),
  userAgent: z.string().max(8192).optional(),
  errorCode: z.string().max(1024).optional(),
});
type CloudTrailRecord = z.output<typeof recordSchema>;

interface ResourceMapping extends CallMapping {
  readonly resourceType: string;
}

/**
 * Which resource a call touched, by eventName: what the resource-type modules declare, in one table.
 * An eventName two types claimed would be ambiguous: refused when the module loads.
 */
const RESOURCE_MAPPINGS: Readonly<Record<string, ResourceMapping>> = Object.fromEntries(
  resourceTypes.flatMap((resource) =>
    Object.entries(resource.calls).map(([eventName, call]) => [
      eventName,
      { ...call, resourceType: resource.type },
    ]),
  ),
);
const declaredCalls = resourceTypes.flatMap((resource) => Object.keys(resource.calls));
if (declaredCalls.length !== Object.keys(RESOURCE_MAPPINGS).length) {
  throw new Error(`an eventName is mapped by two resource types: ${declaredCalls.join(', ')}`);
}

/** The eventNames the adapter can map to resources (what the EventBridge rules may route). */
export const CLOUDTRAIL_EVENT_NAMES: readonly string[] = Object.keys(RESOURCE_MAPPINGS);

export interface CloudTrailRecordOptions {
  /** The account the event was delivered in (EventBridge `account`); else the record's recipient account. */
  accountId?: string;
  /** Where the record sits in the event, for error fields: `detail` inside an EventBridge envelope. */
  fieldPrefix?: string;
}

/**
 * Parses one CloudTrail record. A call that failed (`errorCode`) changed nothing: it is reported as
 * ignored with no observations. An eventName not in the table is a routing mistake: ValidationError.
 */
export const parseCloudTrailRecord = (
  record: unknown,
  options: CloudTrailRecordOptions = {},
): TriggerEvent => {
  const prefix = options.fieldPrefix ?? '';
  const parsed = parseWith(recordSchema, record, prefix);
  const mapping = Object.hasOwn(RESOURCE_MAPPINGS, parsed.eventName)
    ? RESOURCE_MAPPINGS[parsed.eventName]
    : undefined;
  if (!mapping) {
    throw invalid(
      fieldPath(prefix, 'eventName'),
      `no resource mapping for ${JSON.stringify(truncate(parsed.eventName, 64))}`,
    );
  }
  if (mapping.eventSource !== parsed.eventSource) {
    throw invalid(
      fieldPath(prefix, 'eventSource'),
      `${parsed.eventName} is mapped for ${mapping.eventSource}, not ${truncate(parsed.eventSource, 64)}`,
    );
  }
  if (parsed.errorCode !== undefined) {
    return {
      kind: 'resources',
      observations: [],
      ignored: `call failed: ${truncate(parsed.errorCode, 128)}`,
    };
  }
  const accountId = options.accountId ?? parsed.recipientAccountId ?? parsed.userIdentity.accountId;
  if (!accountId) throw invalid(fieldPath(prefix, 'recipientAccountId'), 'required to know the account');

  const summary = boundedSummary({
    eventName: parsed.eventName,
    eventSource: parsed.eventSource,
    ...mapping.facts?.(record),
  });
  const actor = actorOf(parsed);
  if (mapping.regionWide) {
    return {
      kind: 'sweep',
      sweep: {
        source: TriggerSource.CloudTrail,
        eventId: parsed.eventID,
        eventName: parsed.eventName,
        accountId,
        region: parsed.awsRegion,
        observedAt: parsed.eventTime,
        actor,
      },
    };
  }
  const observations = mapping.resourceIds(record, prefix, accountId).map(
    (resourceId): Observation => ({
      source: TriggerSource.CloudTrail,
      eventId: parsed.eventID,
      eventName: parsed.eventName,
      accountId,
      region: parsed.awsRegion,
      resourceType: mapping.resourceType,
      resourceId,
      observedAt: parsed.eventTime,
      actor: { ...actor },
      summary: { ...summary },
    }),
  );
  return { kind: 'resources', observations };
};

const actorOf = (record: CloudTrailRecord): Actor => {
  const identity = record.userIdentity;
  const fields: Actor = {
    type: identity.type,
    arn: identity.arn,
    principalId: identity.principalId,
    accountId: identity.accountId,
    sessionIssuerArn: identity.sessionContext?.sessionIssuer?.arn,
    sourceIp: record.sourceIPAddress && truncate(record.sourceIPAddress, MAX_ACTOR_FIELD_LENGTH),
    userAgent: record.userAgent && truncate(record.userAgent, MAX_ACTOR_FIELD_LENGTH),
  };
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
};

const cloudTrailEventSchema = eventBridgeEnvelope(z.unknown()).extend({
  'detail-type': z.literal(CLOUDTRAIL_DETAIL_TYPE),
  source: z.string().regex(/^aws\.[a-z0-9-]{1,64}$/, 'expected an AWS service source (aws.*)'),
});

/** Parses an EventBridge "AWS API Call via CloudTrail" event; the record is its `detail`. */
export const parseCloudTrailEvent = (event: unknown): TriggerEvent => {
  const envelope = parseWith(cloudTrailEventSchema, event);
  return parseCloudTrailRecord(envelope.detail, { accountId: envelope.account, fieldPrefix: 'detail' });
};
