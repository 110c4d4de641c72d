import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { ruleHandler } from '../../../shared/pipeline/rule-handler';
import { defineRule, type Loaded } from '../../../shared/rules/rule';

const ACCOUNT = '111122223333';
const QUEUE = 'compliance-responder-dev-ebs-encryption-by-default-sweep';
const PREFIX = `https://sqs.us-east-1.amazonaws.com/${ACCOUNT}/compliance-responder-dev-`;

/** How many lamps the rule lists. */
let lampCount = 1;

/** A rule of lamps that are all on: judging them needs only the table's read of open drift. */
const rule = defineRule<{ on: boolean }>({
  id: 'ebs-encryption-by-default',
  title: 'Lamp is off',
  severity: 'HIGH',
  hipaa: ['164.312(b)'],
  runbook: 'docs/runbooks/ebs-encryption-by-default.md',
  readme: { enforce: 'reports the lamp' },
  defaultMode: 'notify',
  resourceType: 'AWS::::Account',
  triggers: { cloudTrail: { eventNames: ['TurnOff'] }, schedule: 'rate(1 hour)' },
  permissions: [],
  load: async () => undefined,
  async *list(scope) {
    for (let index = 0; index < lampCount; index++) {
      const lamp: Loaded<{ on: boolean }> = {
        resourceType: 'AWS::::Account',
        resourceId: `lamp-${index}`,
        arn: `arn:lamp:${index}`,
        region: scope.region,
        accountId: ACCOUNT,
        tags: {},
        state: { on: true },
      };
      yield lamp;
    }
  },
  detect: () => ({ compliant: true }),
  remediate: async () => undefined,
});

const record = (messageId: string, unit: Record<string, unknown>) => ({
  messageId,
  receiptHandle: 'handle',
  body: JSON.stringify({
    ruleId: 'ebs-encryption-by-default',
    region: 'eu-west-1',
    sweepId: 'sweep-1',
    observedAt: '2026-12-04T10:00:00Z',
    attempt: 1,
    ...unit,
  }),
  attributes: { ApproximateReceiveCount: '1', SentTimestamp: '1764842400000' },
  messageAttributes: {},
  md5OfBody: 'x',
  eventSource: 'aws:sqs',
  eventSourceARN: `arn:aws:sqs:us-east-1:${ACCOUNT}:${QUEUE}`,
  awsRegion: 'us-east-1',
});

const context = {
  functionName: 'compliance-responder-dev-ebs-encryption-by-default',
  awsRequestId: 'request-1',
  getRemainingTimeInMillis: () => 60_000,
} as unknown as Context;

const environment = {
  AWS_REGION: 'us-east-1',
  INCIDENT_TABLE: 'incidents',
  ALERT_TOPIC_ARN: `arn:aws:sns:us-east-1:${ACCOUNT}:alerts`,
  RESPONDER_ROLE_ARNS: `arn:aws:iam::${ACCOUNT}:role/responder`,
  SWEEP_REGIONS: 'eu-west-1',
  SWEEP_QUEUE_PREFIX: PREFIX,
  POWERTOOLS_DEV: 'true',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
  POWERTOOLS_METRICS_DISABLED: 'true',
};

describe('a batch of sweep units', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
    lampCount = 1;
  });

  it("stops a unit by the Lambda context's time left and hands the rest on", async () => {
    // Prepare: three lamps; after the unit starts, the invocation has less than half its time left
    lampCount = 3;
    Object.assign(process.env, environment);
    mockClient(DynamoDBDocumentClient).onAnyCommand().resolves({});
    const sqs = mockClient(SQSClient);
    sqs.on(SendMessageBatchCommand).resolves({ Failed: [] });
    let asked = 0;
    const running = { ...context, getRemainingTimeInMillis: () => (asked++ === 0 ? 60_000 : 20_000) };
    // Act
    const result = await ruleHandler(rule)({ Records: [record('unit', {})] }, running);
    // Assess
    expect(result.outcomes.map((outcome) => outcome.resourceId)).toEqual(['lamp-0']);
    const [sent] = sqs.commandCalls(SendMessageBatchCommand);
    expect(JSON.parse(sent?.args[0].input.Entries?.[0]?.MessageBody ?? '{}')).toMatchObject({
      cursor: '1',
      after: 'arn:lamp:0',
      attempt: 2,
    });
  });

  it('reports only the refused and the unreadable units as failures; the others are swept', async () => {
    // Prepare
    Object.assign(process.env, {
      AWS_REGION: 'us-east-1',
      INCIDENT_TABLE: 'incidents',
      ALERT_TOPIC_ARN: `arn:aws:sns:us-east-1:${ACCOUNT}:alerts`,
      RESPONDER_ROLE_ARNS: `arn:aws:iam::${ACCOUNT}:role/responder`,
      SWEEP_REGIONS: 'eu-west-1',
      SWEEP_QUEUE_PREFIX: PREFIX,
      POWERTOOLS_DEV: 'true',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
    });
    const dynamo = mockClient(DynamoDBDocumentClient);
    dynamo.onAnyCommand().resolves({});
    const sqs = mockClient(SQSClient);
    sqs.on(SendMessageBatchCommand).resolves({ Failed: [] });
    const handler = ruleHandler(rule);
    // Act
    const result = await handler(
      {
        Records: [
          record('good', {}),
          record('other-rule', { ruleId: 'ssh-open-to-world' }),
          record('unknown-region', { region: 'ap-south-1' }),
          { ...record('not-json', {}), body: '{' },
        ],
      },
      context,
    );
    // Assess
    expect(result.batchItemFailures).toEqual([
      { itemIdentifier: 'other-rule' },
      { itemIdentifier: 'unknown-region' },
      { itemIdentifier: 'not-json' },
    ]);
    expect(result.outcomes.map((outcome) => outcome.resourceId)).toEqual(['lamp-0']);
    // One page, the whole listing: nothing to hand on, and a refused unit sends nothing either
    expect(sqs).not.toHaveReceivedCommand(SendMessageBatchCommand);
  });
});
