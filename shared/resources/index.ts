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
  loadBalancer,
  targetGroup,
  classicLoadBalancer,
  ecrRepository,
  taskDefinition,
  ecrImage,
];

/** The resource type a CloudTrail call names, or undefined when no module maps it. */
export const resourceTypeOfCall = (eventName: string): string | undefined =>
  resourceTypes.find((resource) => Object.hasOwn(resource.calls, eventName))?.type;
