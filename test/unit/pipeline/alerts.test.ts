import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { buildAlert, SnsAlertPublisher, SUBJECT_LIMIT } from '../../../shared/pipeline/alerts';
import { anIncident } from '../../support/incident';

const runbooks = 'https://example.org/runbooks';

describe('the alert on-call receives', () => {
  it('names severity, what, status and where in the subject', () => {
    // Act
    const alert = buildAlert(anIncident(), runbooks);
    // Assess
    expect(alert.subject).toBe(
      '[HIGH] EBS encryption by default is off: remediated — 111122223333/us-east-1',
    );
  });

  it('keeps the subject under 100 characters, shortening the title, never the status or where', () => {
    // Prepare
    const incident = anIncident({ resourceId: `vol-${'0'.repeat(200)}`, status: 'failed' });
    // Act
    const alert = buildAlert(incident, runbooks);
    // Assess
    expect(alert.subject.length).toBeLessThan(100);
    expect(alert.subject.length).toBeLessThanOrEqual(SUBJECT_LIMIT);
    expect(alert.subject).toMatch(/…: REMEDIATION FAILED — 111122223333\/us-east-1$/);
  });

  it('carries a plain-text email and the incident as JSON for machines', () => {
    // Act
    const alert = buildAlert(anIncident(), runbooks);
    const bodies = JSON.parse(alert.message) as Record<string, string>;
    // Assess
    expect(Object.keys(bodies).sort()).toEqual(['default', 'email', 'email-json', 'https', 'lambda', 'sqs']);
    expect(bodies.email).toContain('Who:       arn:aws:iam::111122223333:user/dev-alice from 198.51.100.23');
    expect(bodies.email).toContain('undo: ec2 DisableEbsEncryptionByDefault {"Region":"us-east-1"}');
    expect(bodies.email).toContain('HIPAA:     §164.312(a)(2)(iv)');
    expect(bodies.email).toContain(`Runbook:   ${runbooks}/ebs-encryption-by-default.md`);
    const machine = JSON.parse(String(bodies.sqs)) as Record<string, unknown>;
    expect(machine).toMatchObject({
      incidentId: 'inc-20261123T101500-0a1b2c3d',
      status: 'remediated',
      ruleId: 'ebs-encryption-by-default',
    });
    expect(bodies.default).toBe(bodies.sqs);
  });

  it('tells on-call when an exemption tag asked for an exemption the ledger does not hold', () => {
    // Prepare
    const note = 'exemption requested by tag, not confirmed: compliance-responder exemptions add ...';
    const incident = anIncident({ exemptionRequest: { until: '2026-12-01T00:00:00.000Z', note } });
    // Act
    const bodies = JSON.parse(buildAlert(incident, runbooks).message) as Record<string, string>;
    // Assess
    expect(bodies.email).toContain(`Exemption: ${note}`);
    expect(JSON.parse(String(bodies.sqs))).toMatchObject({ exemptionRequest: { note } });
    expect(JSON.parse(buildAlert(anIncident(), runbooks).message).email).not.toContain('Exemption:');
  });

  it('sets the attributes subscribers filter on', () => {
    // Act
    const alert = buildAlert(anIncident({ status: 'open' }), runbooks);
    // Assess
    expect(alert.attributes).toEqual({
      severity: 'HIGH',
      ruleId: 'ebs-encryption-by-default',
      status: 'open',
      account: '111122223333',
    });
  });

  it('publishes with MessageStructure json and string attributes', async () => {
    // Prepare
    const sns = mockClient(SNSClient);
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const alert = buildAlert(anIncident(), runbooks);
    // Act
    const messageId = await new SnsAlertPublisher(
      new SNSClient({}),
      'arn:aws:sns:us-east-1:111122223333:alerts',
    ).publish(alert);
    // Assess
    expect(messageId).toBe('m-1');
    expect(sns).toHaveReceivedCommandWith(PublishCommand, {
      TopicArn: 'arn:aws:sns:us-east-1:111122223333:alerts',
      Subject: alert.subject,
      MessageStructure: 'json',
      MessageAttributes: expect.objectContaining({ severity: { DataType: 'String', StringValue: 'HIGH' } }),
    });
    sns.restore();
  });
});
