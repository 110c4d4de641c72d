import {
  DescribeServicesCommand,
  DescribeTasksCommand,
  type ECSClient,
  paginateListClusters,
  paginateListServices,
  paginateListTasks,
} from '@aws-sdk/client-ecs';

/** Who runs a task definition revision: services (`<cluster>/<service>`) and running tasks (`<cluster>/<task id>`). */
export interface RevisionUsers {
  readonly services: readonly string[];
  readonly tasks: readonly string[];
}

/** DescribeServices takes 10 services a call, DescribeTasks 100 tasks. */
const SERVICES_PER_DESCRIBE = 10;
const TASKS_PER_DESCRIBE = 100;

const chunks = <T>(items: readonly T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, index) =>
    items.slice(index * size, (index + 1) * size),
  );

const lastPart = (arn: string | undefined): string => arn?.split('/').pop() ?? '';

/**
 * Every revision the region's services and running tasks use, with who uses it: by revision ARN.
 * `family` narrows the task listing to one family (ListTasks filters by family; services cannot be).
 * A failed or throttled read throws: it never turns into "used by nobody".
 */
export async function revisionsInUse(
  ecs: ECSClient,
  family?: string,
): Promise<ReadonlyMap<string, RevisionUsers>> {
  const users = new Map<string, { services: string[]; tasks: string[] }>();
  const of = (arn: string) => {
    const found = users.get(arn) ?? { services: [], tasks: [] };
    users.set(arn, found);
    return found;
  };
  for await (const clusters of paginateListClusters({ client: ecs }, {})) {
    for (const cluster of clusters.clusterArns ?? []) {
      const clusterName = lastPart(cluster);
      const serviceArns: string[] = [];
      for await (const page of paginateListServices({ client: ecs }, { cluster }))
        serviceArns.push(...(page.serviceArns ?? []));
      for (const batch of chunks(serviceArns, SERVICES_PER_DESCRIBE)) {
        const { services } = await ecs.send(new DescribeServicesCommand({ cluster, services: batch }));
        for (const service of services ?? []) {
          if (service.taskDefinition)
            of(service.taskDefinition).services.push(`${clusterName}/${service.serviceName}`);
        }
      }
      const taskArns: string[] = [];
      for await (const page of paginateListTasks({ client: ecs }, { cluster, ...(family && { family }) }))
        taskArns.push(...(page.taskArns ?? []));
      for (const batch of chunks(taskArns, TASKS_PER_DESCRIBE)) {
        const { tasks } = await ecs.send(new DescribeTasksCommand({ cluster, tasks: batch }));
        for (const task of tasks ?? []) {
          if (task.taskDefinitionArn)
            of(task.taskDefinitionArn).tasks.push(`${clusterName}/${lastPart(task.taskArn)}`);
        }
      }
    }
  }
  return users;
}

/**
 * Who runs each image digest in the region: running tasks (`<cluster>/<task id>`) whose containers
 * report that digest, and the services those tasks belong to (a task started by a service is in the
 * group `service:<name>`). A task definition may name an image by tag; the task reports the digest
 * it pulled, which is what ran. A failed or throttled read throws: never "runs nowhere".
 */
export async function digestsInUse(ecs: ECSClient): Promise<ReadonlyMap<string, RevisionUsers>> {
  const users = new Map<string, { services: Set<string>; tasks: string[] }>();
  for await (const clusters of paginateListClusters({ client: ecs }, {})) {
    for (const cluster of clusters.clusterArns ?? []) {
      const clusterName = lastPart(cluster);
      const taskArns: string[] = [];
      for await (const page of paginateListTasks({ client: ecs }, { cluster }))
        taskArns.push(...(page.taskArns ?? []));
      for (const batch of chunks(taskArns, TASKS_PER_DESCRIBE)) {
        const { tasks } = await ecs.send(new DescribeTasksCommand({ cluster, tasks: batch }));
        for (const task of tasks ?? []) {
          const digests = new Set(
            (task.containers ?? []).flatMap((c) => (c.imageDigest ? [c.imageDigest] : [])),
          );
          for (const digest of digests) {
            const found = users.get(digest) ?? { services: new Set<string>(), tasks: [] };
            users.set(digest, found);
            found.tasks.push(`${clusterName}/${lastPart(task.taskArn)}`);
            if (task.group?.startsWith('service:'))
              found.services.add(`${clusterName}/${task.group.slice('service:'.length)}`);
          }
        }
      }
    }
  }
  return new Map(
    [...users].map(([digest, { services, tasks }]) => [digest, { services: [...services].sort(), tasks }]),
  );
}
