import { type Actor, type Observation, TriggerSource } from '../model';
import { resourceTypes } from '../resources';
import type { CallMapping } from '../resources/resource-type';
import * as z from '../zod';
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
  type: z.optional(z.string().check(z.maxLength(64))),
  arn: z.optional(z.string().check(z.maxLength(2048))),
  principalId: z.optional(idString),
  accountId: z.optional(accountIdString),
  sessionContext: z.optional(
    z.object({
      sessionIssuer: z.optional(z.object({ arn: z.optional(z.string().check(z.maxLength(2048))) })),
    }),
  ),
});

const recordSchema = z.object({
  eventName: idString,
  eventSource: idString,
  eventID: idString,
  eventTime: isoTimestamp,
  awsRegion: regionString,
  recipientAccountId: z.optional(accountIdString),
  userIdentity: userIdentitySchema,
  sourceIPAddress: z.optional(z.string().check(z.maxLength(8192))),
  userAgent: z.optional(z.string().check(z.maxLength(8192))),
  errorCode: z.optional(z.string().check(z.maxLength(1024))),
});
type CloudTrailRecord = z.output<typeof recordSchema>;

interface ResourceMapping extends CallMapping {
  readonly resourceType: string;
}

/**
 * Which resource a call touched, by eventName: what the resource-type modules declare, in one table.
 * Two types may claim one eventName of one service only when each says which records are its
 * (`accepts`), as Elastic Load Balancing v2 and Classic do; anything else would be ambiguous: refused
 * when the module loads. The same name from two services is two calls.
 */
const RESOURCE_MAPPINGS: ReadonlyMap<string, readonly ResourceMapping[]> = resourceTypes
  .flatMap((resource) =>
    Object.entries(resource.calls).map(
      ([eventName, call]) => [eventName, { ...call, resourceType: resource.type }] as const,
    ),
  )
  .reduce((table, [eventName, mapping]) => {
    const claimed = table.get(eventName) ?? [];
    // Calls of one name from two services (Lambda's and EventBridge's RemovePermission) are told apart by service.
    const sameService = claimed.filter((each) => each.eventSource === mapping.eventSource);
    if (sameService.length > 0 && [...sameService, mapping].some((each) => !each.accepts)) {
      throw new Error(`${eventName} is mapped by two resource types and not told apart (accepts)`);
    }
    return table.set(eventName, [...claimed, mapping]);
  }, new Map<string, ResourceMapping[]>());

/** The eventNames the adapter can map to resources (what the EventBridge rules may route). */
export const CLOUDTRAIL_EVENT_NAMES: readonly string[] = [...RESOURCE_MAPPINGS.keys()];

/** The one mapping of this record: by name, then service, then (shared names) by what it says of itself. */
function mappingOf(record: unknown, eventName: string, eventSource: string, prefix: string): ResourceMapping {
  const named = RESOURCE_MAPPINGS.get(eventName) ?? [];
  if (named.length === 0) {
    throw invalid(
      fieldPath(prefix, 'eventName'),
      `no resource mapping for ${JSON.stringify(truncate(eventName, 64))}`,
    );
  }
  const sameSource = named.filter((mapping) => mapping.eventSource === eventSource);
  if (sameSource.length === 0) {
    throw invalid(
      fieldPath(prefix, 'eventSource'),
      `${eventName} is mapped for ${named.map((mapping) => mapping.eventSource).join(', ')}, not ${truncate(eventSource, 64)}`,
    );
  }
  const accepted = sameSource.filter((mapping) => !mapping.accepts || mapping.accepts(record));
  const [mapping] = accepted;
  if (!mapping || accepted.length > 1) {
    throw invalid(
      fieldPath(prefix, 'apiVersion'),
      `${eventName} of ${truncate(eventSource, 64)} is of ${accepted.length === 0 ? 'no' : 'more than one'} mapped API (${sameSource.map((each) => each.resourceType).join(', ')})`,
    );
  }
  return mapping;
}

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
  const mapping = mappingOf(record, parsed.eventName, parsed.eventSource, prefix);
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
      request: () => requestParametersOf(record),
    }),
  );
  return { kind: 'resources', observations };
};

/** The record's requestParameters: an object, or none (AWS logs null for calls without any). */
function requestParametersOf(record: unknown): unknown {
  if (typeof record !== 'object' || record === null) return undefined;
  return (record as { requestParameters?: unknown }).requestParameters ?? undefined;
}

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

const cloudTrailEventSchema = z.extend(eventBridgeEnvelope(z.unknown()), {
  'detail-type': z.literal(CLOUDTRAIL_DETAIL_TYPE),
  source: z.string().check(z.regex(/^aws\.[a-z0-9-]{1,64}$/, 'expected an AWS service source (aws.*)')),
});

/** Parses an EventBridge "AWS API Call via CloudTrail" event; the record is its `detail`. */
export const parseCloudTrailEvent = (event: unknown): TriggerEvent => {
  const envelope = parseWith(cloudTrailEventSchema, event);
  return parseCloudTrailRecord(envelope.detail, { accountId: envelope.account, fieldPrefix: 'detail' });
};
