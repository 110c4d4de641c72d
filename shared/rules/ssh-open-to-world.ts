import type { Settings } from '../config';
import { Mode, Severity } from '../model';
import { isNotInItem } from '../resources/config-item';
import { securityGroupOfItem } from '../resources/security-group';
import {
  clip,
  describeSource,
  exposedPorts,
  type IngressRule,
  opensToWorld,
  REASON_TEXT_LIMIT,
  summarizeRules,
} from '../ssh/exposure';
import {
  listSecurityGroups,
  readSecurityGroup,
  rereadIngress,
  revokeIngressRule,
  SECURITY_GROUP,
  SECURITY_GROUP_STATEMENTS,
  type SecurityGroupView,
  toLoadedGroup,
} from '../ssh/security-groups';
import { defineRule, REEVALUATE_PAIRED_CONFIG_RULES } from './rule';

/** The group's ingress rules that let the whole internet reach a configured port. */
export const worldOpenRules = (view: SecurityGroupView, settings: Settings): IngressRule[] =>
  view.ingress.filter((rule) => opensToWorld(rule, settings.ssh.ports));

const unique = <T>(items: readonly T[]): T[] => [...new Set(items)];

export const sshOpenToWorld = defineRule<SecurityGroupView>({
  id: 'ssh-open-to-world',
  title: 'SSH open to the internet',
  severity: Severity.High,
  // Access control; a path nobody established through the grant process (access establishment).
  hipaa: ['164.312(a)(1)', '164.308(a)(4)(ii)(C)'],
  runbook: 'docs/runbooks/ssh-open-to-world.md',
  readme: {
    enforce:
      'revokes by rule id every security-group ingress rule letting 0.0.0.0/0, ::/0 or a prefix list holding them reach an SSH port (port ranges and all-traffic rules included); each step keeps the exact rule to restore',
  },
  undoActions: ['ec2:AuthorizeSecurityGroupIngress'],
  // SSH reopened to the whole internet: an hour, never a day, unless the person asks (--exempt-for).
  undoExemptionMinutes: 60,
  defaultMode: Mode.Enforce,
  resourceType: SECURITY_GROUP,
  triggers: {
    cloudTrail: {
      eventNames: ['AuthorizeSecurityGroupIngress', 'ModifySecurityGroupRules'],
    },
    configResourceTypes: [SECURITY_GROUP],
    // Its default rule name is 'restricted-ssh' (the compliance-change pattern matches that prefix).
    managedConfigRules: [{ sourceIdentifier: 'INCOMING_SSH_DISABLED', ruleName: 'restricted-ssh' }],
    schedule: 'rate(1 hour)',
  },
  permissions: [...SECURITY_GROUP_STATEMENTS, REEVALUATE_PAIRED_CONFIG_RULES],

  // The item names no rule ids (the finding then names rules by their path only); a group with a
  // prefix-list source is NotInItem (securityGroupOfItem).
  fromConfigItem: {
    [SECURITY_GROUP]: (item) => {
      const view = securityGroupOfItem(item);
      return isNotInItem(view) ? view : toLoadedGroup(view, item);
    },
  },

  async load(ref, aws) {
    if (ref.resourceType !== SECURITY_GROUP) return undefined;
    const view = await readSecurityGroup(aws.ec2(ref.region), ref.resourceId);
    return view && toLoadedGroup(view, ref);
  },

  async reload(before, aws) {
    return toLoadedGroup(await rereadIngress(aws.ec2(before.region), before.state), before);
  },

  async *list(scope, aws, settings) {
    for await (const view of listSecurityGroups(aws.ec2(scope.region), settings.ssh.ports))
      yield toLoadedGroup(view, scope);
  },

  detect(resource, settings) {
    const open = worldOpenRules(resource.state, settings);
    if (open.length === 0) return { compliant: true };
    const ports = unique(open.flatMap((rule) => exposedPorts(rule, settings.ssh.ports)));
    const { groupId, groupName } = resource.state;
    return {
      compliant: false,
      reason: clip(
        `Security group ${groupId} (${groupName}) lets the whole internet reach port ${ports.join(', ')}: ${summarizeRules(open, 3)}`,
        REASON_TEXT_LIMIT,
      ),
      evidence: {
        groupName: clip(groupName),
        openRules: open.length,
        ruleIds: clip(open.map((rule) => rule.ruleId).join(',')),
        ports: ports.join(','),
        sources: clip(unique(open.map((rule) => describeSource(rule.source))).join(',')),
      },
      plan: `Revoke ${open.length} ingress rule(s) of ${groupId} by id (${clip(
        open.map((rule) => rule.ruleId).join(', '),
      )}); each step keeps the exact rule so it can be restored`,
    };
  },

  async remediate(resource, _finding, { aws, settings, step }) {
    const ec2 = aws.ec2(resource.region);
    for (const rule of worldOpenRules(resource.state, settings)) {
      await revokeIngressRule(ec2, resource.region, rule, step);
    }
  },
});
