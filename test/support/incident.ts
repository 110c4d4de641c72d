import type { Settings } from '../../shared/config';
import { loadSettings } from '../../shared/config';
import type { Incident } from '../../shared/model';
import { rules } from '../../shared/rules';

/** Settings as a deployment would have them (every rule in its default mode), with overrides. */
export function testSettings(env: Record<string, string> = {}): Settings {
  return loadSettings(rules, {
    AWS_REGION: 'us-east-1',
    INCIDENT_TABLE: 'incidents',
    ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:111122223333:alerts',
    RESPONDER_ROLE_ARNS: 'arn:aws:iam::111122223333:role/responder-ebs',
    // Unit tests sweep the region they name; sweeping every region is an integration test.
    SWEEP_REGIONS: 'own-region',
    ...env,
  });
}

export function anIncident(overrides: Partial<Incident> = {}): Incident {
  return {
    schemaVersion: 1,
    incidentId: 'inc-20261123T101500-0a1b2c3d',
    ruleId: 'ebs-encryption-by-default',
    title: 'EBS encryption by default is off',
    severity: 'HIGH',
    hipaa: ['164.312(a)(2)(iv)'],
    account: '111122223333',
    region: 'us-east-1',
    resourceType: 'AWS::::Account',
    resourceId: '111122223333',
    resourceArn: 'arn:aws:ec2:us-east-1:111122223333:ebs-encryption-by-default',
    detectedAt: '2026-11-23T10:15:00.000Z',
    updatedAt: '2026-11-23T10:15:02.000Z',
    trigger: { source: 'cloudtrail', eventId: 'e-1', eventName: 'DisableEbsEncryptionByDefault' },
    actor: { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/dev-alice', sourceIp: '198.51.100.23' },
    evidence: { encryptionByDefault: false },
    reason: 'EBS encryption by default is off in us-east-1: new volumes can be created unencrypted',
    mode: 'enforce',
    status: 'remediated',
    steps: [
      {
        action: 'EnableEbsEncryptionByDefault',
        at: '2026-11-23T10:15:01.000Z',
        result: 'succeeded',
        undo: { service: 'ec2', action: 'DisableEbsEncryptionByDefault', input: { Region: 'us-east-1' } },
      },
    ],
    runbook: 'docs/runbooks/ebs-encryption-by-default.md',
    ...overrides,
  };
}
