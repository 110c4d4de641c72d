import { DescribeTaskDefinitionCommand, type ECSClient, type TaskDefinition } from '@aws-sdk/client-ecs';
import { isAwsError } from '../aws/aws-errors';
import type { Settings } from '../config';
import { type RevisionUsers, revisionsInUse } from '../containers/task-usage';
import { RemediationDeclined } from '../errors';
import { Mode, Severity } from '../model';
import { TASK_DEFINITION } from '../resources/task-definition';
import { flag, inTagScope, tagScope } from '../setting-schemas';
import { clip, REASON_TEXT_LIMIT } from '../ssh/exposure';
import { defineRule, type Loaded, Stack } from './rule';
import { ruleSetting, settingsReader } from './settings';

/** A container as the rule judges it: never its environment, secrets, command or image. */
interface ContainerView {
  readonly name: string;
  readonly privileged: boolean;
  /** The `user` it runs as, when set; absent means the image's own USER. */
  readonly user: string | undefined;
}

interface RevisionView {
  readonly revision: string;
  readonly status: string;
  readonly networkMode: string | undefined;
  readonly pidMode: string | undefined;
  readonly containers: readonly ContainerView[];
  readonly users: RevisionUsers;
}

const NOBODY: RevisionUsers = { services: [], tasks: [] };

/** `root`, `0`, `root:<group>` or `0:<gid>`: root named explicitly. */
const isRoot = (user: string | undefined): boolean =>
  user !== undefined && /^(root|0)(:.*)?$/.test(user.trim());

/**
 * What the rule keeps of a task definition: only the fields it judges. Everything else, above all
 * each container's `environment` and `secrets`, is dropped here, so it can reach no incident.
 */
const toView = (definition: TaskDefinition, users: RevisionUsers): RevisionView => ({
  revision: `${definition.family}:${definition.revision}`,
  status: definition.status ?? 'ACTIVE',
  networkMode: definition.networkMode,
  pidMode: definition.pidMode,
  containers: (definition.containerDefinitions ?? []).map((container) => ({
    name: container.name ?? '',
    privileged: container.privileged === true,
    user: container.user,
  })),
  users,
});

async function describe(ecs: ECSClient, revision: string) {
  return ecs
    .send(new DescribeTaskDefinitionCommand({ taskDefinition: revision, include: ['TAGS'] }))
    .catch((error: unknown) => {
      // ECS's answer for a revision that does not exist (or was deleted).
      if (
        isAwsError(error, 'ClientException') &&
        /unable to describe task definition/i.test(String((error as Error).message))
      )
        return undefined;
      throw error;
    });
}

async function readRevision(
  ecs: ECSClient,
  revision: string,
  scope: { accountId: string; region: string },
  settings: Settings,
  users: (family: string, arn: string) => Promise<RevisionUsers>,
): Promise<Loaded<RevisionView> | undefined> {
  const described = await describe(ecs, revision);
  const definition = described?.taskDefinition;
  if (!definition?.family || !definition.taskDefinitionArn) return undefined;
  const tags = Object.fromEntries((described?.tags ?? []).map((tag) => [tag.key ?? '', tag.value ?? '']));
  // Out of scope, it is not judged (shared/rules/scope.ts): what runs it is not read either.
  const inScope = inTagScope(tags, mine(settings).scope);
  return {
    resourceType: TASK_DEFINITION,
    resourceId: `${definition.family}:${definition.revision}`,
    arn: definition.taskDefinitionArn,
    region: scope.region,
    accountId: scope.accountId,
    tags,
    state: toView(
      definition,
      inScope ? await users(definition.family, definition.taskDefinitionArn) : NOBODY,
    ),
  };
}

/** What breaks isolation from the host, in words, one per finding. */
function escapes(view: RevisionView, settings: Settings): string[] {
  const privileged = view.containers
    .filter((container) => container.privileged)
    .map((container) => container.name);
  const root = mine(settings).rootUserIsDrift
    ? view.containers.filter((container) => isRoot(container.user)).map((container) => container.name)
    : [];
  return [
    privileged.length > 0 && `privileged container(s) ${privileged.join(', ')}`,
    view.networkMode === 'host' && 'host network mode',
    view.pidMode === 'host' && 'host PID mode',
    root.length > 0 && `container(s) ${root.join(', ')} run as root (user set explicitly)`,
  ].filter((text): text is string => typeof text === 'string');
}

const usersInWords = ({ services, tasks }: RevisionUsers): string =>
  services.length + tasks.length === 0
    ? 'used by no service or running task yet'
    : `used by ${services.length} service(s)${services.length > 0 ? ` (${services.slice(0, 5).join(', ')}${services.length > 5 ? ', …' : ''})` : ''} and ${tasks.length} running task(s)`;

/**
 * Containers holding PHI stay isolated from their host: no task definition revision in scope runs a
 * privileged container, shares the host's network or process namespace, or (a setting) runs as
 * root by name. Notify only: stopping a service is an outage on-call must choose, so the alert names
 * the services and tasks that run the revision. Environment variables and secrets are never read
 * into evidence.
 */
const declared = {
  scope: ruleSetting({
    parameter: 'ecsScope',
    variable: 'ECS_SCOPE',
    fallback: 'all',
    doc: 'which task definition revisions run PHI workloads: `all`, or `tag:<key>[=<value>]` on the revision (a tag whoever registers or tags the revision sets, so `all` is the safe default); never silent when narrowed: a revision out of scope is NOT_APPLICABLE naming the scope, each sweep counts them, a cold start warns, and an ECS TagResource/UntagResource that takes one out of the scope is recorded and paged',
    schema: tagScope,
  }),
  rootUserIsDrift: ruleSetting({
    parameter: 'ecsRootUserIsDrift',
    variable: 'ECS_ROOT_USER_IS_DRIFT',
    fallback: 'false',
    doc: "`true`: a container whose `user` is explicitly root (`root`, `0`, `0:<gid>`) is drift too; a container without `user` runs as its image's own USER, which the rule cannot see and says so",
    schema: flag,
  }),
};
const mine = settingsReader(declared);

export const ecsTaskUnprivileged = defineRule<RevisionView>({
  id: 'ecs-task-unprivileged',
  settings: declared,
  scope: { setting: declared.scope, covers: 'task definition revision' },
  title: 'Privileged ECS task definition',
  severity: Severity.High,
  // Access control: a privileged or host-namespace container reaches past its task to the host.
  hipaa: ['164.312(a)(1)'],
  runbook: 'docs/runbooks/ecs-task-unprivileged.md',
  readme: {
    enforce:
      'nothing: notify only, naming the services and running tasks that use the revision; nothing is stopped or deregistered (stopping a service is an outage a person chooses)',
  },
  defaultMode: Mode.Notify,
  resourceType: TASK_DEFINITION,
  triggers: {
    cloudTrail: {
      // Tag calls: a revision leaving a narrowed scope is recorded and paged (the kit's scope);
      // routed only when they tag a task definition, not a cluster, service or task.
      eventNames: [
        'RegisterTaskDefinition',
        'CreateService',
        'UpdateService',
        'RunTask',
        'StartTask',
        'TagResource',
        'UntagResource',
      ],
      filters: [
        {
          eventNames: ['TagResource', 'UntagResource'],
          requestParameters: { resourceArn: [{ wildcard: 'arn:*:ecs:*:*:task-definition/*' }] },
        },
      ],
    },
    schedule: 'rate(1 hour)',
  },
  permissions: [
    {
      sid: 'ReadTaskDefinitions',
      actions: ['ecs:DescribeTaskDefinition'],
      why: 'DescribeTaskDefinition supports no resource-level permission.',
    },
    {
      sid: 'ListWhatRunsThem',
      actions: ['ecs:ListClusters', 'ecs:ListServices', 'ecs:ListTasks'],
      why: 'Listings of every cluster of a region: ECS allows them on no narrower resource.',
    },
    {
      sid: 'DescribeWhatRunsThem',
      actions: ['ecs:DescribeServices', 'ecs:DescribeTasks'],
      resources: [
        `arn:${Stack.partition}:ecs:*:${Stack.accountId}:service/*`,
        `arn:${Stack.partition}:ecs:*:${Stack.accountId}:task/*`,
      ],
    },
  ],

  async load(ref, aws, settings) {
    if (ref.resourceType !== TASK_DEFINITION) return undefined;
    const ecs = aws.ecs(ref.region);
    return readRevision(
      ecs,
      ref.resourceId,
      ref,
      settings,
      async (family, arn) => (await revisionsInUse(ecs, family)).get(arn) ?? NOBODY,
    );
  },

  /** Every revision a service or running task uses (an unused revision runs nowhere until it is used, and then is judged by that call). */
  async *list(scope, aws, settings) {
    const ecs = aws.ecs(scope.region);
    const inUse = await revisionsInUse(ecs);
    for (const [arn, users] of inUse) {
      const revision = await readRevision(ecs, arn, scope, settings, async () => users);
      if (revision) yield revision;
    }
  },

  detect(resource, settings) {
    const view = resource.state;
    const found = escapes(view, settings);
    const unused = view.users.services.length + view.users.tasks.length === 0;
    // An inactive revision nothing uses can start nowhere again. Scope: the kit's (shared/rules/scope.ts).
    if (found.length === 0 || (view.status !== 'ACTIVE' && unused)) return { compliant: true };
    const withoutUser = view.containers.filter((container) => container.user === undefined).length;
    return {
      compliant: false,
      reason: clip(
        `Task definition ${view.revision} in ${resource.region} breaks container isolation: ${found.join('; ')}; ${usersInWords(view.users)}`,
        REASON_TEXT_LIMIT,
      ),
      evidence: {
        revision: clip(view.revision),
        status: view.status,
        privilegedContainers: clip(
          view.containers
            .filter((container) => container.privileged)
            .map((container) => container.name)
            .join(','),
        ),
        networkMode: view.networkMode ?? null,
        pidMode: view.pidMode ?? null,
        explicitRootContainers: clip(
          view.containers
            .filter((container) => isRoot(container.user))
            .map((container) => container.name)
            .join(','),
        ),
        // A container without `user` runs as its image's USER, which the rule cannot see.
        containersUsingImageUser: withoutUser,
        services: clip(view.users.services.join(',')),
        runningTasks: view.users.tasks.length,
        tasks: clip(view.users.tasks.join(',')),
      },
      plan: `Nothing automatic: a person moves ${view.users.services.length} service(s) and ${view.users.tasks.length} running task(s) to an unprivileged revision; nothing is stopped`,
    };
  },

  async remediate(resource) {
    throw new RemediationDeclined(
      `ecs-task-unprivileged never stops or deregisters anything: ${resource.resourceId} and what runs it were not changed`,
    );
  },
});
