import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';

/**
 * A rule's sweep queue in moto, for running a scheduled sweep as units: moto has no event source
 * mapping, so a test receives the units itself and hands them to the function as Lambda would.
 */
export class SweepQueue {
  private constructor(
    private readonly sqs: SQSClient,
    readonly url: string,
    readonly arn: string,
    private readonly region: string,
    /** The function environment that sends a scheduled sweep's units here. */
    readonly env: Record<string, string>,
  ) {}

  static async create(stackName: string, ruleId: string, region: string): Promise<SweepQueue> {
    const sqs = new SQSClient({ region });
    const queue = await sqs.send(new CreateQueueCommand({ QueueName: `${stackName}-${ruleId}-sweep` }));
    const url = String(queue.QueueUrl);
    const attributes = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
    );
    const prefix = url.slice(0, url.length - `${ruleId}-sweep`.length);
    return new SweepQueue(sqs, url, String(attributes.Attributes?.QueueArn), region, {
      SWEEP_QUEUE_PREFIX: prefix,
    });
  }

  /** The units waiting now (received, so invisible until deleted or let go). */
  async receive(): Promise<Message[]> {
    const received = await this.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.url,
        MaxNumberOfMessages: 10,
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
        WaitTimeSeconds: 0,
      }),
    );
    return received.Messages ?? [];
  }

  /** A unit handled: gone from the queue, as Lambda's event source mapping deletes it. */
  async delete(message: Message): Promise<void> {
    await this.sqs.send(
      new DeleteMessageCommand({ QueueUrl: this.url, ReceiptHandle: message.ReceiptHandle }),
    );
  }

  /** What Lambda's event source mapping hands the function. */
  event(messages: readonly Message[], receiveCount?: string) {
    return {
      Records: messages.map((message) => ({
        messageId: message.MessageId,
        receiptHandle: message.ReceiptHandle,
        body: message.Body,
        attributes: {
          ApproximateReceiveCount: receiveCount ?? message.Attributes?.ApproximateReceiveCount ?? '1',
          SentTimestamp: '0',
        },
        messageAttributes: {},
        md5OfBody: message.MD5OfBody,
        eventSource: 'aws:sqs',
        eventSourceARN: this.arn,
        awsRegion: this.region,
      })),
    };
  }
}
