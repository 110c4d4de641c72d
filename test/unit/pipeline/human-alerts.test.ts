import type { Exemption } from '../../../shared/exemptions/ledger';
import {
  buildAlert,
  buildGuardAlert,
  encodedSize,
  SNS_MESSAGE_LIMIT,
  SUBJECT_LIMIT,
} from '../../../shared/pipeline/alerts';
import { buildExemptionAlert, buildGuardResetAlert } from '../../../shared/pipeline/human-alerts';
import { anIncident } from '../../support/incident';

const runbooks = 'https://example.org/runbooks';
const ON_CALL = 'arn:aws:sts::111122223333:assumed-role/compliance-responder-prod-on-call/bob';
const where = { account: '111122223333', region: 'us-east-1' };

const email = (message: string) => (JSON.parse(message) as { email: string }).email;
const machine = (message: string) =>
  JSON.parse((JSON.parse(message) as { default: string }).default) as Record<string, unknown>;

const anExemption = (overrides: Partial<Exemption> = {}): Exemption => ({
  exemptionId: 'exm-20261123T120000-0a1b2c3d',
  ruleId: 'ssh-open-to-world',
  resourceArn: 'arn:aws:ec2:us-east-1:111122223333:security-group/sg-0abc',
  reason: 'CHG-9 vendor SFTP until cut-over',
  until: '2026-12-23T12:00:00.000Z',
  setBy: ON_CALL,
  setAt: '2026-11-23T12:00:00.000Z',
  ...overrides,
});

describe('the alert for a remediation a person reversed', () => {
  const undone = anIncident({
    status: 'undone',
    statusReason: `undone by ${ON_CALL} at 2026-11-23T12:00:05.000Z: INC-77 the batch job needs the old key`,
    undo: {
      by: ON_CALL,
      reason: 'INC-77 the batch job needs the old key',
      startedAt: '2026-11-23T12:00:00.000Z',
      finishedAt: '2026-11-23T12:00:05.000Z',
      result: 'succeeded',
      exemptForMinutes: 60,
      exemption: { exemptionId: 'exm-20261123T120000-0a1b2c3d', until: '2026-11-23T13:00:00.000Z' },
      calls: [
        {
          step: 0,
          call: { service: 'ec2', action: 'DisableEbsEncryptionByDefault', input: { Region: 'us-east-1' } },
          result: 'succeeded',
          at: '2026-11-23T12:00:05.000Z',
        },
      ],
    },
  });

  it('is the incident alert: its subject, attributes and bodies, saying who reversed it, why and the exemption', () => {
    // Act
    const alert = buildAlert(undone, runbooks);
    // Assess
    expect(alert.subject).toBe(
      '[HIGH] EBS encryption by default is off: undone by a person — 111122223333/us-east-1',
    );
    expect(alert.attributes).toEqual({
      severity: 'HIGH',
      ruleId: 'ebs-encryption-by-default',
      status: 'undone',
      account: '111122223333',
    });
    expect(email(alert.message)).toContain(
      `Undone:    by ${ON_CALL} at 2026-11-23T12:00:05.000Z (1 call(s), succeeded)\n` +
        'Why:       INC-77 the batch job needs the old key\n' +
        'Exempted:  until 2026-11-23T13:00:00.000Z (exm-20261123T120000-0a1b2c3d), then the responder acts again',
    );
    expect(machine(alert.message).undo).toEqual({
      by: ON_CALL,
      reason: 'INC-77 the batch job needs the old key',
      startedAt: '2026-11-23T12:00:00.000Z',
      finishedAt: '2026-11-23T12:00:05.000Z',
      result: 'succeeded',
      exemption: { exemptionId: 'exm-20261123T120000-0a1b2c3d', until: '2026-11-23T13:00:00.000Z' },
    });
  });
});

describe('the alerts for changes a person made outside an incident', () => {
  it('guard reset: who, why, what tripped it, with the attributes subscribers filter on', () => {
    // Act
    const alert = buildGuardResetAlert(
      {
        resetAt: '2026-11-23T12:00:00.000Z',
        resetBy: ON_CALL,
        reason: 'INC-80 the mass change was the migration',
        trippedAt: '2026-11-23T11:00:00.000Z',
        tripReason: '11 remediations in 60 minutes',
      },
      where,
    );
    // Assess
    expect(alert.subject).toBe(
      '[HIGH] Blast-radius guard reset: the responder remediates again — 111122223333/us-east-1',
    );
    expect(alert.attributes).toEqual({
      severity: 'HIGH',
      ruleId: 'blast-radius-guard',
      status: 'guard-reset',
      account: '111122223333',
    });
    expect(email(alert.message)).toContain(`Who:       ${ON_CALL}`);
    expect(email(alert.message)).toContain('Why:       INC-80 the mass change was the migration');
    expect(machine(alert.message)).toMatchObject({
      event: 'guard-reset',
      resetBy: ON_CALL,
      reason: 'INC-80 the mass change was the migration',
      trippedAt: '2026-11-23T11:00:00.000Z',
    });
  });

  it.each([
    [
      'added',
      'exemption added',
      '[HIGH] ssh-open-to-world sg-0abc: exempted until 2026-12-23 — 111122223333/us-east-1',
    ],
    [
      'removed',
      'exemption removed',
      '[HIGH] ssh-open-to-world sg-0abc: exemption removed — 111122223333/us-east-1',
    ],
  ] as const)('exemption %s: what, who, why, until', (change, status, subject) => {
    // Prepare
    const exemption = anExemption(
      change === 'removed' ? { removedAt: '2026-11-24T09:00:00.000Z', removedBy: ON_CALL } : {},
    );
    // Act
    const alert = buildExemptionAlert(change, exemption, { ...where, severity: 'HIGH' });
    // Assess
    expect(alert.subject).toBe(subject);
    expect(alert.attributes).toEqual({
      severity: 'HIGH',
      ruleId: 'ssh-open-to-world',
      status: status.replace(' ', '-'),
      account: '111122223333',
    });
    expect(email(alert.message)).toContain(`Resource:  ${exemption.resourceArn}`);
    expect(email(alert.message)).toContain('Why:       CHG-9 vendor SFTP until cut-over');
    expect(machine(alert.message)).toMatchObject({
      event: status.replace(' ', '-'),
      exemptionId: exemption.exemptionId,
      until: exemption.until,
      setBy: ON_CALL,
    });
  });

  it('stays within SNS limits whatever a hand-written ledger item holds', () => {
    // Prepare: written around the command line, straight into the table
    const exemption = anExemption({
      reason: 'x'.repeat(300_000),
      resourceArn: `arn:aws:ec2:us-east-1:111122223333:security-group/sg-${'0'.repeat(300_000)}`,
    });
    // Act
    const alert = buildExemptionAlert('removed', exemption, { ...where, severity: 'HIGH' });
    // Assess
    expect(encodedSize(alert)).toBeLessThanOrEqual(SNS_MESSAGE_LIMIT);
    expect(alert.subject.length).toBeLessThanOrEqual(SUBJECT_LIMIT);
    expect(alert.subject).toMatch(/…: exemption removed — 111122223333\/us-east-1$/);
  });

  it('keeps the guard-trip alert as it was', () => {
    // Act
    const alert = buildGuardAlert(anIncident(), '11 remediations in 60 minutes');
    // Assess
    expect(alert.subject).toBe(
      '[CRITICAL] Blast-radius guard tripped: responder is notify-only — 111122223333/us-east-1',
    );
    expect(alert.attributes.status).toBe('guard-tripped');
  });
});
