import * as z from '../zod';
import { jsonString, parseWith } from './parse';

/**
 * A unit of a scheduled sweep (shared/pipeline/sweep-units.ts): one page of one rule's listing in
 * one region (or the rest of one, when its predecessor ran out of time), delivered by the rule's
 * own SQS queue. A unit is a request, never an authority: the
 * consumer checks it names its own rule and a region its sweep covers, and re-reads everything
 * from AWS.
 */

/** A region name, or `global` for a rule's regionless resources (IAM). */
const REGION = /^(global|[a-z]{2}(-[a-z]+)+-\d{1,2})$/;
/** The generic cursor: how many resources of the listing earlier units judged. */
const CURSOR = /^\d{1,7}$/;
/** A chain of units ends here whatever its cursors say: a forged or looping chain cannot run forever. */
export const MAX_UNIT_PAGE = 10_000;
/** The longest ARN AWS documents (IAM's limit); a unit names at most two. */
const ARN_MAX = 2048;

export const sweepUnitSchema = z.strictObject({
  ruleId: z.string().check(z.minLength(1), z.maxLength(64)),
  region: z.string().check(z.regex(REGION, 'expected a region name or global')),
  /** Where in the listing this unit starts; absent: at its beginning. */
  cursor: z.optional(z.string().check(z.regex(CURSOR, 'expected a listing position'))),
  /**
   * The ARN of the last resource the chain judged before this unit: the unit resumes right after
   * it wherever the listing shows it now (resources made or deleted meanwhile shift positions), and
   * at `cursor` only when it is gone. Absent: at `cursor`.
   */
  after: z.optional(z.string().check(z.minLength(1), z.maxLength(ARN_MAX))),
  /**
   * The region's listing is done: this unit judges only the rule's held drift the listing did not
   * show (Rule.rejudgesHeldDrift), in ARN order, after this ARN (the last one judged).
   */
  heldAfter: z.optional(z.string().check(z.minLength(1), z.maxLength(ARN_MAX))),
  /** The account swept (the organisation issue); absent: the queue's own account. */
  account: z.optional(z.string().check(z.regex(/^\d{12}$/, 'expected a 12-digit account id'))),
  /** The scheduled event's id: every unit of one sweep shares it, and it keys the deliveries. */
  sweepId: z.string().check(z.minLength(1), z.maxLength(200)),
  /** When the scheduled event fired: the sweep's observation time, the same for every unit. */
  observedAt: z.iso.datetime({ offset: true }),
  /** The unit's place in its region's chain: 1 for the planned unit, then each continuation + 1. */
  attempt: z.number().check(z.int(), z.minimum(1), z.maximum(MAX_UNIT_PAGE)),
});

export type SweepUnit = z.output<typeof sweepUnitSchema>;

const sqsRecordSchema = z.object({
  messageId: z.string().check(z.minLength(1), z.maxLength(200)),
  eventSource: z.literal('aws:sqs'),
  /** arn:aws:sqs:<region>:<account>:<queue>: the queue the unit came from. */
  eventSourceARN: z.string().check(z.regex(/^arn:[\w-]+:sqs:[a-z0-9-]+:\d{12}:[\w-]{1,80}$/)),
  body: z.string().check(z.maxLength(262_144)),
  attributes: z.object({ ApproximateReceiveCount: z.coerce.number().check(z.int(), z.minimum(1)) }),
});

export type SqsUnitRecord = z.output<typeof sqsRecordSchema>;

const sqsEventSchema = z.object({ Records: z.array(z.unknown()).check(z.minLength(1), z.maxLength(10_000)) });

/** An SQS event (`Records` from `aws:sqs`): the sweep's units, not a trigger event. */
export const isSqsEvent = (event: unknown): event is { Records: unknown[] } => {
  const parsed = sqsEventSchema.safeParse(event);
  if (!parsed.success) return false;
  const [first] = parsed.data.Records;
  return (
    typeof first === 'object' &&
    first !== null &&
    (first as { eventSource?: unknown }).eventSource === 'aws:sqs'
  );
};

/** One SQS record, its envelope only (the unit inside is parsed per record, so one bad unit fails alone). */
export const parseSqsRecord = (record: unknown): SqsUnitRecord => parseWith(sqsRecordSchema, record);

/** A record's unit, validated field by field; ValidationError names the field. */
export const parseSweepUnit = (body: string): SweepUnit =>
  parseWith(jsonString(sweepUnitSchema), body, 'body');

/** The account and region of the queue a record came from. */
export const queueOf = (record: SqsUnitRecord): { region: string; accountId: string; name: string } => {
  const [, , , region = '', accountId = '', name = ''] = record.eventSourceARN.split(':');
  return { region, accountId, name };
};
