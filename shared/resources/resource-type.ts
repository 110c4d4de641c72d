import { fieldPath, idString, MAX_SUMMARY_VALUE_LENGTH, parseWith } from '../triggers/parse';
import * as z from '../zod';
import type { RecordedItem } from './config-item';

/** Safe, descriptive request facts for an incident's summary: no tag values, no user data. */
export type CallFacts = Record<string, string | number | boolean | undefined>;

/**
 * How one CloudTrail call names the resources it touched. `resourceIds` validates what it reads and
 * throws ValidationError naming the field.
 */
export interface CallMapping {
  /** The service that logs the call: a call of the same name from another service is not this one. */
  readonly eventSource: string;
  /**
   * Whether a record is of this mapping, where two resource types share a call's name and service
   * (Elastic Load Balancing v2 and Classic both log CreateLoadBalancer): each of them declares it.
   */
  readonly accepts?: (record: unknown) => boolean;
  readonly resourceIds: (record: unknown, prefix: string, accountId: string) => string[];
  readonly facts?: (record: unknown) => CallFacts;
  /**
   * The call changes a setting of the region that every resource of the type depends on (an ECR
   * registry's scanning rules): it names none, so the rule re-judges the region's resources, as its
   * sweep does, on behalf of the call's actor.
   */
  readonly regionWide?: true;
}

/**
 * One kind of resource rules judge, declared once and used by every rule that judges it: the
 * CloudTrail adapter maps calls with it, the exemption ledger parses ARNs with it.
 */
export interface ResourceType {
  /** The CloudFormation / Config type, e.g. AWS::EC2::Volume. */
  readonly type: string;
  /**
   * Its ARN, as rules build it (`arn:<partition>:<service>:<region>:<account>:<resource>`), and what
   * `exemptions add` calls it. Absent: nothing of this type can be exempted.
   */
  readonly arn?: { readonly service: string; readonly resource: RegExp; readonly plural: string };
  /** The CloudTrail calls that change it, by eventName. */
  readonly calls: Readonly<Record<string, CallMapping>>;
  /**
   * How a Config configuration item of this type reads into what its live read returns (the same
   * shape, or NotInItem when the item lacks what a verdict needs). Every type a rule's Config rule
   * evaluates declares one (test/contract/rule-kit.test.ts); the rule maps the result to its state.
   */
  readonly configItem?: (item: RecordedItem) => unknown;
}

const withRequestParameters = z.object({ requestParameters: z.record(z.string(), z.unknown()) });

/** The one id at `requestParameters.<key>`. */
export const requestParameter =
  (key: string): CallMapping['resourceIds'] =>
  (record, prefix) => {
    const parameters = parseWith(withRequestParameters, record, prefix).requestParameters;
    return [parseWith(idString, parameters[key], fieldPath(prefix, 'requestParameters', key))];
  };

/** The same mapping for several calls. */
export const sameMapping = (
  eventNames: readonly string[],
  mapping: CallMapping,
): Readonly<Record<string, CallMapping>> =>
  Object.fromEntries(eventNames.map((eventName) => [eventName, mapping]));

/** What a tag call did: set tags (a key may get another value) or removed them. */
export type TagChange = 'set' | 'remove';

/**
 * The facts of a call that sets or removes tags: the change and the keys it touched, never values
 * (`keys` undefined: every tag, as a DeleteTags without a tag set removes them). A rule that scopes
 * by a tag reads these to see a resource leave its scope (shared/rules/scope.ts). Keys are kept only
 * whole: a list longer than a fact may hold is recorded as cut, and the scope reads a cut list as
 * touching its tag (the fresh read still decides), never as missing it.
 */
export const tagCallFacts = (change: TagChange, keys: readonly string[] | undefined): CallFacts => {
  const listed = keys === undefined ? undefined : JSON.stringify(keys);
  const cut = listed !== undefined && listed.length > MAX_SUMMARY_VALUE_LENGTH;
  return { tagChange: change, ...(cut ? { tagKeysCut: true } : { tagKeys: listed }) };
};

/** A call that changes a region-wide setting (see CallMapping.regionWide). */
export const regionWide = (eventSource: string, facts?: CallMapping['facts']): CallMapping => ({
  eventSource,
  regionWide: true,
  resourceIds: () => [],
  ...(facts && { facts }),
});
