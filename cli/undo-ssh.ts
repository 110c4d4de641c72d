import type { IpPermission } from '@aws-sdk/client-ec2';
import type { Incident, Step } from '../shared/model';
import {
  fromIpPermission,
  type IngressRule,
  opensToNarrowSource,
  opensToWorld,
  pathOf,
} from '../shared/ssh/exposure';
import { PrefixListEntries, readSecurityGroup } from '../shared/ssh/security-groups';
import { type CheckContext, existing, UndoRefused } from './undo-checks';

/** The SSH paths each SSH rule closes (and so the only ones its undo may open again). */
const CLOSES: Readonly<Record<string, (rule: IngressRule, ports: readonly number[]) => boolean>> = {
  'ssh-open-to-world': opensToWorld,
  'ssh-grant-expired': opensToNarrowSource,
};

/**
 * Why restoring this permission would open more than its step revoked, from the record: the step
 * records the exact path it closed (`revoked`), and the permission must open that path, no wider.
 */
export function restoredPathRefusal(
  groupId: string,
  permission: IpPermission,
  step: Step,
  incident: Incident,
): string | undefined {
  const restored = fromIpPermission(permission, groupId);
  if (!restored) return 'not one ingress rule';
  const revoked = step.output?.revoked;
  const stepNumber = incident.steps.indexOf(step) + 1;
  if (typeof revoked !== 'string') {
    return `step ${stepNumber} does not record the path it revoked (an incident recorded before it did): restore it by hand after checking`;
  }
  const path = pathOf(restored);
  return path === revoked ? undefined : `restores ${path}, but step ${stepNumber} revoked ${revoked}`;
}

/**
 * The group as it is now: it exists in the incident's account and region, and the path restored
 * is one the incident's rule closes (a prefix list is judged by its entries now).
 */
export async function checkRestoredPath(
  groupId: string,
  permission: IpPermission,
  at: CheckContext,
): Promise<string> {
  const ec2 = at.aws.ec2(at.region);
  const prefixLists = new PrefixListEntries(ec2);
  const group = existing(await readSecurityGroup(ec2, groupId, prefixLists), groupId, at);
  if (group.ownerId && group.ownerId !== at.incident.account) {
    throw new UndoRefused(`${groupId} is account ${group.ownerId}'s`);
  }
  const listId = permission.PrefixListIds?.[0]?.PrefixListId;
  const restored = fromIpPermission(permission, groupId, listId ? await prefixLists.of(listId) : []);
  const closes = CLOSES[at.incident.ruleId];
  if (!restored || !closes?.(restored, at.settings.ssh.ports)) {
    throw new UndoRefused(
      `restores ${restored ? pathOf(restored) : 'a permission'}, which ${at.incident.ruleId} does not close`,
    );
  }
  return `${groupId} (${group.groupName}) exists in ${at.region}; restores ${pathOf(restored)}, as step ${at.stepNumber} revoked`;
}
