import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { startRecording } from '../../scripts/lib/recorder';
import { emailsByDefaultBody } from '../../scripts/lib/sns-email';
import { buildAlert, SnsAlertPublisher } from '../../shared/pipeline/alerts';
import { anIncident } from '../support/incident';

describe("the demo's e-mail view (scripts/lib/sns-email.ts)", () => {
  it('shows the email body of each alert published, by the body other subscribers receive', async () => {
    // Prepare
    const sns = new SNSClient({ region: 'us-east-1' });
    const topicArn = String((await sns.send(new CreateTopicCommand({ Name: 'alerts' }))).TopicArn);
    const alert = buildAlert(
      anIncident({ status: 'failed', statusReason: 'AccessDenied' }),
      'https://x/runbooks',
    );
    await startRecording();
    await new SnsAlertPublisher(sns, topicArn).publish(alert);
    // Act
    const emails = await emailsByDefaultBody();
    // Assess: keyed by the body every other subscriber receives
    const { default: machine, email } = JSON.parse(alert.message) as { default: string; email: string };
    expect(emails.get(machine)).toBe(email);
    expect(email).toMatch(/^Action needed: finish the remediation by hand/);
  });
});
