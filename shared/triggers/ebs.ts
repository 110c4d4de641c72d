import { TriggerSource } from '../model';
import * as z from '../zod';
import { eventBridgeEnvelope } from './eventbridge';
import { boundedSummary, idString, invalid, parseWith } from './parse';
import type { TriggerEvent } from './types';

/**
 * EventBridge "EBS Snapshot Notification" and "EBS Volume Notification" (source aws.ec2): a long
 * operation (snapshot, volume creation) finished. Their times are not trusted to be ISO (AWS's own
 * examples carry `yyyy-mm-ddThh:mm:ssZ`), and snapshot ARNs can be odd
 * (`arn:aws:ec2::us-west-2:snapshot/snap-…`): only the id after the last '/' is used.
 */

export const EbsDetailType = {
  Snapshot: 'EBS Snapshot Notification',
  Volume: 'EBS Volume Notification',
} as const;

const facts = {
  event: z.string().check(z.maxLength(256)),
  result: z.string().check(z.maxLength(256)),
  cause: z.optional(z.string().check(z.maxLength(64 * 1024))),
};

const ebsEventSchema = z.extend(eventBridgeEnvelope(z.looseObject({})), {
  'detail-type': z.enum(EbsDetailType),
  source: z.literal('aws.ec2'),
});

const snapshotDetail = z.object({ ...facts, snapshot_id: idString });
const volumeDetail = z.object(facts);

type EbsEvent = z.output<typeof ebsEventSchema>;

const SNAPSHOT_ID = /^snap-[0-9a-zA-Z]{1,64}$/;
const VOLUME_ID = /^vol-[0-9a-zA-Z]{1,64}$/;

/** The id after the last '/', so an id alone and any ARN form both work. */
const idAfterLastSlash = (arnOrId: string, pattern: RegExp, field: string): string => {
  const id = arnOrId.slice(arnOrId.lastIndexOf('/') + 1);
  if (!pattern.test(id)) throw invalid(field, `expected an id or ARN ending in ${pattern.source}`);
  return id;
};

const snapshotResource = (envelope: EbsEvent) => {
  const detail = parseWith(snapshotDetail, envelope.detail, 'detail');
  const resourceId = idAfterLastSlash(detail.snapshot_id, SNAPSHOT_ID, 'detail.snapshot_id');
  return { detail, resourceType: 'AWS::EC2::Snapshot', resourceId };
};

/** Volume notifications name the volume only in the envelope's `resources`. */
const volumeResource = (envelope: EbsEvent) => {
  const detail = parseWith(volumeDetail, envelope.detail, 'detail');
  const arn = envelope.resources?.[0];
  if (!arn) throw invalid('resources[0]', 'expected the volume ARN');
  return {
    detail,
    resourceType: 'AWS::EC2::Volume',
    resourceId: idAfterLastSlash(arn, VOLUME_ID, 'resources[0]'),
  };
};

/** Parses an EBS notification into one observation of the snapshot or volume it names. */
export const parseEbsNotificationEvent = (event: unknown): TriggerEvent => {
  const envelope = parseWith(ebsEventSchema, event);
  const { detail, resourceType, resourceId } =
    envelope['detail-type'] === EbsDetailType.Snapshot
      ? snapshotResource(envelope)
      : volumeResource(envelope);
  return {
    kind: 'resources',
    observations: [
      {
        source: TriggerSource.EbsNotification,
        eventId: envelope.id,
        eventName: envelope['detail-type'],
        accountId: envelope.account,
        region: envelope.region,
        resourceType,
        resourceId,
        observedAt: envelope.time,
        summary: boundedSummary({ event: detail.event, result: detail.result, cause: detail.cause }),
      },
    ],
  };
};
