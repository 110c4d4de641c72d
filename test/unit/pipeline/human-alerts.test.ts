import type { Exemption } from '../../../shared/exemptions/ledger';
import type { UndoRecord } from '../../../shared/model';
import {
  buildAlert,
  buildGuardAlert,
  encodedSize,
  SNS_MESSAGE_LIMIT,
  SUBJECT_LIMIT,
} from '../../../shared/pipeline/alerts';
import {
  buildExemptionAlert,
  buildGuardResetAlert,
  buildLockdownAlert,
  buildUndoFailedAlert,
} from '../../../shared/pipeline/human-alerts';
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
    expect(alert.subject).toBe('[HIGH] EBS encryption by default is off: undone — 111122223333/us-east-1');
    expect(alert.attributes).toEqual({
      severity: 'HIGH',
      ruleId: 'ebs-encryption-by-default',
      status: 'undone',
      account: '111122223333',
      actionNeeded: 'true',
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

describe('the alert for an undo that stopped part-way', () => {
  const revoked = (step: number, cidr: string) => ({
    step,
    call: {
      service: 'ec2',
      action: 'AuthorizeSecurityGroupIngress',
      input: { Region: 'us-east-1', GroupId: 'sg-0abc', IpPermissions: [{ CidrIp: cidr }] },
    },
  });
  const undo = (results: UndoRecord['calls'][number]['result'][]): UndoRecord => ({
    by: ON_CALL,
    reason: 'INC-77 vendor cut-over tonight',
    startedAt: '2026-11-23T12:00:00.000Z',
    finishedAt: '2026-11-23T12:00:03.000Z',
    result: 'failed',
    exemptForMinutes: 60,
    exemption: { exemptionId: 'exm-20261123T120000-0a1b2c3d', until: '2026-11-23T13:00:00.000Z' },
    calls: [revoked(2, '0.0.0.0/0'), revoked(1, '::/0'), revoked(0, '10.0.0.0/8')].map((call, index) => ({
      ...call,
      result: results[index] ?? 'not-run',
      ...(results[index] === 'failed' ? { error: 'InvalidPermission.Duplicate: the rule exists' } : {}),
    })),
  });
  const sshIncident = anIncident({
    ruleId: 'ssh-open-to-world',
    title: 'SSH open to the internet',
    resourceType: 'AWS::EC2::SecurityGroup',
    resourceId: 'sg-0abc',
    resourceArn: 'arn:aws:ec2:us-east-1:111122223333:security-group/sg-0abc',
  });

  it('says what was reversed and what was not, who and why, and that action is needed', () => {
    // Act
    const alert = buildUndoFailedAlert(
      sshIncident,
      undo(['succeeded', 'failed', 'not-run']),
      'undo stopped at ec2 AuthorizeSecurityGroupIngress (us-east-1): the rule exists',
    );
    // Assess
    expect(alert.subject).toBe(
      '[HIGH] SSH open to the internet sg-0abc: undo stopped, 1 of 3 reversed — 111122223333/us-east-1',
    );
    expect(alert.attributes).toEqual({
      severity: 'HIGH',
      ruleId: 'ssh-open-to-world',
      status: 'undo-failed',
      account: '111122223333',
      actionNeeded: 'true',
    });
    const text = email(alert.message);
    expect(text.split('\n')[0]).toMatch(/^Action needed: /);
    expect(text).toContain(`Undo by:   ${ON_CALL} at 2026-11-23T12:00:00.000Z`);
    expect(text).toContain('Why:       INC-77 vendor cut-over tonight');
    expect(text).toContain(
      'Reversed:\n  - step 3 (ec2 AuthorizeSecurityGroupIngress) {"Region":"us-east-1","GroupId":"sg-0abc","IpPermissions":[{"CidrIp":"0.0.0.0/0"}]}\nNOT reversed:\n',
    );
    expect(text).toContain(
      '  - step 2 (ec2 AuthorizeSecurityGroupIngress) {"Region":"us-east-1","GroupId":"sg-0abc","IpPermissions":[{"CidrIp":"::/0"}]}: FAILED: InvalidPermission.Duplicate: the rule exists',
    );
    expect(text).toContain('Exempted:  until 2026-11-23T13:00:00.000Z (exm-20261123T120000-0a1b2c3d)');
    expect(machine(alert.message)).toMatchObject({
      event: 'undo-failed',
      incidentId: sshIncident.incidentId,
      incidentStatus: 'remediated',
      by: ON_CALL,
      reason: 'INC-77 vendor cut-over tonight',
      reversed: 'step 3 (ec2 AuthorizeSecurityGroupIngress)',
      failed: 'step 2 (ec2 AuthorizeSecurityGroupIngress)',
      notRun: 'step 1 (ec2 AuthorizeSecurityGroupIngress)',
    });
  });

  it.each([
    [['failed', 'not-run', 'not-run'], 'undo failed, nothing reversed'],
    [['succeeded', 'succeeded', 'succeeded'], 'undo ran, not recorded undone'],
  ] as const)('names the outcome for %j: %s', (results, outcome) => {
    // Act
    const alert = buildUndoFailedAlert(sshIncident, undo([...results]), 'why it stopped');
    // Assess
    expect(alert.subject).toBe(
      `[HIGH] SSH open to the internet sg-0abc: ${outcome} — 111122223333/us-east-1`,
    );
  });
});

describe('the alert for an incident a person ordered with ssh lockdown', () => {
  it('says who ordered it, why, past the guard, the exemption it overrode, and that the cause is unknown', () => {
    // Prepare
    const incident = anIncident({
      actor: undefined,
      trigger: { source: 'command-line', eventId: 'cli-1#us-east-1#sg-0abc', eventName: 'ssh lockdown' },
      lockdown: {
        by: ON_CALL,
        reason: 'INC-9 suspected key leak',
        runId: 'cli-20261123T120000-0a1b2c3d',
        startedAt: '2026-11-23T12:00:00.000Z',
        emergency: true,
        exemptionOverridden: {
          exemptionId: 'exm-20261123T120000-0a1b2c3d',
          reason: 'CHG-9',
          until: '2026-12-23T12:00:00.000Z',
          setBy: ON_CALL,
          setAt: '2026-11-23T11:00:00.000Z',
        },
      },
    });
    // Act
    const alert = buildAlert(incident, runbooks);
    // Assess
    const text = email(alert.message);
    expect(text).toContain('Who:       unknown (found by ssh lockdown)');
    expect(text).toContain(
      `Ordered:   by ${ON_CALL} at 2026-11-23T12:00:00.000Z (ssh lockdown --emergency, past the blast-radius guard)\n` +
        'Why:       INC-9 suspected key leak\n' +
        `Overrode:  exemption exm-20261123T120000-0a1b2c3d (until 2026-12-23T12:00:00.000Z, set by ${ON_CALL})`,
    );
    expect(machine(alert.message).lockdown).toEqual({
      by: ON_CALL,
      reason: 'INC-9 suspected key leak',
      runId: 'cli-20261123T120000-0a1b2c3d',
      startedAt: '2026-11-23T12:00:00.000Z',
      emergency: true,
      exemptionOverridden: 'exm-20261123T120000-0a1b2c3d',
    });
  });
});

describe('the one alert for an ssh lockdown, however many paths it closed', () => {
  const order = {
    by: ON_CALL,
    reason: 'INC-9 suspected key leak',
    runId: 'cli-20261123T120000-0a1b2c3d',
    startedAt: '2026-11-23T12:00:00.000Z',
  };
  const revoke = {
    action: 'RevokeSecurityGroupIngress',
    at: '2026-11-23T12:00:01.000Z',
    result: 'succeeded' as const,
    undo: { service: 'ec2', action: 'AuthorizeSecurityGroupIngress', input: { GroupId: 'sg-0abc' } },
  };
  const pathIncident = (id: string, resourceId: string, status: 'remediated' | 'failed') =>
    anIncident({
      incidentId: id,
      ruleId: 'ssh-open-to-world',
      title: 'SSH open to the world',
      resourceId,
      status,
      lockdown: order,
      steps: status === 'remediated' ? [revoke] : [{ ...revoke, result: 'failed', error: 'AccessDenied' }],
      ...(status === 'failed' ? { statusReason: 'AccessDenied: not authorized' } : {}),
    });
  const closedA = pathIncident('inc-20261123T120001-00000001', 'sg-0abc', 'remediated');
  const closedB = pathIncident('inc-20261123T120002-00000002', 'sg-0def', 'remediated');
  const failed = pathIncident('inc-20261123T120003-00000003', 'sg-0bad', 'failed');
  const path = (incident: ReturnType<typeof anIncident>) => ({
    ruleId: incident.ruleId,
    resourceId: incident.resourceId,
    incident,
  });

  it('names how many paths closed, failed and were skipped, their incidents, who, why and each undo command', () => {
    // Act
    const alert = buildLockdownAlert(order, where, {
      closed: [path(closedA), path(closedB)],
      failed: [path(failed)],
      skipped: [{ ruleId: 'ssh-open-to-world', resourceId: 'sg-0sftp', detail: 'exempt until 2026-12-23' }],
    });
    const text = email(alert.message);
    // Assess: paging, since a path is still open
    expect(alert.subject).toBe('[HIGH] SSH lockdown: 2 closed, 1 failed — 111122223333/us-east-1');
    expect(alert.attributes).toEqual({
      severity: 'HIGH',
      ruleId: 'ssh-lockdown',
      status: 'lockdown-failed',
      account: '111122223333',
      actionNeeded: 'true',
    });
    expect(text.split('\n')[0]).toBe(
      `Action needed: close by hand the 1 SSH path(s) the lockdown by ${ON_CALL} could not close (each incident says where it stopped)`,
    );
    expect(text).toContain(`Who:       ${ON_CALL}`);
    expect(text).toContain('Why:       INC-9 suspected key leak');
    expect(text).toContain('Paths:     2 closed, 1 failed, 1 skipped');
    for (const incident of [closedA, closedB, failed]) expect(text).toContain(incident.incidentId);
    expect(text).toContain('sg-0sftp: exempt until 2026-12-23');
    expect(text).toContain(
      `  npx compliance-responder incidents undo ${closedA.incidentId} --reason "<why>"\n  npx compliance-responder incidents undo ${closedB.incidentId} --reason "<why>"`,
    );
    expect(machine(alert.message)).toMatchObject({
      event: 'lockdown-failed',
      actionNeeded: true,
      by: ON_CALL,
      reason: 'INC-9 suspected key leak',
      runId: order.runId,
      closed: '2',
      failed: '1',
      skipped: '1',
      incidentIds: [closedA, closedB, failed].map((incident) => incident.incidentId).join(','),
    });
  });

  it('pages nobody when every path closed: a deliberate change, on the record', () => {
    // Act
    const alert = buildLockdownAlert({ ...order, emergency: true }, where, {
      closed: [path(closedA)],
      failed: [],
      skipped: [],
    });
    const text = email(alert.message);
    // Assess
    expect(alert.subject).toBe('[HIGH] SSH lockdown: 1 closed — 111122223333/us-east-1');
    expect(alert.attributes).toMatchObject({ status: 'lockdown', actionNeeded: 'false' });
    expect(text.split('\n')[0]).toBe(
      `Action needed: none, ${ON_CALL} closed 1 SSH path(s) on purpose; each is its own incident`,
    );
    expect(text).toContain('--emergency, past the blast-radius guard');
  });

  it('stays within SNS limits for a lockdown of thousands of paths', () => {
    // Prepare
    const many = Array.from({ length: 3000 }, (_, index) =>
      path(
        pathIncident(`inc-20261123T120001-${String(index).padStart(8, '0')}`, `sg-${index}`, 'remediated'),
      ),
    );
    // Act
    const alert = buildLockdownAlert(order, where, { closed: many, failed: [], skipped: [] });
    // Assess
    expect(encodedSize(alert)).toBeLessThan(SNS_MESSAGE_LIMIT);
    expect(email(alert.message)).toContain('… and 2950 more');
    expect(alert.subject).toBe('[HIGH] SSH lockdown: 3000 closed — 111122223333/us-east-1');
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
      actionNeeded: 'false',
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
      actionNeeded: 'false',
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
