import { LambdaClient, ListVersionsByFunctionCommand } from '@aws-sdk/client-lambda';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { createContext } from '../../../cli/context';

const TABLE = 'compliance-responder-test-incidents';
const DEPLOYED_TOPIC = 'arn:aws:sns:us-east-1:111122223333:compliance-responder-test-alerts';
const io = { out: () => {}, err: () => {} };
const alert = { subject: '[HIGH] test', message: '{"default":"{}","email":"test"}', attributes: {} };

describe("the command line's alert topic", () => {
  const lambda = mockClient(LambdaClient);
  const sns = mockClient(SNSClient);
  beforeEach(() => {
    lambda.reset();
    sns.reset();
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
  });
  afterAll(() => {
    lambda.restore();
    sns.restore();
  });

  const published = (variables: Record<string, string>) =>
    lambda.on(ListVersionsByFunctionCommand).resolves({
      Versions: [
        // $LATEST: anyone with lambda:UpdateFunctionConfiguration can point it elsewhere.
        {
          Version: '$LATEST',
          Environment: {
            Variables: { ...variables, ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:999999999999:x' },
          },
        },
        { Version: '3', Environment: { Variables: variables } },
      ],
    });

  it("is the published version's ALERT_TOPIC_ARN, never the caller's environment or $LATEST", async () => {
    // Prepare: the insider sets ALERT_TOPIC_ARN to a topic nobody reads
    published({ INCIDENT_TABLE: TABLE, ALERT_TOPIC_ARN: DEPLOYED_TOPIC, HOME_REGION: 'us-east-1' });
    const ctx = await createContext({ region: 'us-east-1' }, io, {
      INCIDENT_TABLE: TABLE,
      ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:111122223333:nobody-reads-this',
    });
    // Act
    const messageId = await (await ctx.onCall()).publish(alert);
    // Assess
    expect(messageId).toBe('m-1');
    expect(lambda).toHaveReceivedCommandWith(ListVersionsByFunctionCommand, {
      FunctionName: 'compliance-responder-test-ssh-grant-expired',
    });
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    expect(sns).toHaveReceivedCommandWith(PublishCommand, { TopicArn: DEPLOYED_TOPIC });
  });

  it('fails clearly, publishing nothing, when the published version names no topic', async () => {
    // Prepare
    published({ INCIDENT_TABLE: TABLE, HOME_REGION: 'us-east-1' });
    const ctx = await createContext({ region: 'us-east-1' }, io, {
      INCIDENT_TABLE: TABLE,
      ALERT_TOPIC_ARN: DEPLOYED_TOPIC,
    });
    // Act / Assess
    await expect(ctx.onCall()).rejects.toThrow(
      /^cannot read the settings the stack was deployed with \(its caps and alert topic\) from compliance-responder-test-ssh-grant-expired in us-east-1: .*ALERT_TOPIC_ARN/,
    );
    expect(sns.calls()).toEqual([]);
  });
});
