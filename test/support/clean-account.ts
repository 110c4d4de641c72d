import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { DescribeVolumesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import { ListTopicsCommand, SNSClient } from '@aws-sdk/client-sns';

/** What the account holds that a test could have left behind. Empty in a clean account. */
export async function accountContents(region = 'us-east-1') {
  const [tables, topics, keys, volumes] = await Promise.all([
    new DynamoDBClient({ region }).send(new ListTablesCommand({})),
    new SNSClient({ region }).send(new ListTopicsCommand({})),
    new KMSClient({ region }).send(new ListKeysCommand({})),
    new EC2Client({ region }).send(new DescribeVolumesCommand({})),
  ]);
  return {
    tables: tables.TableNames ?? [],
    topics: (topics.Topics ?? []).map((topic) => topic.TopicArn),
    keys: (keys.Keys ?? []).map((key) => key.KeyId),
    volumes: (volumes.Volumes ?? []).map((volume) => volume.VolumeId),
  };
}
