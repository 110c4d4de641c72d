import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { DynamoDBRecord } from 'aws-lambda';
import type { HandlerResult } from '../../shared/pipeline/rule-handler';
import { LocalResponder, resetAccount } from '../support/local-responder';
import { authorize, authorizeCall, createGroup, ssh } from '../support/ssh';

const REGION = 'us-east-1';

/** What the table's stream holds now, as Lambda would hand it over (moto serves DynamoDB Streams). */
async function streamRecords(tableName: string): Promise<DynamoDBRecord[]> {
  const table = await new DynamoDBClient({ region: REGION }).send(
    new DescribeTableCommand({ TableName: tableName }),
  );
  const streams = new DynamoDBStreamsClient({ region: REGION });
  const stream = await streams.send(new DescribeStreamCommand({ StreamArn: table.Table?.LatestStreamArn }));
  const records: DynamoDBRecord[] = [];
  for (const shard of stream.StreamDescription?.Shards ?? []) {
    const { ShardIterator } = await streams.send(
      new GetShardIteratorCommand({
        StreamArn: table.Table?.LatestStreamArn,
        ShardId: shard.ShardId,
        ShardIteratorType: 'TRIM_HORIZON',
      }),
    );
    const page = await streams.send(new GetRecordsCommand({ ShardIterator, Limit: 1000 }));
    records.push(...((page.Records ?? []) as unknown as DynamoDBRecord[]));
  }
  return records;
}

describe('incident events on the incident bus, end to end against moto', () => {
  it("publishes an incident's opening and each status change, read from the table's stream, to a subscriber of the bus", async () => {
    // Prepare: a SIEM's queue subscribed to the bus, as docs/incident-events.md shows
    await resetAccount();
    const responder = await LocalResponder.provision();
    const busName = responder.stack.env.INCIDENT_BUS_NAME ?? '';
    const sqs = new SQSClient({ region: REGION });
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'siem' }));
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
    );
    const events = new EventBridgeClient({ region: REGION });
    await events.send(
      new PutRuleCommand({
        Name: 'to-siem',
        EventBusName: busName,
        EventPattern: JSON.stringify({
          source: ['compliance-responder'],
          'detail-type': ['Incident Status Change'],
        }),
      }),
    );
    await events.send(
      new PutTargetsCommand({
        Rule: 'to-siem',
        EventBusName: busName,
        Targets: [{ Id: 'siem', Arn: Attributes?.QueueArn }],
      }),
    );
    // Act: a real remediation writes its incident; the stream's records go to the incident-events function
    const group = await createGroup(REGION, 'web');
    await authorize(REGION, group, [ssh('0.0.0.0/0')]);
    await responder.handlerOf(() => require('../../functions/ssh-open-to-world'))(
      authorizeCall(REGION, group),
    );
    const publish = responder.handlerOf(
      () =>
        require('../../functions/incident-events') as { handler: (event: unknown) => Promise<HandlerResult> },
    );
    const response = (await publish({
      Records: await streamRecords(responder.stack.tableName),
    })) as unknown as {
      batchItemFailures: unknown[];
    };
    // Assess: the subscriber got the opening and each move, in order, names only
    expect(response.batchItemFailures).toEqual([]);
    const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }));
    const bodies = (received.Messages ?? []).map((message) => JSON.parse(message.Body ?? '{}'));
    const [incident] = await responder.incidents();
    expect(bodies.map((body) => [body.source, body.detail.change, body.detail.status])).toEqual([
      // Opened already remediating: the opening write carries the first change's intent (#21)
      ['compliance-responder', 'opened', 'remediating'],
      ['compliance-responder', 'status', 'remediated'],
    ]);
    expect(bodies[1].detail).toMatchObject({
      schemaVersion: 1,
      incidentId: incident?.incidentId,
      previousStatus: 'remediating',
      ruleId: 'ssh-open-to-world',
    });
    expect(JSON.stringify(bodies)).not.toContain('steps');
  });
});
