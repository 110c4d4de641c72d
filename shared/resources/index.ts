import { accountSetting } from './account-setting';
import { ecrImage } from './ecr-image';
import { ecrRepository } from './ecr-repository';
import { iamUser } from './iam-user';
import { instance } from './instance';
import { classicLoadBalancer, loadBalancer, targetGroup } from './load-balancer';
import { recorder } from './recorder';
import type { ResourceType } from './resource-type';
import { securityGroup } from './security-group';
import {
  alarm,
  configRule,
  eventBusPolicy,
  eventRule,
  key,
  lambdaFunction,
  logGroup,
  role,
  subscription,
  table,
  topic,
} from './stack-resource';
import { taskDefinition } from './task-definition';
import { trail } from './trail';
import { volume } from './volume';

/** Every kind of resource a rule judges, declared once each. */
export const resourceTypes: readonly ResourceType[] = [
  volume,
  instance,
  securityGroup,
  iamUser,
  trail,
  recorder,
  accountSetting,
  eventRule,
  lambdaFunction,
  table,
  key,
  role,
  logGroup,
  alarm,
  configRule,
  topic,
  subscription,
  eventBusPolicy,
  loadBalancer,
  targetGroup,
  classicLoadBalancer,
  ecrRepository,
  taskDefinition,
  ecrImage,
];

/**
 * The resource type a CloudTrail call names, or undefined when no module maps it. Two services may log
 * calls of one name (Lambda's and EventBridge's RemovePermission): the service tells them apart.
 */
export const resourceTypeOfCall = (eventName: string, eventSource?: string): string | undefined =>
  resourceTypes.find(
    (resource) =>
      Object.hasOwn(resource.calls, eventName) &&
      (eventSource === undefined || resource.calls[eventName]?.eventSource === eventSource),
  )?.type;

/** The services that log a call of this name, as the resource types declare them. */
export const eventSourcesOfCall = (eventName: string): string[] => [
  ...new Set(
    resourceTypes.flatMap((resource) =>
      Object.hasOwn(resource.calls, eventName) ? [resource.calls[eventName]?.eventSource ?? ''] : [],
    ),
  ),
];
