import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { startMoto } from '../scripts/lib/moto';
import { ratio, type Summary, summarize } from './stats';

/**
 * What the emulator's transactions cost, with and without scripts/moto/sitecustomize.py's item-level
 * backup: moto alone deep-copies every table a TransactWriteItems names before it writes, so its
 * cost grows with the table (DynamoDB's does not). The same workload runs against two moto servers
 * in this run: a table of `items` items shaped like the incidents table, then `transactions`
 * transactions shaped like an incident's opening (delivery marker, drift lock, incident).
 */
export interface MotoPatchResult {
  items: number;
  transactions: number;
  /** Wall time of one TransactWriteItems, ms: moto backing up only the touched items (the default). */
  itemBackupMs: Summary;
  /** The same with MOTO_WHOLE_TABLE_BACKUP=1: moto's own whole-table copy. */
  wholeTableBackupMs: Summary;
  /** itemBackupMs.median / wholeTableBackupMs.median. */
  ratio: number | undefined;
}

const TABLE = 'bench-transactions';

async function transactionTimes(items: number, transactions: number, env: Record<string, string>) {
  const moto = await startMoto({ env });
  try {
    const client = new DynamoDBClient({
      region: 'us-east-1',
      endpoint: moto.url,
      // moto accepts any key: never a real account's.
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    const documents = DynamoDBDocumentClient.from(client);
    await client.send(
      new CreateTableCommand({
        TableName: TABLE,
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
    for (let start = 0; start < items; start += 25) {
      const batch = Array.from({ length: Math.min(25, items - start) }, (_, i) => ({
        PutRequest: {
          Item: { pk: `INCIDENT#seed-${start + i}`, sk: 'INCIDENT', evidence: 'x'.repeat(300) },
        },
      }));
      await documents.send(new BatchWriteCommand({ RequestItems: { [TABLE]: batch } }));
    }
    const times: number[] = [];
    for (let n = 0; n < transactions; n++) {
      const put = (pk: string, sk: string) => ({
        Put: { TableName: TABLE, Item: { pk, sk }, ConditionExpression: 'attribute_not_exists(pk)' },
      });
      const started = performance.now();
      await documents.send(
        new TransactWriteCommand({
          TransactItems: [
            put(`DELIVERY#bench#${n}`, 'RULE#bench'),
            put('DRIFT#bench', `arn:${n}`),
            put(`INCIDENT#inc-${n}`, 'INCIDENT'),
          ],
        }),
      );
      times.push(performance.now() - started);
    }
    return summarize(times);
  } finally {
    await moto.stop();
  }
}

export async function measureMotoPatch(items: number, transactions: number): Promise<MotoPatchResult> {
  const itemBackupMs = await transactionTimes(items, transactions, {});
  const wholeTableBackupMs = await transactionTimes(items, transactions, { MOTO_WHOLE_TABLE_BACKUP: '1' });
  return {
    items,
    transactions,
    itemBackupMs,
    wholeTableBackupMs,
    ratio: ratio(itemBackupMs.median, wholeTableBackupMs.median),
  };
}
