import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { GetFindingsCommand, SecurityHubClient } from '@aws-sdk/client-securityhub';
import type { DynamoDBRecord } from 'aws-lambda';
import type { HandlerResult } from '../../shared/pipeline/rule-handler';
import { findingIdOf, productArnOf } from '../../shared/security-hub/asff';
import { asffRequired } from '../support/asff-schema';
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

type StreamResponse = { batchItemFailures: { itemIdentifier: string }[] };

describe('incidents as Security Hub findings, end to end against moto', () => {
  it("imports a real incident from the table's stream as one ASFF finding that follows its status", async () => {
    // Prepare: a real remediation writes its incident (open → remediating → remediated)
    await resetAccount();
    const responder = await LocalResponder.provision();
    const group = await createGroup(REGION, 'web');
    await authorize(REGION, group, [ssh('0.0.0.0/0')]);
    await responder.handlerOf(() => require('../../functions/ssh-open-to-world'))(
      authorizeCall(REGION, group),
    );
    const [incident] = await responder.incidents();
    const records = await streamRecords(responder.stack.tableName);
    const target = { partition: 'aws', region: REGION, account: incident?.account ?? '' };
    // The records that changed the incident's status: the ones the function imports.
    const changes = records.filter(
      (record) =>
        record.dynamodb?.NewImage?.pk?.S?.startsWith('INCIDENT#') &&
        record.dynamodb.NewImage.status?.S !== record.dynamodb.OldImage?.status?.S,
    );
    // Act: the stream's records go to the security-hub-findings function, as provisioned
    const importFindings = responder.handlerOf(
      () =>
        require('../../functions/security-hub-findings') as {
          handler: (event: unknown) => Promise<HandlerResult>;
        },
    );
    const response = (await importFindings({ Records: records })) as unknown as StreamResponse;
    // Assess: one finding, under the incident's Id, as the incident ends (PASSED, ARCHIVED)
    expect(responder.stack.env.SECURITY_HUB_PRODUCT_ARN).toBe(productArnOf(target));
    const { Findings = [] } = await new SecurityHubClient({ region: REGION }).send(
      new GetFindingsCommand({}),
    );
    expect(Findings).toHaveLength(1);
    const [finding] = Findings;
    expect(asffRequired.safeParse(finding).error?.issues ?? []).toEqual([]);
    expect(finding).toMatchObject({
      Id: findingIdOf(incident?.incidentId ?? ''),
      AwsAccountId: incident?.account,
      GeneratorId: 'compliance-responder/ssh-open-to-world',
      // When the status last changed (later rewrites, such as the alert marked sent, send nothing).
      UpdatedAt: changes.at(-1)?.dynamodb?.NewImage?.updatedAt?.S,
      Compliance: { Status: 'PASSED' },
      RecordState: 'ARCHIVED',
      Resources: [{ Type: 'AwsEc2SecurityGroup', Id: incident?.resourceArn }],
    });
    expect(JSON.stringify(finding)).not.toMatch(/0\.0\.0\.0|RevokeSecurityGroupIngress/);
    // moto 5.2.1 has no BatchUpdateFindings: the move of the workflow to RESOLVED fails there and
    // every record of the incident's changes in the batch is reported for Lambda to retry, never
    // dropped. The unit tests cover the move with the mock (test/unit/security-hub/importer.test.ts).
    expect(changes.map((record) => record.dynamodb?.NewImage?.status?.S)).toEqual([
      'remediating',
      'remediated',
    ]);
    expect(response.batchItemFailures).toEqual(
      changes.map((record) => ({ itemIdentifier: record.dynamodb?.SequenceNumber })),
    );
  });
});
