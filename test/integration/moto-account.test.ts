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

  it('rolls a failed transaction back item by item: a put removed, an update and a delete undone (scripts/moto/sitecustomize.py)', async () => {
    // Prepare: a table keyed like the incidents table, with items the transaction will touch
    const dynamo = new DynamoDBClient({ region });
    await dynamo.send(
      new CreateTableCommand({
        TableName: 'rollback',
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
      }),
    );
    const documents = DynamoDBDocumentClient.from(dynamo);
    const put = (pk: string, sk: string, extra: Record<string, unknown>) =>
      documents.send(new PutCommand({ TableName: 'rollback', Item: { pk, sk, ...extra } }));
    await put('INCIDENT#b', 'INCIDENT', { status: 'open', steps: [{ action: 'a' }] });
    await put('DRIFT#r', 'arn:e', { incidentId: 'e' });
    await put('DELIVERY#r#c', 'RULE#r', { incidentId: 'c' });
    await put('UNTOUCHED', 'x', { v: 1 });
    // Act: the last operation's condition fails after the first three applied
    const attempt = documents.send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: 'rollback', Item: { pk: 'INCIDENT#a', sk: 'INCIDENT', status: 'open' } } },
          {
            Update: {
              TableName: 'rollback',
              Key: { pk: 'INCIDENT#b', sk: 'INCIDENT' },
              UpdateExpression: 'SET #s = :s REMOVE steps',
              ExpressionAttributeNames: { '#s': 'status' },
              ExpressionAttributeValues: { ':s': 'remediated' },
            },
          },
          { Delete: { TableName: 'rollback', Key: { pk: 'DRIFT#r', sk: 'arn:e' } } },
          {
            Put: {
              TableName: 'rollback',
              Item: { pk: 'DELIVERY#r#c', sk: 'RULE#r', incidentId: 'other' },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
        ],
      }),
    );
    // Assess: refused, and every item is as it was
    await expect(attempt).rejects.toBeInstanceOf(TransactionCanceledException);
    const items = await documents.send(new ScanCommand({ TableName: 'rollback' }));
    const byKey = Object.fromEntries((items.Items ?? []).map((item) => [`${item.pk}|${item.sk}`, item]));
    expect(byKey).toEqual({
      'INCIDENT#b|INCIDENT': { pk: 'INCIDENT#b', sk: 'INCIDENT', status: 'open', steps: [{ action: 'a' }] },
      'DRIFT#r|arn:e': { pk: 'DRIFT#r', sk: 'arn:e', incidentId: 'e' },
      'DELIVERY#r#c|RULE#r': { pk: 'DELIVERY#r#c', sk: 'RULE#r', incidentId: 'c' },
      'UNTOUCHED|x': { pk: 'UNTOUCHED', sk: 'x', v: 1 },
    });
  });
});
