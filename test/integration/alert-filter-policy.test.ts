import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { buildAlert, buildGuardAlert, SnsAlertPublisher } from '../../shared/pipeline/alerts';
import { buildGuardResetAlert } from '../../shared/pipeline/human-alerts';
import { IncidentStatus } from '../../shared/pipeline/lifecycle';
import { anIncident } from '../support/incident';
import { readmeFilterPolicy } from '../support/readme-filter-policy';

const region = 'us-east-1';

async function queue(sqs: SQSClient, name: string): Promise<{ url: string; arn: string }> {
  const url = String((await sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl);
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
  );
  return { url, arn: String(Attributes?.QueueArn) };
}

async function statusesIn(sqs: SQSClient, url: string): Promise<string[]> {
  const statuses: string[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 60 }),
    );
    if (Messages.length === 0) return statuses.sort();
    for (const message of Messages) {
      const envelope = JSON.parse(String(message.Body)) as {
        MessageAttributes: Record<string, { Value: string }>;
      };
      statuses.push(String(envelope.MessageAttributes.status?.Value));
    }
  }
}

describe("README's filter policy, applied by SNS (moto) to the alerts as published", () => {
  it('delivers to the filtered pager only the alerts that need action; the unfiltered inbox gets all', async () => {
    // Prepare: the alert topic, an unfiltered inbox and a pager subscribed with README's policy
    const sns = new SNSClient({ region });
    const sqs = new SQSClient({ region });
    const topicArn = String((await sns.send(new CreateTopicCommand({ Name: 'alerts' }))).TopicArn);
    const [inbox, pager] = await Promise.all([queue(sqs, 'inbox'), queue(sqs, 'pager')]);
    await sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: inbox.arn }));
    await sns.send(
      new SubscribeCommand({
        TopicArn: topicArn,
        Protocol: 'sqs',
        Endpoint: pager.arn,
        Attributes: { FilterPolicy: JSON.stringify(readmeFilterPolicy()) },
      }),
    );
    const publisher = new SnsAlertPublisher(sns, topicArn);
    const alerts = [
      ...Object.values(IncidentStatus).map((status) =>
        buildAlert(anIncident({ status, steps: [] }), 'https://example.org/runbooks'),
      ),
      buildGuardAlert(anIncident(), 'mass change'),
      buildGuardResetAlert(
        {
          resetBy: 'arn:aws:iam::123456789012:user/bob',
          resetAt: '2026-11-23T12:00:00.000Z',
          reason: 'understood',
          trippedAt: '2026-11-23T11:00:00.000Z',
          tripReason: 'mass change',
        },
        { account: '123456789012', region },
      ),
    ];
    // Act
    for (const alert of alerts) await publisher.publish(alert);
    // Assess
    expect(await statusesIn(sqs, pager.url)).toEqual(['failed', 'guard-tripped', 'open', 'undone']);
    expect(await statusesIn(sqs, inbox.url)).toEqual(
      alerts.map((alert) => String(alert.attributes.status)).sort(),
    );
  });
});
