import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import type { Step } from '../../../shared/model';
import {
  ALERT_STEP_LIMIT,
  buildAlert,
  encodedSize,
  SNS_MESSAGE_LIMIT,
  SnsAlertPublisher,
  SUBJECT_LIMIT,
} from '../../../shared/pipeline/alerts';
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
    expect(alert.subject).toMatch(/…: failed — 111122223333\/us-east-1$/);
  });

  it('carries a plain-text email and the incident as JSON for machines', () => {
    // Act
    const alert = buildAlert(anIncident(), runbooks);
    const bodies = JSON.parse(alert.message) as Record<string, string>;
    // Assess
    // SNS sends `default` to every protocol without a key of its own (sqs, lambda, https, email-json).
    expect(Object.keys(bodies).sort()).toEqual(['default', 'email']);
    expect(bodies.email).toContain('Who:       arn:aws:iam::111122223333:user/dev-alice from 198.51.100.23');
    expect(bodies.email).toContain('undo: ec2 DisableEbsEncryptionByDefault {"Region":"us-east-1"}');
    expect(bodies.email).toContain('HIPAA:     §164.312(a)(2)(iv)');
    expect(bodies.email).toContain(`Runbook:   ${runbooks}/ebs-encryption-by-default.md`);
    const machine = JSON.parse(String(bodies.default)) as Record<string, unknown>;
    expect(machine).toMatchObject({
      incidentId: 'inc-20261123T101500-0a1b2c3d',
      status: 'remediated',
      ruleId: 'ebs-encryption-by-default',
    });
  });

  it('tells on-call when an exemption tag asked for an exemption the ledger does not hold', () => {
    // Prepare
    const note = 'exemption requested by tag, not confirmed: compliance-responder exemptions add ...';
    const incident = anIncident({ exemptionRequest: { until: '2026-12-01T00:00:00.000Z', note } });
    // Act
    const bodies = JSON.parse(buildAlert(incident, runbooks).message) as Record<string, string>;
    // Assess
    expect(bodies.email).toContain(`Exemption: ${note}`);
    expect(JSON.parse(String(bodies.default))).toMatchObject({ exemptionRequest: { note } });
    expect(JSON.parse(buildAlert(anIncident(), runbooks).message).email).not.toContain('Exemption:');
  });

  describe("under SNS's 256 KiB, however many steps", () => {
    /** A revoke as ssh-open-to-world records it: the exact rule, with a description at EC2's 255 characters. */
    const revoke = (index: number): Step => ({
      action: 'RevokeSecurityGroupIngress',
      at: '2026-11-23T10:15:00.000Z',
      result: 'succeeded',
      undo: {
        service: 'ec2',
        action: 'AuthorizeSecurityGroupIngress',
        input: {
          Region: 'ap-southeast-2',
          GroupId: 'sg-0123456789abcdef0',
          IpPermissions: [
            {
              IpProtocol: 'tcp',
              FromPort: 22,
              ToPort: 22 + index,
              IpRanges: [{ CidrIp: '0.0.0.0/0', Description: `rule ${index} `.padEnd(255, '#{}[]/=') }],
            },
          ],
        },
      },
      output: { securityGroupRuleId: `sgr-${String(index).padStart(17, '0')}`, alreadyGone: false },
    });

    it('lists the first steps of 120 long ones, counts the rest and names the full record', () => {
      // Prepare: a group at AWS's quota, 60 IPv4 and 60 IPv6 inbound rules, all revoked
      const steps = Array.from({ length: 120 }, (_, index) => revoke(index));
      const incident = anIncident({ steps });
      // Act
      const alert = buildAlert(incident, runbooks);
      // Assess
      expect(encodedSize(alert)).toBeLessThanOrEqual(SNS_MESSAGE_LIMIT);
      const bodies = JSON.parse(alert.message) as Record<string, string>;
      const machine = JSON.parse(String(bodies.default)) as { steps: Step[] };
      expect(machine).toMatchObject({ stepCount: 120, stepsOmitted: 120 - ALERT_STEP_LIMIT });
      expect(machine.steps).toEqual(steps.slice(0, ALERT_STEP_LIMIT));
      expect(bodies.email).toContain(
        `… and ${120 - ALERT_STEP_LIMIT} more step(s); the full record: npx compliance-responder incidents show ${incident.incidentId}`,
      );
    });

    it('lists fewer steps when even those would not fit, and a pointer alone as the last resort', () => {
      // Prepare: steps far larger than any rule records today
      const huge = (size: number): Step => ({ ...revoke(0), error: 'x'.repeat(size) });
      const fewer = anIncident({ steps: Array.from({ length: 20 }, () => huge(20_000)) });
      const none = anIncident({ steps: [huge(10_000)], reason: 'y'.repeat(300_000) });
      // Act
      const [listed, pointer] = [buildAlert(fewer, runbooks), buildAlert(none, runbooks)];
      // Assess
      expect(encodedSize(listed)).toBeLessThanOrEqual(SNS_MESSAGE_LIMIT);
      const machine = JSON.parse(JSON.parse(listed.message).default) as {
        steps: Step[];
        stepsOmitted: number;
      };
      expect(machine.steps.length).toBeGreaterThan(0);
      expect(machine.steps.length + machine.stepsOmitted).toBe(20);
      expect(encodedSize(pointer)).toBeLessThanOrEqual(SNS_MESSAGE_LIMIT);
      expect(JSON.parse(pointer.message).email).toContain(
        `npx compliance-responder incidents show ${none.incidentId}`,
      );
      expect(pointer.attributes).toEqual(buildAlert(anIncident(), runbooks).attributes);
    });
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
      actionNeeded: 'true',
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
