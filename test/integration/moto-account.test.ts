import { CreateTableCommand, DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { accountContents } from '../support/clean-account';

/** A table keyed by `pk` alone, billed per request. */
const keyedTable = (name: string) =>
  new CreateTableCommand({
    TableName: name,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
  });

describe('the local AWS account (moto over HTTP)', () => {
  const region = 'us-east-1';

  it('starts clean although other files on this moto server leave resources behind', async () => {
    // Act
    const contents = await accountContents(region);
    // Assess
    expect(contents).toEqual({ tables: [], topics: [], keys: [], volumes: [] });
  });

  it('stores what the real SDK writes over HTTP and returns it on read', async () => {
    // Prepare
    const dynamo = new DynamoDBClient({ region });
    await dynamo.send(keyedTable('roundtrip'));
    const documents = DynamoDBDocumentClient.from(dynamo);
    // Act
    await documents.send(
      new PutCommand({ TableName: 'roundtrip', Item: { pk: 'INCIDENT#1', steps: [{ action: 'a' }] } }),
    );
    const read = await documents.send(new GetCommand({ TableName: 'roundtrip', Key: { pk: 'INCIDENT#1' } }));
    // Assess: the item came back through moto, which this file's endpoint names on loopback.
    expect(read.Item).toEqual({ pk: 'INCIDENT#1', steps: [{ action: 'a' }] });
    expect(process.env.AWS_ENDPOINT_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await accountContents(region)).tables).toEqual(['roundtrip']);
  });

  it('keeps writes made while a transaction fails, as DynamoDB does (scripts/moto/sitecustomize.py)', async () => {
    // Prepare: a table big enough that moto's copy of it takes a while, and one item every transaction trips on
    const documents = DynamoDBDocumentClient.from(new DynamoDBClient({ region }));
    await documents.send(keyedTable('isolation'));
    for (let batch = 0; batch < 60; batch++)
      await documents.send(
        new BatchWriteCommand({
          RequestItems: {
            isolation: Array.from({ length: 25 }, (_, i) => ({
              PutRequest: { Item: { pk: `SEED#${batch * 25 + i}`, padding: 'x'.repeat(200) } },
            })),
          },
        }),
      );
    const failing = () =>
      documents.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: 'isolation', Item: { pk: `TX#${Math.random()}` } } },
            {
              Put: {
                TableName: 'isolation',
                Item: { pk: 'SEED#0' },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
          ],
        }),
      );
    // Act: plain writes while transactions fail and roll back (unpatched moto lost some in about 1 run of 3)
    const CONCURRENT = 40;
    const results = await Promise.allSettled(
      Array.from({ length: 2 * CONCURRENT }, (_, i) =>
        i % 2 === 0
          ? failing()
          : documents.send(new PutCommand({ TableName: 'isolation', Item: { pk: `WRITE#${i}` } })),
      ),
    );
    // Assess: every transaction was refused, and every plain write is still there
    expect(
      results.filter((r) => r.status === 'rejected' && r.reason instanceof TransactionCanceledException),
    ).toHaveLength(CONCURRENT);
    const written = new Set<string>();
    let start: Record<string, unknown> | undefined;
    do {
      const page = await documents.send(
        new ScanCommand({ TableName: 'isolation', ExclusiveStartKey: start }),
      );
      for (const item of page.Items ?? []) written.add(String(item.pk));
      start = page.LastEvaluatedKey;
    } while (start);
    expect([...written].filter((pk) => pk.startsWith('WRITE#'))).toHaveLength(CONCURRENT);
    expect([...written].filter((pk) => pk.startsWith('TX#'))).toEqual([]);
  });
});
