import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { accountContents } from '../support/clean-account';

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
    await dynamo.send(
      new CreateTableCommand({
        TableName: 'roundtrip',
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      }),
    );
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
});
