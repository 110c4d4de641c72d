import type { IngressRule, RuleSource } from '../ssh/exposure';
import type { SecurityGroupView } from '../ssh/security-groups';
import { idString, parseWith } from '../triggers/parse';
import * as z from '../zod';
import { type NotInItem, notInItem, type RecordedItem } from './config-item';
import type { CallMapping, ResourceType } from './resource-type';

export const SECURITY_GROUP = 'AWS::EC2::SecurityGroup';

const securityGroupInRequest = z.object({ requestParameters: z.object({ groupId: z.optional(idString) }) });
const securityGroupsInResponse = z.object({
  responseElements: z.object({
    securityGroupRuleSet: z.object({
      items: z.array(z.object({ groupId: idString })).check(z.minLength(1), z.maxLength(1000)),
    }),
  }),
});

const modifiedSecurityGroup = z.object({
  requestParameters: z.object({ ModifySecurityGroupRulesRequest: z.object({ GroupId: idString }) }),
});

/** The group is named in the request; calls by group name only name it in the response's rules. */
const authorizedSecurityGroups: CallMapping['resourceIds'] = (record, prefix) => {
  const groupId = parseWith(securityGroupInRequest, record, prefix).requestParameters.groupId;
  if (groupId) return [groupId];
  const rules = parseWith(securityGroupsInResponse, record, prefix).responseElements.securityGroupRuleSet
    .items;
  return [...new Set(rules.map((rule) => rule.groupId))];
};

const described = { description: z.nullish(z.string().check(z.maxLength(256))) };
/** DescribeSecurityGroups' IpPermission, camelCase, as Config records it. */
const recordedPermission = z.object({
  ipProtocol: idString,
  fromPort: z.nullish(z.number().check(z.int())),
  toPort: z.nullish(z.number().check(z.int())),
  ipv4Ranges: z.nullish(z.array(z.object({ cidrIp: idString, ...described }))),
  // Older items list IPv4 sources here only, as bare CIDRs.
  ipRanges: z.nullish(z.array(idString)),
  ipv6Ranges: z.nullish(z.array(z.object({ cidrIpv6: idString, ...described }))),
  prefixListIds: z.nullish(z.array(z.object({ prefixListId: idString, ...described }))),
  userIdGroupPairs: z.nullish(
    z.array(z.object({ groupId: idString, userId: z.nullish(idString), ...described })),
  ),
});
const recordedGroup = z.object({
  groupName: z.string().check(z.maxLength(256)),
  ownerId: z.string().check(z.maxLength(64)),
  vpcId: z.nullish(idString),
  ipPermissions: z.array(recordedPermission).check(z.maxLength(1000)),
});

type Sourced = { source: RuleSource; description?: string | null };

/** Every source of one permission: DescribeSecurityGroupRules lists each as its own rule. */
function sourcesOf(permission: z.output<typeof recordedPermission>): Sourced[] {
  const ipv4: Sourced[] = permission.ipv4Ranges
    ? permission.ipv4Ranges.map((range) => ({
        source: { kind: 'ipv4', cidr: range.cidrIp },
        description: range.description,
      }))
    : (permission.ipRanges ?? []).map((cidr) => ({ source: { kind: 'ipv4', cidr } }));
  return [
    ...ipv4,
    ...(permission.ipv6Ranges ?? []).map(
      (range): Sourced => ({
        source: { kind: 'ipv6', cidr: range.cidrIpv6 },
        description: range.description,
      }),
    ),
    ...(permission.userIdGroupPairs ?? []).map(
      (pair): Sourced => ({
        source: {
          kind: 'security-group',
          groupId: pair.groupId,
          ...(pair.userId ? { userId: pair.userId } : {}),
        },
        description: pair.description,
      }),
    ),
  ];
}

/**
 * A security group's configuration item as the live read returns the group (SecurityGroupView).
 * Config records the group's permissions, not its security-group rules, so three facts a live read
 * has are missing: each rule's id (left ''; a revoke needs a live read), each rule's own tags (left
 * empty: an SSH grant tag cannot be judged from an item), and a prefix list's entries. A group
 * whose ingress names a prefix list is NotInItem: whether it opens to the world depends on them.
 */
export function securityGroupOfItem(item: RecordedItem): SecurityGroupView | NotInItem {
  const recorded = parseWith(recordedGroup, item.configuration, 'configurationItem.configuration');
  const prefixLists = recorded.ipPermissions.flatMap((permission) =>
    (permission.prefixListIds ?? []).map((list) => list.prefixListId),
  );
  if (prefixLists.length > 0) return notInItem(`the entries of prefix list ${prefixLists.join(', ')}`);
  const ingress = recorded.ipPermissions.flatMap((permission) =>
    sourcesOf(permission).map(
      ({ source, description }): IngressRule => ({
        ruleId: '',
        groupId: item.resourceId,
        protocol: permission.ipProtocol,
        fromPort: permission.fromPort ?? -1,
        toPort: permission.toPort ?? -1,
        source,
        description: description || undefined,
        tags: {},
      }),
    ),
  );
  return {
    groupId: item.resourceId,
    groupName: recorded.groupName,
    vpcId: recorded.vpcId ?? undefined,
    ownerId: recorded.ownerId,
    tags: item.tags,
    ingress,
  };
}

export const securityGroup: ResourceType = {
  type: SECURITY_GROUP,
  arn: { service: 'ec2', resource: /^security-group\/sg-[0-9a-f]+$/, plural: 'security groups' },
  configItem: securityGroupOfItem,
  calls: {
    AuthorizeSecurityGroupIngress: {
      eventSource: 'ec2.amazonaws.com',
      resourceIds: authorizedSecurityGroups,
    },
    ModifySecurityGroupRules: {
      eventSource: 'ec2.amazonaws.com',
      resourceIds: (record, prefix) => [
        parseWith(modifiedSecurityGroup, record, prefix).requestParameters.ModifySecurityGroupRulesRequest
          .GroupId,
      ],
    },
  },
};
