import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ConfigServiceClient } from '@aws-sdk/client-config-service';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingClient } from '@aws-sdk/client-elastic-load-balancing';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { IAMClient } from '@aws-sdk/client-iam';
import { KMSClient } from '@aws-sdk/client-kms';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SNSClient } from '@aws-sdk/client-sns';
import { STSClient } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { rules as registry } from '../../shared/rules';
import { actionsOf, type Rule } from '../../shared/rules/rule';

/**
 * The AWS services the registry's functions call, read from what each rule declares, and what the
 * test plumbing needs per service (never per rule): the SDK clients to mock, and (in fault-proxy.ts)
 * how the service answers when throttled. A rule on a new service fails test/reliability/scenarios.test.ts
 * until both know it.
 */

/** The IAM actions a rule declares, as one flat list. */
export const declaredActions = (rule: Rule): readonly string[] => actionsOf(rule);

/** What every function calls whatever its rule: the incident table, the alert topic, Config's evaluations. */
export const PIPELINE_SERVICES = ['dynamodb', 'sns', 'config'] as const;

/** The actions a rule's functions call themselves: not those AWS checks on behalf of another call. */
const calledActions = (rule: Rule): readonly string[] =>
  rule.permissions.filter((statement) => !statement.checkedOn).flatMap((statement) => statement.actions);

/** Every service (IAM prefix) the functions of these rules call, sorted. */
export const servicesOf = (rules: readonly Rule[] = registry): string[] =>
  [
    ...new Set([
      ...PIPELINE_SERVICES,
      ...rules.flatMap((rule) => calledActions(rule).map((action) => action.split(':')[0] ?? action)),
    ]),
  ].sort();

/** A client class (mocked through its prototype; the document client's constructor is protected). */
type ClientClass = { readonly prototype: object };

/** The SDK clients of each service, by IAM prefix (DynamoDB's items go through the document client). */
export const SDK_CLIENTS: Readonly<Record<string, readonly ClientClass[]>> = {
  cloudtrail: [CloudTrailClient],
  cloudwatch: [CloudWatchClient],
  config: [ConfigServiceClient],
  dynamodb: [DynamoDBClient, DynamoDBDocumentClient],
  ec2: [EC2Client],
  elasticloadbalancing: [ElasticLoadBalancingV2Client, ElasticLoadBalancingClient],
  ecr: [ECRClient],
  ecs: [ECSClient],
  events: [EventBridgeClient],
  iam: [IAMClient],
  kms: [KMSClient],
  lambda: [LambdaClient],
  logs: [CloudWatchLogsClient],
  sns: [SNSClient],
  sts: [STSClient],
};
