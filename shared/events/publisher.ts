import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import middy from '@middy/core';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { ConfigurationError } from '../errors';
import { SERVICE_NAME } from '../metrics';
import { INCIDENT_EVENT_DETAIL_TYPE, INCIDENT_EVENT_SOURCE, incidentEventOf } from './incident-event';

/** PutEvents takes at most 10 entries a call. */
const ENTRIES_PER_CALL = 10;

type Image = Record<string, AttributeValue>;
const itemOf = (image: unknown) => (image ? unmarshall(image as Image) : undefined);

/**
 * Publishes each incident's opening and status changes to the stack's incident bus, read from the
 * table's stream: whatever wrote the change (a function, the command line), it is published once the
 * table holds it. A record whose event is refused is reported as a batch item failure, so Lambda
 * retries from it (and, past its retries, sends it to the dead-letter queue).
 */
export async function publishIncidentEvents(
  event: DynamoDBStreamEvent,
  bus: { name: string; client: Pick<EventBridgeClient, 'send'> },
): Promise<DynamoDBBatchResponse> {
  const entries: { record: DynamoDBRecord; entry: PutEventsRequestEntry }[] = [];
  for (const record of event.Records) {
    const detail = incidentEventOf(itemOf(record.dynamodb?.OldImage), itemOf(record.dynamodb?.NewImage));
    if (!detail) continue;
    entries.push({
      record,
      entry: {
        EventBusName: bus.name,
        Source: INCIDENT_EVENT_SOURCE,
        DetailType: INCIDENT_EVENT_DETAIL_TYPE,
        Resources: [detail.resourceArn],
        Time: new Date(detail.updatedAt),
        Detail: JSON.stringify(detail),
      },
    });
  }
  const failed: DynamoDBRecord[] = [];
  for (let start = 0; start < entries.length; start += ENTRIES_PER_CALL) {
    const batch = entries.slice(start, start + ENTRIES_PER_CALL);
    try {
      const result = await bus.client.send(
        new PutEventsCommand({ Entries: batch.map(({ entry }) => entry) }),
      );
      (result.Entries ?? []).forEach((answer, index) => {
        const sent = batch[index];
        if (answer.ErrorCode && sent) failed.push(sent.record);
      });
    } catch {
      failed.push(...batch.map(({ record }) => record));
    }
  }
  // Lambda retries from the earliest failure of the shard: report that one's sequence number first.
  return {
    batchItemFailures: failed
      .map((record) => record.dynamodb?.SequenceNumber)
      .filter((sequence): sequence is string => sequence !== undefined)
      .map((itemIdentifier) => ({ itemIdentifier })),
  };
}

/** The incident-events function (functions/incident-events.ts). */
export function incidentEventsHandler(env: NodeJS.ProcessEnv = process.env) {
  const name = env.INCIDENT_BUS_NAME;
  if (!name) throw new ConfigurationError('Invalid setting INCIDENT_BUS_NAME: required', 'INCIDENT_BUS_NAME');
  const logger = new Logger({ serviceName: SERVICE_NAME });
  const client = new EventBridgeClient({ maxAttempts: 5, retryMode: 'standard' });
  return middy(async (event: DynamoDBStreamEvent) => {
    const response = await publishIncidentEvents(event, { name, client });
    if (response.batchItemFailures.length > 0)
      logger.error('incident events not published; Lambda retries them', {
        failed: response.batchItemFailures.length,
      });
    return response;
  }).use(injectLambdaContext(logger));
}
