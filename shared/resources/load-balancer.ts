import { fieldPath, idString, invalid, parseWith } from '../triggers/parse';
import * as z from '../zod';
import {
  type CallMapping,
  type ResourceType,
  requestParameter,
  sameMapping,
  type TagChange,
  tagCallFacts,
} from './resource-type';

/**
 * Elastic Load Balancing: Application and Network Load Balancers (v2) and their target groups, and
 * Classic Load Balancers. Both generations log to one event source and share some call names
 * (CreateLoadBalancer): a record says which API it is by `apiVersion` (v2 2015-12-01, Classic
 * 2012-06-01), and, in older records without it, by its request's shape (v2 names a load balancer
 * `name`, Classic `loadBalancerName`; v2 tags `resourceArns`, Classic `loadBalancerNames`).
 */

export const LOAD_BALANCER = 'AWS::ElasticLoadBalancingV2::LoadBalancer';
export const TARGET_GROUP = 'AWS::ElasticLoadBalancingV2::TargetGroup';
export const CLASSIC_LOAD_BALANCER = 'AWS::ElasticLoadBalancing::LoadBalancer';

const ELB = 'elasticloadbalancing.amazonaws.com';
const V2_API = '2015-12-01';
const CLASSIC_API = '2012-06-01';

const apiShape = z.object({
  apiVersion: z.optional(z.string().check(z.maxLength(32))),
  requestParameters: z.nullish(z.record(z.string(), z.unknown())),
});

/** Which Elastic Load Balancing API a record is of, or undefined when it cannot tell. */
export function elbApiOf(record: unknown): 'v2' | 'classic' | undefined {
  const parsed = apiShape.safeParse(record);
  if (!parsed.success) return undefined;
  const { apiVersion, requestParameters } = parsed.data;
  if (apiVersion === V2_API) return 'v2';
  if (apiVersion === CLASSIC_API) return 'classic';
  if (apiVersion !== undefined) return undefined;
  if (
    requestParameters &&
    ('loadBalancerName' in requestParameters || 'loadBalancerNames' in requestParameters)
  )
    return 'classic';
  if (requestParameters && ('name' in requestParameters || 'resourceArns' in requestParameters)) return 'v2';
  return undefined;
}

const V2_ARN =
  /^arn:(aws[a-z-]*):elasticloadbalancing:([a-z0-9-]+):(\d{12}):(loadbalancer|listener|listener-rule)\/((?:app|net)\/[\w-]{1,32}\/[0-9a-f]{1,32})(?:\/[0-9a-f]{1,32}){0,2}$/;

/**
 * The load balancer a v2 ARN belongs to: a load balancer's own ARN, or a listener's or listener
 * rule's (`listener/app/<name>/<lb-id>/<listener-id>[/<rule-id>]`, which embed it). Undefined when
 * the ARN is none of these.
 */
export function loadBalancerArnOf(arn: string): string | undefined {
  const match = V2_ARN.exec(arn);
  if (!match) return undefined;
  const [, partition, region, account, , path] = match;
  return `arn:${partition}:elasticloadbalancing:${region}:${account}:loadbalancer/${path}`;
}

/** The load balancer of the v2 ARN at `requestParameters.<key>` (validated). */
const loadBalancerOfParameter =
  (key: string): CallMapping['resourceIds'] =>
  (record, prefix) => {
    const [arn = ''] = requestParameter(key)(record, prefix, '');
    const loadBalancer = loadBalancerArnOf(arn);
    if (!loadBalancer) {
      throw invalid(
        fieldPath(prefix, 'requestParameters', key),
        'expected an Elastic Load Balancing v2 load balancer, listener or rule ARN',
      );
    }
    return [loadBalancer];
  };

const createdLoadBalancers = z.object({
  responseElements: z.object({
    loadBalancers: z.array(z.object({ loadBalancerArn: idString })).check(z.minLength(1), z.maxLength(20)),
  }),
});
const createdTargetGroups = z.object({
  responseElements: z.object({
    targetGroups: z.array(z.object({ targetGroupArn: idString })).check(z.minLength(1), z.maxLength(20)),
  }),
});

const tagKey = z.string().check(z.maxLength(128));

/** v2 AddTags and RemoveTags: any ELB resources by ARN; the tag keys set (AddTags) or removed (RemoveTags). */
const v2Tagging = z.object({
  requestParameters: z.object({
    resourceArns: z.array(z.string().check(z.maxLength(2048))).check(z.minLength(1), z.maxLength(20)),
    tags: z.optional(z.array(z.looseObject({ key: tagKey })).check(z.maxLength(50))),
    tagKeys: z.optional(z.array(tagKey).check(z.maxLength(50))),
  }),
});

/** Classic AddTags and RemoveTags: load balancers by name; `tags` carries keys (and values when set). */
const classicTagging = z.object({
  requestParameters: z.object({
    loadBalancerNames: z.array(idString).check(z.minLength(1), z.maxLength(20)),
    tags: z.optional(z.array(z.looseObject({ key: tagKey })).check(z.maxLength(50))),
  }),
});

/** An Application or Network Load Balancer's own ARN (a listener's or target group's tags are not its tags). */
const V2_LOAD_BALANCER_ARN =
  /^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:loadbalancer\/(app|net)\/[\w-]{1,32}\/[0-9a-f]{1,32}$/;

const v2 = (mapping: Omit<CallMapping, 'eventSource'>): CallMapping => ({
  eventSource: ELB,
  accepts: (record) => elbApiOf(record) !== 'classic',
  ...mapping,
});
const classic = (mapping: Omit<CallMapping, 'eventSource'>): CallMapping => ({
  eventSource: ELB,
  accepts: (record) => elbApiOf(record) !== 'v2',
  ...mapping,
});

/**
 * A v2 tag call: the load balancers among its resources (none is fine: it then concerns no load
 * balancer), and the keys it touched, never values, so a rule that scopes load balancers by a tag
 * sees one leave its scope.
 */
const v2Tagged = (change: TagChange): CallMapping =>
  v2({
    resourceIds: (record, prefix) =>
      parseWith(v2Tagging, record, prefix).requestParameters.resourceArns.filter((arn) =>
        V2_LOAD_BALANCER_ARN.test(arn),
      ),
    facts: (record) => {
      const { tags, tagKeys } = parseWith(v2Tagging, record).requestParameters;
      return tagCallFacts(change, tagKeys ?? tags?.map((tag) => tag.key) ?? []);
    },
  });

const classicTagged = (change: TagChange): CallMapping =>
  classic({
    resourceIds: (record, prefix) =>
      parseWith(classicTagging, record, prefix).requestParameters.loadBalancerNames,
    facts: (record) =>
      tagCallFacts(
        change,
        parseWith(classicTagging, record).requestParameters.tags?.map((tag) => tag.key) ?? [],
      ),
  });

export const loadBalancer: ResourceType = {
  type: LOAD_BALANCER,
  arn: {
    service: 'elasticloadbalancing',
    resource: /^loadbalancer\/(app|net)\/[\w-]{1,32}\/[0-9a-f]{1,32}$/,
    plural: 'application and network load balancers',
  },
  calls: {
    CreateLoadBalancer: v2({
      resourceIds: (record, prefix) =>
        parseWith(createdLoadBalancers, record, prefix).responseElements.loadBalancers.map(
          (created) => created.loadBalancerArn,
        ),
    }),
    CreateListener: v2({ resourceIds: loadBalancerOfParameter('loadBalancerArn') }),
    ...sameMapping(
      ['ModifyListener', 'CreateRule'],
      v2({ resourceIds: loadBalancerOfParameter('listenerArn') }),
    ),
    ModifyRule: v2({ resourceIds: loadBalancerOfParameter('ruleArn') }),
    AddTags: v2Tagged('set'),
    RemoveTags: v2Tagged('remove'),
  },
};

export const targetGroup: ResourceType = {
  type: TARGET_GROUP,
  arn: {
    service: 'elasticloadbalancing',
    resource: /^targetgroup\/[\w-]{1,32}\/[0-9a-f]{1,32}$/,
    plural: 'target groups',
  },
  calls: {
    CreateTargetGroup: v2({
      resourceIds: (record, prefix) =>
        parseWith(createdTargetGroups, record, prefix).responseElements.targetGroups.map(
          (created) => created.targetGroupArn,
        ),
    }),
    ModifyTargetGroup: v2({ resourceIds: requestParameter('targetGroupArn') }),
  },
};

/** A Classic Load Balancer is named by its name, unique in its account and region. */
export const classicLoadBalancer: ResourceType = {
  type: CLASSIC_LOAD_BALANCER,
  arn: {
    service: 'elasticloadbalancing',
    resource: /^loadbalancer\/[a-zA-Z0-9-]{1,32}$/,
    plural: 'Classic Load Balancers',
  },
  calls: {
    ...sameMapping(
      [
        'CreateLoadBalancer',
        'CreateLoadBalancerListeners',
        'SetLoadBalancerPoliciesOfListener',
        'CreateLoadBalancerPolicy',
      ],
      classic({ resourceIds: requestParameter('loadBalancerName') }),
    ),
    // Mapped so that a Classic tag call reaching the v2 rule's pattern (one event source) is told
    // apart and left alone; no rule scopes Classic Load Balancers by a tag.
    AddTags: classicTagged('set'),
    RemoveTags: classicTagged('remove'),
  },
};
