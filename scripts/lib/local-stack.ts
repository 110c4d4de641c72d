import { CloudFormationClient, CreateStackCommand, UpdateStackCommand } from '@aws-sdk/client-cloudformation';
import {
  type AttributeDefinition,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  type GlobalSecondaryIndex,
  type KeySchemaElement,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateEventBusCommand,
  DescribeEventBusCommand,
  EventBridgeClient,
  ResourceAlreadyExistsException,
} from '@aws-sdk/client-eventbridge';
import { CreateRoleCommand, GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  EnableKeyRotationCommand,
  KMSClient,
  ListAliasesCommand,
} from '@aws-sdk/client-kms';
import {
  CreateFunctionCommand,
  LambdaClient,
  PublishVersionCommand,
  ResourceConflictException,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Incident } from '../../shared/model';
import { sweepFunctionName } from '../../shared/pipeline/sweep-names';
import { rules } from '../../shared/rules';
import { roleName } from './deployment';
import { assertLoopbackEndpoint } from './moto';
import {
  functionEnvironment,
  type Json,
  readServerlessDefinition,
  resolveVariables,
} from './serverless-template';

/**
 * The stack's stateful resources (key, table, topic, queue, roles) created in a local emulator from
 * serverless.yml itself, so local runs use the production table schema and the deployed defaults;
 * and the grant reader's function configuration, where the command line reads the deployed caps.
 */
export interface LocalStack {
  region: string;
  tableName: string;
  topicArn: string;
  deadLetterQueueUrl: string;
  keyArn: string;
  /** The function environment, exactly as serverless.yml (and what it generates) defines it, resolved locally. */
  env: Record<string, string>;
}

const ASSUME_LAMBDA = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

/**
 * `everyFunction`: create every rule's function and its sweep function (configuration only), as a
 * deployment does, so the heartbeat reads each rule's mode from its own function and self-protection
 * finds both published (the demo and `local:provision`); tests create only the one the command line
 * reads, `ssh-grant-expired`. Local sweeps run inline, so no sweep queue or mapping is created.
 */
export async function provisionLocalStack({
  stage = 'local',
  region = 'us-east-1',
  everyFunction = false,
} = {}): Promise<LocalStack> {
  const endpoint = assertLoopbackEndpoint();
  const definition = readServerlessDefinition();
  const resources = resolveVariables(
    definition.resources.Resources as Json,
    definition,
    stage,
    region,
  ) as Record<string, { Type: string; Properties: Record<string, unknown> }>;
  const propertiesOf = (logicalId: string) => {
    const resource = resources[logicalId];
    if (!resource) throw new Error(`serverless.yml has no resource ${logicalId}`);
    return resource.Properties;
  };

  const keyArn = await ensureKey(region, `alias/${definition.service}-${stage}`);
  const table = propertiesOf('IncidentTable');
  const tableName = String(table.TableName);
  await ensureTable(region, tableName, table);
  const sns = new SNSClient({ region });
  const topic = await sns.send(
    new CreateTopicCommand({
      Name: String(propertiesOf('AlertTopic').TopicName),
      Attributes: { KmsMasterKeyId: keyArn },
    }),
  );
  const sqs = new SQSClient({ region });
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: String(propertiesOf('DeadLetterQueue').QueueName),
      Attributes: { KmsMasterKeyId: keyArn, MessageRetentionPeriod: '1209600' },
    }),
  );
  const incidentBusName = String(propertiesOf('IncidentEventBus').Name);
  const incidentBusArn = await ensureEventBus(region, incidentBusName);
  const roleArns = await ensureRoles(
    `${definition.service}-${stage}`,
    Object.keys(resources).filter((id) => resources[id]?.Type === 'AWS::IAM::Role'),
  );

  const local: Record<string, string> = {
    IncidentTable: tableName,
    AlertTopic: String(topic.TopicArn),
    DeadLetterQueue: String(queue.QueueUrl),
    ResponderKey: keyArn,
    IncidentEventBus: incidentBusName,
    // The pseudo parameters an environment value may join (SECURITY_HUB_PRODUCT_ARN).
    'AWS::Partition': 'aws',
    'AWS::Region': region,
    'AWS::AccountId': keyArn.split(':')[4] ?? '',
  };
  const attributes: Record<string, string> = {
    ...roleArns,
    ResponderKey: keyArn,
    IncidentEventBus: incidentBusArn,
  };
  const environment = resolveVariables(
    functionEnvironment(definition) as Json,
    definition,
    stage,
    region,
  ) as Record<string, Json>;
  // Local sweeps run inline, region after region (`local:invoke` returns their outcomes); the
  // integration tests set SWEEP_QUEUE_PREFIX to a queue of their own to run a sweep as units.
  delete environment.SWEEP_QUEUE_PREFIX;
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(environment)) {
    env[name] = resolveIntrinsic(value, local, attributes, name);
  }
  for (const rule of rules.filter((rule) => everyFunction || rule.id === 'ssh-grant-expired')) {
    // A deployment's two functions per rule: live events, and its sweep units (the same handler).
    const names = everyFunction ? [rule.id, sweepFunctionName(rule.id)] : [rule.id];
    for (const name of names)
      await ensureFunction(region, `${definition.service}-${stage}`, name, rule.id, {
        roleArn: String(roleArns[roleName(rule)]),
        variables: env,
      });
  }
  const outputs = resolveVariables(
    (definition.resources.Outputs ?? {}) as Json,
    definition,
    stage,
    region,
  ) as Record<string, { Value: Json }>;
  await ensureStackOutputs(
    region,
    `${definition.service}-${stage}`,
    Object.fromEntries(
      Object.entries(outputs).map(([name, output]) => [
        name,
        resolveIntrinsic(output.Value, local, attributes, name),
      ]),
    ),
  );
  Object.assign(env, {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: region,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    // Only local emulators accept evaluations in test mode (config.ts refuses it elsewhere).
    CONFIG_TEST_MODE: 'true',
    // moto starts every region drifted (EBS encryption by default off, no Config recorder): local
    // sweeps cover the region their schedule names unless a run asks for more.
    SWEEP_REGIONS: 'own-region',
    // Plain console logs, metrics off: local runs have no CloudWatch.
    POWERTOOLS_DEV: 'true',
    POWERTOOLS_LOG_LEVEL: 'WARN',
  });
  return {
    region,
    tableName,
    topicArn: local.AlertTopic as string,
    deadLetterQueueUrl: String(queue.QueueUrl),
    keyArn,
    env,
  };
}

/** Ref / GetAtt / Join as CloudFormation would resolve them, from what was created locally. */
function resolveIntrinsic(
  value: Json,
  refs: Record<string, string>,
  arns: Record<string, string>,
  name: string,
): string {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
    return String(value);
  if (value && !Array.isArray(value) && typeof value === 'object') {
    if ('Ref' in value && typeof value.Ref === 'string' && value.Ref in refs)
      return refs[value.Ref] as string;
    const getAtt = value['Fn::GetAtt'];
    if (Array.isArray(getAtt) && getAtt[1] === 'Arn' && typeof getAtt[0] === 'string' && getAtt[0] in arns) {
      return arns[getAtt[0]] as string;
    }
    const join = value['Fn::Join'];
    if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
      return join[1].map((part) => resolveIntrinsic(part, refs, arns, name)).join(join[0]);
    }
  }
  throw new Error(`cannot resolve ${name} locally: ${JSON.stringify(value)}`);
}

async function ensureKey(region: string, alias: string): Promise<string> {
  const kms = new KMSClient({ region });
  const aliases = await kms.send(new ListAliasesCommand({}));
  const existing = aliases.Aliases?.find((candidate) => candidate.AliasName === alias);
  if (existing?.TargetKeyId) {
    return `arn:aws:kms:${region}:${existing.AliasArn?.split(':')[4]}:key/${existing.TargetKeyId}`;
  }
  const key = await kms.send(new CreateKeyCommand({ Description: 'compliance-responder local stack key' }));
  const arn = String(key.KeyMetadata?.Arn);
  // As serverless.yml creates it (EnableKeyRotation: true): self-protection pages on a key that does not rotate.
  await kms.send(new EnableKeyRotationCommand({ KeyId: key.KeyMetadata?.KeyId }));
  await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: key.KeyMetadata?.KeyId }));
  return arn;
}

async function ensureTable(
  region: string,
  tableName: string,
  properties: Record<string, unknown>,
): Promise<void> {
  const dynamo = new DynamoDBClient({ region });
  try {
    await dynamo.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: properties.AttributeDefinitions as AttributeDefinition[],
        KeySchema: properties.KeySchema as KeySchemaElement[],
        GlobalSecondaryIndexes: properties.GlobalSecondaryIndexes as GlobalSecondaryIndex[],
        StreamSpecification: { StreamEnabled: true, ...(properties.StreamSpecification as object) },
        DeletionProtectionEnabled: true,
      }),
    );
    const ttl = properties.TimeToLiveSpecification as { AttributeName: string; Enabled: boolean };
    await dynamo.send(new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: ttl }));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  await dynamo.send(new DescribeTableCommand({ TableName: tableName }));
}

/** The incident event bus; its ARN. */
async function ensureEventBus(region: string, name: string): Promise<string> {
  const events = new EventBridgeClient({ region });
  try {
    await events.send(new CreateEventBusCommand({ Name: name }));
  } catch (error) {
    if (!(error instanceof ResourceAlreadyExistsException)) throw error;
  }
  const bus = await events.send(new DescribeEventBusCommand({ Name: name }));
  return String(bus.Arn);
}

/** An empty zip archive: the function's code runs through local:invoke, never in the emulator. */
const NO_CODE = Buffer.concat([Buffer.from('PK\x05\x06', 'binary'), Buffer.alloc(18)]);

/**
 * A rule's function with the environment serverless.yml deploys (configuration only), published as
 * a deployment publishes it: `compliance-responder ssh grant` reads its caps from ssh-grant-expired's
 * version, as in AWS, self-protection compares a function with it, and the heartbeat reads its mode.
 */
async function ensureFunction(
  region: string,
  stack: string,
  name: string,
  ruleId: string,
  { roleArn, variables }: { roleArn: string; variables: Record<string, string> },
): Promise<void> {
  const lambda = new LambdaClient({ region });
  const FunctionName = `${stack}-${name}`;
  try {
    await lambda.send(
      new CreateFunctionCommand({
        FunctionName,
        Role: roleArn,
        Runtime: 'nodejs22.x',
        Handler: `functions/${ruleId}.handler`,
        Code: { ZipFile: NO_CODE },
        Environment: { Variables: variables },
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceConflictException)) throw error;
    await lambda.send(
      new UpdateFunctionConfigurationCommand({ FunctionName, Environment: { Variables: variables } }),
    );
  }
  await lambda.send(new PublishVersionCommand({ FunctionName }));
}

/**
 * A CloudFormation stack named as the deployed one, holding only its outputs (serverless.yml's,
 * resolved to what was created here): the command line finds its table, topic, key and roles with
 * DescribeStacks against moto as in AWS. The resources themselves were created directly above, since
 * moto's CloudFormation cannot create most of them; its one resource is an inert placeholder.
 */
async function ensureStackOutputs(region: string, StackName: string, outputs: Record<string, string>) {
  const cloudformation = new CloudFormationClient({ region });
  const TemplateBody = JSON.stringify({
    Resources: { OutputsOnly: { Type: 'AWS::CloudFormation::WaitConditionHandle' } },
    Outputs: Object.fromEntries(Object.entries(outputs).map(([name, Value]) => [name, { Value }])),
  });
  try {
    await cloudformation.send(new UpdateStackCommand({ StackName, TemplateBody }));
  } catch (error) {
    if (!(error instanceof Error && /does not exist/.test(error.message))) throw error;
    await cloudformation.send(new CreateStackCommand({ StackName, TemplateBody }));
  }
}

/** One local IAM role per function role in the template, so the loop guard sees real role ARNs. */
async function ensureRoles(prefix: string, logicalIds: string[]): Promise<Record<string, string>> {
  const iam = new IAMClient({ region: 'us-east-1' });
  const arns: Record<string, string> = {};
  for (const logicalId of logicalIds) {
    const RoleName = `${prefix}-${logicalId}`.slice(0, 64);
    try {
      arns[logicalId] = String((await iam.send(new GetRoleCommand({ RoleName }))).Role?.Arn);
    } catch {
      const created = await iam.send(
        new CreateRoleCommand({ RoleName, AssumeRolePolicyDocument: ASSUME_LAMBDA }),
      );
      arns[logicalId] = String(created.Role?.Arn);
    }
  }
  return arns;
}

/** An SQS queue subscribed to the alert topic: what on-call would receive, readable by tests and the demo. */
export async function subscribeInbox(stack: LocalStack, name = 'on-call-inbox'): Promise<string> {
  const sqs = new SQSClient({ region: stack.region });
  const queue = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  const queueUrl = String(queue.QueueUrl);
  const attributes = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  const queueArn = String(attributes.Attributes?.QueueArn);
  await sqs.send(
    new SetQueueAttributesCommand({
      QueueUrl: queueUrl,
      Attributes: {
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Service: 'sns.amazonaws.com' },
              Action: 'sqs:SendMessage',
              Resource: queueArn,
              Condition: { ArnEquals: { 'aws:SourceArn': stack.topicArn } },
            },
          ],
        }),
      },
    }),
  );
  await new SNSClient({ region: stack.region }).send(
    new SubscribeCommand({ TopicArn: stack.topicArn, Protocol: 'sqs', Endpoint: queueArn }),
  );
  return queueUrl;
}

/** An alert as an SQS subscriber of the topic receives it. */
export interface ReceivedAlert {
  subject: string;
  attributes: Record<string, string>;
  /** The `sqs` body of the alert: the incident as JSON. */
  body: Record<string, unknown> & { incidentId: string; status: string };
  /** That body as delivered, unparsed. */
  message: string;
}

/** Every alert the inbox holds now, removed from it as it is read. */
export async function drainInbox(
  region: string,
  queueUrl: string,
  waitSeconds = 0,
): Promise<ReceivedAlert[]> {
  const sqs = new SQSClient({ region });
  const alerts: ReceivedAlert[] = [];
  for (;;) {
    const batch = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: waitSeconds,
      }),
    );
    if (!batch.Messages?.length) return alerts;
    for (const message of batch.Messages) {
      // The SNS envelope; with MessageStructure json, Message is the alert's `sqs` body.
      const envelope = JSON.parse(String(message.Body)) as {
        Subject: string;
        Message: string;
        MessageAttributes: Record<string, { Value: string }>;
      };
      alerts.push({
        subject: envelope.Subject,
        attributes: Object.fromEntries(
          Object.entries(envelope.MessageAttributes).map(([k, v]) => [k, v.Value]),
        ),
        body: JSON.parse(envelope.Message),
        message: envelope.Message,
      });
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
    }
  }
}

/** This month's incidents, from the table's byMonth index. */
export async function listIncidents(stack: LocalStack): Promise<Incident[]> {
  const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ region: stack.region }));
  const result = await documents.send(
    new QueryCommand({
      TableName: stack.tableName,
      IndexName: 'byMonth',
      KeyConditionExpression: 'detectedMonth = :month',
      ExpressionAttributeValues: { ':month': new Date().toISOString().slice(0, 7) },
    }),
  );
  return (result.Items ?? []) as Incident[];
}
