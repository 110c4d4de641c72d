import {
  DescribeSecurityGroupsCommand,
  type EC2Client,
  type IpPermission,
  paginateDescribeSecurityGroupRules,
  paginateDescribeSecurityGroups,
  paginateGetManagedPrefixListEntries,
  RevokeSecurityGroupIngressCommand,
  type SecurityGroup,
  type SecurityGroupRule,
} from '@aws-sdk/client-ec2';
import { isAwsError } from '../aws/aws-errors';
import { tagRecord } from '../aws/tags';
import { SECURITY_GROUP } from '../resources/security-group';
import { type Loaded, type PermissionStatement, Stack, type StepRecorder } from '../rules/rule';
import { exposedPorts, type IngressRule, pathOf, type RuleSource, toIpPermission } from './exposure';

/** A security group as both SSH rules judge it: identity, tags (exemptions) and its ingress rules. */
export interface SecurityGroupView {
  readonly groupId: string;
  readonly groupName: string;
  readonly vpcId?: string;
  readonly ownerId: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly ingress: readonly IngressRule[];
}

export { SECURITY_GROUP };

/** What the readers below need: a rule that only judges security groups declares these. */
export const SECURITY_GROUP_READ_STATEMENTS: readonly PermissionStatement[] = [
  { sid: 'ReadGroupsAndRules', actions: ['ec2:DescribeSecurityGroups', 'ec2:DescribeSecurityGroupRules'] },
  {
    sid: 'ReadPrefixListEntries',
    actions: ['ec2:GetManagedPrefixListEntries'],
    resources: [`arn:${Stack.partition}:ec2:*:*:prefix-list/*`],
    why: 'Shared and AWS-managed prefix lists belong to other accounts.',
  },
];

/** The readers and revokeIngressRule (both SSH rules declare these statements). */
export const SECURITY_GROUP_STATEMENTS: readonly PermissionStatement[] = [
  ...SECURITY_GROUP_READ_STATEMENTS,
  {
    sid: 'RevokeIngressRules',
    actions: ['ec2:RevokeSecurityGroupIngress'],
    resources: [
      `arn:${Stack.partition}:ec2:*:${Stack.accountId}:security-group/*`,
      `arn:${Stack.partition}:ec2:*:${Stack.accountId}:security-group-rule/*`,
    ],
  },
];

export const securityGroupArn = (region: string, accountId: string, groupId: string): string =>
  `arn:aws:ec2:${region}:${accountId}:security-group/${groupId}`;

/** A group as rules judge it: the resource, its ARN and tags, its view as state. */
export function toLoadedGroup(
  view: SecurityGroupView,
  scope: { accountId: string; region: string },
): Loaded<SecurityGroupView> {
  return {
    resourceType: SECURITY_GROUP,
    resourceId: view.groupId,
    arn: securityGroupArn(scope.region, scope.accountId, view.groupId),
    region: scope.region,
    accountId: scope.accountId,
    tags: view.tags,
    state: view,
  };
}

/**
 * Entries of the managed prefix lists rules reference, read once per list per load or sweep
 * (a sweep can meet one list in hundreds of rules).
 */
export class PrefixListEntries {
  private readonly cache = new Map<string, Promise<string[]>>();

  constructor(private readonly ec2: EC2Client) {}

  of(prefixListId: string): Promise<string[]> {
    let entries = this.cache.get(prefixListId);
    if (!entries) {
      entries = this.read(prefixListId);
      this.cache.set(prefixListId, entries);
    }
    return entries;
  }

  private async read(prefixListId: string): Promise<string[]> {
    const cidrs: string[] = [];
    for await (const page of paginateGetManagedPrefixListEntries(
      { client: this.ec2 },
      { PrefixListId: prefixListId },
    )) {
      for (const entry of page.Entries ?? []) if (entry.Cidr) cidrs.push(entry.Cidr);
    }
    return cidrs;
  }
}

async function sourceOf(rule: SecurityGroupRule, prefixLists: PrefixListEntries): Promise<RuleSource> {
  if (rule.CidrIpv4) return { kind: 'ipv4', cidr: rule.CidrIpv4 };
  if (rule.CidrIpv6) return { kind: 'ipv6', cidr: rule.CidrIpv6 };
  if (rule.PrefixListId) {
    return {
      kind: 'prefix-list',
      prefixListId: rule.PrefixListId,
      cidrs: await prefixLists.of(rule.PrefixListId),
    };
  }
  if (rule.ReferencedGroupInfo?.GroupId) {
    return {
      kind: 'security-group',
      groupId: rule.ReferencedGroupInfo.GroupId,
      userId: rule.ReferencedGroupInfo.UserId,
    };
  }
  // A source we cannot classify could be an exposure: fail loudly rather than call it safe.
  throw new Error(
    `security group rule ${rule.SecurityGroupRuleId} has a source this responder does not know`,
  );
}

async function toIngressRule(rule: SecurityGroupRule, prefixLists: PrefixListEntries): Promise<IngressRule> {
  return {
    ruleId: String(rule.SecurityGroupRuleId),
    groupId: String(rule.GroupId),
    protocol: rule.IpProtocol ?? '-1',
    fromPort: rule.FromPort ?? -1,
    toPort: rule.ToPort ?? -1,
    source: await sourceOf(rule, prefixLists),
    description: rule.Description || undefined,
    tags: tagRecord(rule.Tags),
  };
}

async function toView(
  group: SecurityGroup,
  rules: readonly SecurityGroupRule[],
  prefixLists: PrefixListEntries,
): Promise<SecurityGroupView> {
  const ingress: IngressRule[] = [];
  for (const rule of rules) {
    if (rule.IsEgress !== true) ingress.push(await toIngressRule(rule, prefixLists));
  }
  return {
    groupId: String(group.GroupId),
    groupName: group.GroupName ?? '',
    vpcId: group.VpcId,
    ownerId: group.OwnerId ?? '',
    tags: tagRecord(group.Tags),
    ingress,
  };
}

/** One group and its rules; undefined when the group no longer exists. Read-only. */
export async function readSecurityGroup(
  ec2: EC2Client,
  groupId: string,
  prefixLists = new PrefixListEntries(ec2),
): Promise<SecurityGroupView | undefined> {
  let group: SecurityGroup | undefined;
  try {
    const described = await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [groupId] }));
    group = described.SecurityGroups?.find((candidate) => candidate.GroupId === groupId);
  } catch (error) {
    if (isAwsError(error, 'InvalidGroup.NotFound')) return undefined;
    throw error;
  }
  if (!group) return undefined;
  const rules: SecurityGroupRule[] = [];
  for await (const page of paginateDescribeSecurityGroupRules(
    { client: ec2 },
    { Filters: [{ Name: 'group-id', Values: [groupId] }] },
  )) {
    rules.push(...(page.SecurityGroupRules ?? []));
  }
  return toView(group, rules, prefixLists);
}

/** Group ids named in one DescribeSecurityGroupRules filter. */
const GROUPS_PER_RULE_READ = 100;

/**
 * Could this permission (DescribeSecurityGroups' form) let addresses reach one of `ports`? A
 * referenced group is not an address (exposure.ts), so only CIDRs and prefix lists count.
 */
function reachesPortFromAddresses(permission: IpPermission, ports: readonly number[]): boolean {
  const fromAddresses =
    (permission.IpRanges?.length ?? 0) > 0 ||
    (permission.Ipv6Ranges?.length ?? 0) > 0 ||
    (permission.PrefixListIds?.length ?? 0) > 0;
  if (!fromAddresses) return false;
  const probe: IngressRule = {
    ruleId: '',
    groupId: '',
    protocol: permission.IpProtocol ?? '-1',
    fromPort: permission.FromPort ?? -1,
    toPort: permission.ToPort ?? -1,
    source: { kind: 'security-group', groupId: '' },
    tags: {},
  };
  return exposedPorts(probe, ports).length > 0;
}

/** The rules (ids and tags) of these groups, by group: one filtered read per GROUPS_PER_RULE_READ groups. */
async function rulesOf(
  ec2: EC2Client,
  groupIds: readonly string[],
): Promise<Map<string, SecurityGroupRule[]>> {
  const rulesByGroup = new Map<string, SecurityGroupRule[]>();
  for (let start = 0; start < groupIds.length; start += GROUPS_PER_RULE_READ) {
    const Values = groupIds.slice(start, start + GROUPS_PER_RULE_READ);
    for await (const page of paginateDescribeSecurityGroupRules(
      { client: ec2 },
      { Filters: [{ Name: 'group-id', Values }] },
    )) {
      for (const rule of page.SecurityGroupRules ?? []) {
        const groupId = String(rule.GroupId);
        const rules = rulesByGroup.get(groupId) ?? [];
        rules.push(rule);
        rulesByGroup.set(groupId, rules);
      }
    }
  }
  return rulesByGroup;
}

/**
 * Every group of the region, for the SSH rules: the groups (names, tags, permissions), and the rules
 * (ids and tags) of only those groups whose permissions let addresses reach one of `ports`: a
 * revoke needs their ids, a grant their tags. Any other group's ingress holds no SSH path and is
 * left empty, so a region of thousands of HTTPS rules is not read twice (issue 21). A throttled or
 * failed page throws: a sweep never reports "no groups".
 */
export async function* listSecurityGroups(
  ec2: EC2Client,
  ports: readonly number[],
): AsyncIterable<SecurityGroupView> {
  const prefixLists = new PrefixListEntries(ec2);
  for await (const page of paginateDescribeSecurityGroups({ client: ec2 }, {})) {
    const groups = page.SecurityGroups ?? [];
    const exposed = groups
      .filter((group) =>
        (group.IpPermissions ?? []).some((permission) => reachesPortFromAddresses(permission, ports)),
      )
      .map((group) => String(group.GroupId));
    const rulesByGroup = await rulesOf(ec2, exposed);
    for (const group of groups) {
      yield await toView(group, rulesByGroup.get(String(group.GroupId)) ?? [], prefixLists);
    }
  }
}

/**
 * The verify read after a revoke: the group's rules again, one filtered read (none when the group
 * is gone); its name and tags, which a revoke never changes, kept from `view`.
 */
export async function rereadIngress(ec2: EC2Client, view: SecurityGroupView): Promise<SecurityGroupView> {
  const prefixLists = new PrefixListEntries(ec2);
  const ingress: IngressRule[] = [];
  for (const rule of (await rulesOf(ec2, [view.groupId])).get(view.groupId) ?? []) {
    if (rule.IsEgress !== true) ingress.push(await toIngressRule(rule, prefixLists));
  }
  return { ...view, ingress };
}

/** Errors that mean the rule (or its group) is already gone: the revoke's goal is met. */
const ALREADY_GONE = [
  'InvalidSecurityGroupRuleId.NotFound',
  'InvalidPermission.NotFound',
  'InvalidGroup.NotFound',
] as const;

/**
 * Revokes one ingress rule by its id, as a recorded step whose undo recreates exactly that rule.
 * Idempotent: a rule already gone (a retry after a crash) counts as revoked.
 */
export function revokeIngressRule(
  ec2: EC2Client,
  region: string,
  rule: IngressRule,
  step: StepRecorder,
): Promise<{ alreadyGone: boolean }> {
  return step(
    'RevokeSecurityGroupIngress',
    async () => {
      try {
        await ec2.send(
          new RevokeSecurityGroupIngressCommand({
            GroupId: rule.groupId,
            SecurityGroupRuleIds: [rule.ruleId],
          }),
        );
        return { alreadyGone: false };
      } catch (error) {
        if (isAwsError(error, ...ALREADY_GONE)) return { alreadyGone: true };
        throw error;
      }
    },
    {
      undo: {
        service: 'ec2',
        action: 'AuthorizeSecurityGroupIngress',
        input: { Region: region, GroupId: rule.groupId, IpPermissions: [toIpPermission(rule)] },
      },
      // The path it closed, so `incidents undo` restores that and nothing wider.
      output: (result) => ({
        securityGroupRuleId: rule.ruleId,
        revoked: pathOf(rule),
        alreadyGone: result.alreadyGone,
      }),
    },
  );
}
