import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ConfigServiceClient } from '@aws-sdk/client-config-service';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client, type EC2ClientConfig } from '@aws-sdk/client-ec2';
import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingClient } from '@aws-sdk/client-elastic-load-balancing';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { IAMClient } from '@aws-sdk/client-iam';
import { KMSClient } from '@aws-sdk/client-kms';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecurityHubClient } from '@aws-sdk/client-securityhub';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { STSClient } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * The only place SDK clients are built. Regional clients are built for the region an event names,
 * never the deploy region. Endpoints are never set here: the SDK honours AWS_ENDPOINT_URL itself,
 * which is how tests and the demo point everything at moto.
 */
export interface AwsClients {
  /**
   * The member account these clients act in, as a rule's member role there (deployment:
   * organisation, shared/organisation/accounts.ts); absent for the stack's own account. What the
   * home stack's own ledgers grant (SSH grants) holds in its own account only.
   */
  readonly memberAccount?: string;
  ec2(region: string): EC2Client;
  config(region: string): ConfigServiceClient;
  cloudtrail(region: string): CloudTrailClient;
  kms(region: string): KMSClient;
  /** IAM is global; its API lives in us-east-1. */
  iam(): IAMClient;
  sts(region: string): STSClient;
  /** The responder's own stack, as the rule guarding it reads it: EventBridge rules, functions, table settings. */
  events(region: string): EventBridgeClient;
  lambda(region: string): LambdaClient;
  /** DynamoDB's control plane (DescribeTable, UpdateTable); dynamo() is the document client for items. */
  dynamodbControl(region: string): DynamoDBClient;
  /** The responder's own resources (table, topic) live in its home region. */
  dynamo(): DynamoDBDocumentClient;
  sns(): SNSClient;
  /** The rule's own sweep queue (units of a scheduled sweep), in the home region. */
  sqs(): SQSClient;
  /** The responder's own alarms and log groups, as the rule guarding them reads them. */
  cloudwatch(region: string): CloudWatchClient;
  logs(region: string): CloudWatchLogsClient;
  /** Application and Network Load Balancers (Elastic Load Balancing v2). */
  elbv2(region: string): ElasticLoadBalancingV2Client;
  /** Classic Load Balancers. */
  elb(region: string): ElasticLoadBalancingClient;
  /** Container image repositories and the registry's scanning settings. */
  ecr(region: string): ECRClient;
  /** The deployed stack's outputs: where the command line finds its table, topic, key and roles. */
  cloudformation(region: string): CloudFormationClient;
  /** Task definitions, and the services and tasks that run them. */
  ecs(region: string): ECSClient;
  /** Where incidents are imported as findings (docs/security-hub.md). */
  securityhub(region: string): SecurityHubClient;
}

/** Standard retry mode with a few more attempts than the default: throttling is routine in sweeps. */
const MAX_ATTEMPTS = 5;
/**
 * The SDK sets no timeout by default: a stalled connection would hold the function until Lambda
 * kills it mid-remediation. A socket silent this long fails with TimeoutError, which the SDK retries.
 * Generous on purpose: a CPU-starved process runs its timers before it reads the socket that did
 * connect, so a tight timeout fails healthy calls (seen with 20 cold starts on 2 CPUs).
 */
const REQUEST_HANDLER = { connectionTimeout: 10_000, socketTimeout: 15_000 } as const;

/**
 * `credentials`: whose calls these are. Absent: the function's own role (the SDK's default chain);
 * an organisation deployment passes a member role's (shared/organisation/accounts.ts).
 */
export function createAwsClients(
  homeRegion: string,
  credentials?: EC2ClientConfig['credentials'],
): AwsClients {
  const cache = new Map<string, unknown>();
  function memo<T>(key: string, build: () => T): T {
    if (!cache.has(key)) cache.set(key, build());
    return cache.get(key) as T;
  }
  const common = {
    maxAttempts: MAX_ATTEMPTS,
    retryMode: 'standard',
    requestHandler: REQUEST_HANDLER,
    ...(credentials && { credentials }),
  } as const;
  return {
    ec2: (region) => memo(`ec2:${region}`, () => new EC2Client({ ...common, region })),
    config: (region) => memo(`config:${region}`, () => new ConfigServiceClient({ ...common, region })),
    cloudtrail: (region) => memo(`cloudtrail:${region}`, () => new CloudTrailClient({ ...common, region })),
    kms: (region) => memo(`kms:${region}`, () => new KMSClient({ ...common, region })),
    iam: () => memo('iam', () => new IAMClient({ ...common, region: 'us-east-1' })),
    sts: (region) => memo(`sts:${region}`, () => new STSClient({ ...common, region })),
    events: (region) => memo(`events:${region}`, () => new EventBridgeClient({ ...common, region })),
    lambda: (region) => memo(`lambda:${region}`, () => new LambdaClient({ ...common, region })),
    dynamodbControl: (region) =>
      memo(`dynamodb-control:${region}`, () => new DynamoDBClient({ ...common, region })),
    dynamo: () =>
      memo('dynamo', () =>
        DynamoDBDocumentClient.from(new DynamoDBClient({ ...common, region: homeRegion }), {
          marshallOptions: { removeUndefinedValues: true },
        }),
      ),
    sns: () => memo('sns', () => new SNSClient({ ...common, region: homeRegion })),
    sqs: () => memo('sqs', () => new SQSClient({ ...common, region: homeRegion })),
    cloudwatch: (region) => memo(`cloudwatch:${region}`, () => new CloudWatchClient({ ...common, region })),
    logs: (region) => memo(`logs:${region}`, () => new CloudWatchLogsClient({ ...common, region })),
    elbv2: (region) => memo(`elbv2:${region}`, () => new ElasticLoadBalancingV2Client({ ...common, region })),
    elb: (region) => memo(`elb:${region}`, () => new ElasticLoadBalancingClient({ ...common, region })),
    ecr: (region) => memo(`ecr:${region}`, () => new ECRClient({ ...common, region })),
    ecs: (region) => memo(`ecs:${region}`, () => new ECSClient({ ...common, region })),
    cloudformation: (region) =>
      memo(`cloudformation:${region}`, () => new CloudFormationClient({ ...common, region })),
    // Adaptive: slows down when Security Hub throttles (10 requests a second per account and region).
    securityhub: (region) =>
      memo(
        `securityhub:${region}`,
        () => new SecurityHubClient({ ...common, region, retryMode: 'adaptive' }),
      ),
  };
}

/** True when AWS_ENDPOINT_URL points at this machine (moto), the only place local-only settings apply. */
export function endpointIsLoopback(endpoint = process.env.AWS_ENDPOINT_URL): boolean {
  if (!endpoint) return false;
  try {
    const host = new URL(endpoint).hostname;
    return host === 'localhost' || host === '[::1]' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
  } catch {
    return false;
  }
}
