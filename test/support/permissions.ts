import type { AwsStub } from 'aws-sdk-client-mock';

/** IAM service prefix of each SDK client the rules use. */
const PREFIX = {
  EC2Client: 'ec2',
  ElasticLoadBalancingV2Client: 'elasticloadbalancing',
  ElasticLoadBalancingClient: 'elasticloadbalancing',
  IAMClient: 'iam',
  ConfigServiceClient: 'config',
  CloudTrailClient: 'cloudtrail',
  KMSClient: 'kms',
  EventBridgeClient: 'events',
  LambdaClient: 'lambda',
  DynamoDBClient: 'dynamodb',
  SNSClient: 'sns',
  CloudWatchClient: 'cloudwatch',
  CloudWatchLogsClient: 'logs',
  ECRClient: 'ecr',
  ECSClient: 'ecs',
} as const;

/**
 * Collects, across a rule's unit tests, the IAM action of every SDK command the rule sent
 * (GetEbsEncryptionByDefaultCommand on EC2 → ec2:GetEbsEncryptionByDefault).
 */
export class SentActions {
  private readonly actions = new Set<string>();

  // biome-ignore lint/suspicious/noExplicitAny: the stub's input and output types differ per client
  collect(client: keyof typeof PREFIX, stub: AwsStub<any, any, any>): void {
    for (const call of stub.calls()) {
      const command = (call.args[0] as { constructor: { name: string } }).constructor.name.replace(
        /Command$/,
        '',
      );
      this.actions.add(`${PREFIX[client]}:${command}`);
    }
  }

  get all(): string[] {
    return [...this.actions].sort();
  }
}
