import { RemediationDeclined } from '../errors';
import { Mode, Severity } from '../model';
import {
  listSecurityGroups,
  readSecurityGroup,
  SECURITY_GROUP,
  SECURITY_GROUP_READ_STATEMENTS,
  type SecurityGroupView,
  toLoadedGroup,
} from '../ssh/security-groups';
import { defineRule } from './rule';

/**
 * TODO(ecs-task-unprivileged): the safeguard this rule keeps and the drift it finds, in a sentence or two.
 *
 * Written by `npm run new-rule` as a notify-only rule on security groups that finds no drift yet:
 * replace each TODO (README, "Adding a rule"). Another resource type: change the state type, load,
 * list and resourceType (see shared/resources for the types rules judge).
 */
export const ecsTaskUnprivileged = defineRule<SecurityGroupView>({
  id: 'ecs-task-unprivileged',
  // TODO: the drift in a few words, as an alert's subject shows it.
  title: 'TODO: ecs-task-unprivileged',
  // TODO: Critical, High, Medium or Low.
  severity: Severity.Medium,
  // TODO: the HIPAA safeguards it serves (45 CFR 164.3xx), most specific first.
  hipaa: ['164.312(a)(1)'],
  runbook: 'docs/runbooks/ecs-task-unprivileged.md',
  // README's rules table and mode row (`npm run readme` writes them from this).
  readme: { enforce: 'nothing: notify only (TODO: what enforce mode does, or why it only notifies)' },
  // Notify only: findings are recorded and paged, and remediate() below changes nothing.
  defaultMode: Mode.Notify,
  resourceType: SECURITY_GROUP,
  triggers: {
    // TODO: the CloudTrail calls that can cause the drift, e.g.
    // cloudTrail: { eventNames: ['AuthorizeSecurityGroupIngress', 'ModifySecurityGroupRules'] }
    // (calls shared/resources/security-group.ts maps; another call needs its mapping there), and
    // configResourceTypes: [SECURITY_GROUP] to be judged by a Config custom rule too.
    schedule: 'rate(1 hour)',
  },
  // IAM statements (actions, resources, conditions) for every call load, list and remediate send: its
  // unit test fails on an action it saw sent and not declared; the stack gives the rule's role exactly these.
  permissions: [...SECURITY_GROUP_READ_STATEMENTS],

  async load(ref, aws) {
    if (ref.resourceType !== SECURITY_GROUP) return undefined;
    const view = await readSecurityGroup(aws.ec2(ref.region), ref.resourceId);
    return view && toLoadedGroup(view, ref);
  },

  async *list(scope, aws) {
    for await (const view of listSecurityGroups(aws.ec2(scope.region))) yield toLoadedGroup(view, scope);
  },

  // TODO: judge the group (pure: no AWS calls). Until then every group is compliant, and the unit
  // test's placeholder says so.
  detect(_resource, _settings) {
    return { compliant: true };
  },

  // Notify only. To remediate, make each AWS change through ctx.step with its undo (see
  // ssh-open-to-world), declare the undo calls in undoActions, and set defaultMode deliberately.
  async remediate(resource) {
    throw new RemediationDeclined(
      `ecs-task-unprivileged only notifies: ${resource.resourceId} was not changed`,
    );
  },
});
