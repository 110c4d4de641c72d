import type { Exemption } from '../../shared/exemptions/ledger';
import type { Incident } from '../../shared/model';
import { runCli } from '../support/cli';
import { LocalResponder, resetAccount } from '../support/local-responder';
import { ACCOUNT, authorize, authorizeCall, createGroup, ingressRules, ssh } from '../support/ssh';

const RULE = 'ssh-open-to-world';
const groupArn = (groupId: string) => `arn:aws:ec2:us-east-1:${ACCOUNT}:security-group/${groupId}`;

/** One remediation per window is allowed; the second trips the guard. */
const GUARD = { GUARD_THRESHOLD: '1', GUARD_WINDOW_MINUTES: '60' };

/**
 * Every change a person makes through the command line pages on-call on the stack's topic as
 * deployed (read from the published function), whatever topic the caller's environment names:
 * the insider's ALERT_TOPIC_ARN below points at a topic nobody reads.
 */
describe('every human change leaves a record and alerts on-call, against moto', () => {
  let responder: LocalResponder;
  let env: Record<string, string>;

  const stored = async (incidentId: string) =>
    (await responder.incidents()).find((incident) => incident.incidentId === incidentId) as Incident;

  async function openSsh(name: string) {
    const group = await createGroup('us-east-1', name);
    await authorize('us-east-1', group, [ssh('0.0.0.0/0')]);
    const handle = responder.handlerOf(() => require('../../functions/ssh-open-to-world'));
    const result = await handle(authorizeCall('us-east-1', group));
    return { group, incidentId: String(result.outcomes[0]?.incidentId) };
  }

  beforeEach(async () => {
    await resetAccount();
    responder = await LocalResponder.provision(GUARD);
    env = {
      INCIDENT_TABLE: responder.stack.tableName,
      AWS_REGION: 'us-east-1',
      ALERT_TOPIC_ARN: `arn:aws:sns:us-east-1:${ACCOUNT}:nobody-reads-this`,
      ...GUARD,
    };
  });

  it('refuses an undo without --reason before anything changes', async () => {
    // Prepare
    const { group, incidentId } = await openSsh('bastion');
    await responder.alerts();
    // Act
    const run = await runCli(['incidents', 'undo', incidentId, '--yes'], env);
    // Assess
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("required option '--reason <text>' not specified");
    expect(await ingressRules('us-east-1', group)).toEqual([]);
    expect((await stored(incidentId)).undo).toBeUndefined();
    expect(await responder.alerts()).toEqual([]);
  });

  it('undo: records why, exempts SSH reopened to the world for an hour (not a day), and alerts who and why', async () => {
    // Prepare
    const { group, incidentId } = await openSsh('bastion');
    await responder.alerts();
    // Act
    const run = await runCli(
      ['incidents', 'undo', incidentId, '--yes', '--reason', 'INC-77 vendor cut-over tonight'],
      env,
    );
    // Assess: the plan said what it reverses, the rule's shortest exemption, and the result
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('first the resource is to be exempted for 1h');
    expect(run.stdout).toContain('everything the remediation changed is reversed');
    expect(run.stdout).toMatch(/on-call alerted \(message [\w-]+\)/);
    expect(await ingressRules('us-east-1', group)).toHaveLength(1);
    const incident = await stored(incidentId);
    const started = Date.parse(String(incident.undo?.startedAt));
    expect(incident).toMatchObject({
      status: 'undone',
      statusReason: expect.stringMatching(/^undone by arn:aws:.+: INC-77 vendor cut-over tonight$/),
      undo: {
        reason: 'INC-77 vendor cut-over tonight',
        exemptForMinutes: 60,
        alert: { status: 'sent', messageId: expect.any(String) },
      },
    });
    expect(Date.parse(String(incident.undo?.exemption?.until)) - started).toBe(60 * 60_000);
    // Assess: on-call heard it, on the deployed topic, in the incident alert's own shape
    const alerts = await responder.alerts();
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.subject).toMatch(/^\[HIGH\] .+: undone — 123456789012\/us-east-1$/);
    expect(alerts[0]?.attributes).toEqual({
      severity: 'HIGH',
      ruleId: RULE,
      status: 'undone',
      account: ACCOUNT,
      actionNeeded: 'true',
    });
    expect(alerts[0]?.body).toMatchObject({
      incidentId,
      status: 'undone',
      undo: {
        by: incident.undo?.by,
        reason: 'INC-77 vendor cut-over tonight',
        exemption: incident.undo?.exemption,
      },
    });
  });

  it('exemptions add and remove each alert on-call: what, who, why, until', async () => {
    // Prepare
    const group = await createGroup('us-east-1', 'vendor-sftp');
    // Act
    const added = await runCli(
      [
        'exemptions',
        'add',
        groupArn(group),
        '--rule',
        RULE,
        '--until',
        '30d',
        '--reason',
        'CHG-9 SFTP',
        '--json',
      ],
      env,
    );
    const exemption = JSON.parse(added.stdout) as Exemption;
    const removed = await runCli(
      ['exemptions', 'remove', exemption.exemptionId, '--reason', 'CHG-9 done early'],
      env,
    );
    // Assess
    expect([added.code, removed.code]).toEqual([0, 0]);
    const alerts = await responder.alerts();
    expect(alerts.map((alert) => alert.attributes.status).sort()).toEqual([
      'exemption-added',
      'exemption-removed',
    ]);
    const byStatus = (status: string) => alerts.find((alert) => alert.attributes.status === status);
    expect(byStatus('exemption-added')).toMatchObject({
      subject: `[HIGH] ${RULE} ${group}: exempted until ${exemption.until.slice(0, 10)} — ${ACCOUNT}/us-east-1`,
      attributes: { severity: 'HIGH', ruleId: RULE, account: ACCOUNT },
      body: { exemptionId: exemption.exemptionId, setBy: exemption.setBy, reason: 'CHG-9 SFTP' },
    });
    expect(byStatus('exemption-removed')).toMatchObject({
      body: {
        exemptionId: exemption.exemptionId,
        removedBy: exemption.setBy,
        removeReason: 'CHG-9 done early',
      },
    });
  });

  it('guard reset alerts on-call with who and why; a reset of an untripped guard changes nothing and alerts nobody', async () => {
    // Prepare: the first remediation fills the window, the second trips the guard
    await openSsh('web-1');
    await openSsh('web-2');
    await responder.alerts();
    // Act
    const reset = await runCli(['guard', 'reset', '--reason', 'INC-7 planned clean-up, reviewed'], env);
    const again = await runCli(['guard', 'reset', '--reason', 'INC-7 once more'], env);
    // Assess
    expect([reset.code, again.code]).toEqual([0, 0]);
    const alerts = await responder.alerts();
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      subject: `[HIGH] Blast-radius guard reset: the responder remediates again — ${ACCOUNT}/us-east-1`,
      attributes: { ruleId: 'blast-radius-guard', status: 'guard-reset' },
      body: { event: 'guard-reset', reason: 'INC-7 planned clean-up, reviewed', resetBy: expect.any(String) },
    });
  });
});
