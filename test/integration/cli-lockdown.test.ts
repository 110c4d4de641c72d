import { main } from '../../cli/index';
import type { Incident } from '../../shared/model';
import { mdCell } from '../../shared/report/markdown';
import { type CliRun, runCli } from '../support/cli';
import { FaultProxy } from '../support/fault-proxy';
import { LocalResponder, resetAccount } from '../support/local-responder';
import { recordCalls, writesAmong } from '../support/recorder';
import {
  ACCOUNT,
  authorize,
  authorizeCall,
  createGroup,
  ingressRules,
  keyStatuses,
  ssh,
  userWithKey,
} from '../support/ssh';

const REASON = 'INC-9 suspected key leak';

/** The rows of the report's Markdown table under `## <heading>`, keyed by its header cells. */
function markdownTable(markdown: string, heading: string): Record<string, string>[] {
  const section = (markdown.split(`## ${heading}\n`)[1] ?? '').split('\n## ')[0] ?? '';
  const lines = section.split('\n').filter((line) => line.startsWith('|'));
  const cells = (line: string) =>
    line
      .slice(2, -2)
      .split(' | ')
      .map((cell) => cell.trim());
  const header = cells(lines[0] ?? '| |');
  return lines.slice(2).map((line) => Object.fromEntries(cells(line).map((cell, i) => [header[i], cell])));
}

/**
 * `ssh lockdown` goes through the functions' stages with the caller's credentials: decide, honour
 * exemptions, the blast-radius guard, steps with undo recorded in an incident, verify by read-back,
 * one incident per closed path (who and why), and one summary alert for the lockdown on the deployed topic.
 */
describe('ssh lockdown records each closed path as an incident, against moto', () => {
  let responder: LocalResponder;
  let env: Record<string, string>;

  const lockdownIncidents = async () =>
    (await responder.incidents()).filter((incident) => incident.trigger.source === 'command-line');

  beforeEach(async () => {
    await resetAccount();
    responder = await LocalResponder.provision();
    env = {
      INCIDENT_TABLE: responder.stack.tableName,
      AWS_REGION: 'us-east-1',
      // Nobody reads this topic: on-call is told on the topic the stack was deployed with.
      ALERT_TOPIC_ARN: `arn:aws:sns:us-east-1:${ACCOUNT}:nobody-reads-this`,
    };
  });

  it('closes each path as its own incident: steps with undo, verified, who and why, alerted, counted by the guard, in the report, and undoable', async () => {
    // Prepare: SSH open to the world, and an Active IAM SSH key without a grant
    const group = await createGroup('us-east-1', 'bastion');
    await authorize('us-east-1', group, [ssh('0.0.0.0/0', 'left open by a deploy')]);
    await userWithKey('dev-erin', 'Active');
    // Act
    const run = await runCli(['ssh', 'lockdown', '--yes', '--reason', REASON, '--json'], env);
    // Assess: closed, in AWS
    expect(run.code).toBe(0);
    expect(await ingressRules('us-east-1', group)).toEqual([]);
    expect(await keyStatuses('dev-erin')).toEqual(['Inactive']);
    // Assess: one incident per closed path, remediated only because a read showed it closed
    const incidents = await lockdownIncidents();
    expect(
      incidents.map((incident) => [incident.ruleId, incident.resourceId, incident.status]).sort(),
    ).toEqual([
      ['ssh-grant-expired', 'dev-erin', 'remediated'],
      ['ssh-open-to-world', group, 'remediated'],
    ]);
    const world = incidents.find((incident) => incident.ruleId === 'ssh-open-to-world') as Incident;
    expect(world).toMatchObject({
      mode: 'enforce',
      trigger: { source: 'command-line', eventName: 'ssh lockdown' },
      lockdown: { by: expect.stringMatching(/^arn:aws:/), reason: REASON },
      alert: { status: 'sent', messageId: expect.any(String) },
    });
    expect(world.steps.map((step) => [step.action, step.result])).toEqual([
      ['RevokeSecurityGroupIngress', 'succeeded'],
      ['Verify', 'succeeded'],
    ]);
    expect(world.steps[0]?.undo).toMatchObject({ service: 'ec2', action: 'AuthorizeSecurityGroupIngress' });
    const report = JSON.parse(run.stdout) as { entries: { outcome: string; incidentId: string }[] };
    expect(report.entries.map((entry) => entry.outcome)).toEqual(['closed', 'closed']);
    expect(report.entries.map((entry) => entry.incidentId).sort()).toEqual(
      incidents.map((incident) => incident.incidentId).sort(),
    );
    // Assess: on-call heard once for the one human action, on the deployed topic: how many paths,
    // their incidents, who, why and the undo commands; each incident records that alert as its own
    const alerts = await responder.alerts();
    expect(alerts).toHaveLength(1);
    const [summary] = alerts;
    expect(summary?.attributes).toEqual({
      severity: 'HIGH',
      ruleId: 'ssh-lockdown',
      status: 'lockdown',
      account: ACCOUNT,
      actionNeeded: 'false',
    });
    expect(summary?.subject).toMatch(/^\[HIGH\] SSH lockdown: 2 closed — \d{12}\/us-east-1$/);
    const ids = incidents.map((incident) => incident.incidentId).sort();
    expect(summary?.body).toMatchObject({
      event: 'lockdown',
      by: world.lockdown?.by,
      reason: REASON,
      closed: '2',
      failed: '0',
      skipped: '0',
    });
    // listed in the order the paths were closed; ids of one second sort by their random suffix
    expect(String(summary?.body.incidentIds).split(',').sort()).toEqual(ids);
    expect(summary?.body.action).toBe(
      `none, ${world.lockdown?.by} closed 2 SSH path(s) on purpose; each is its own incident`,
    );
    for (const id of ids) {
      expect(summary?.body.undoCommands).toContain(
        `npx compliance-responder incidents undo ${id} --reason "<why>"`,
      );
    }
    for (const incident of incidents) {
      expect(incident.alert).toEqual({
        status: 'sent',
        messageId: world.alert?.messageId,
        at: expect.any(String),
      });
    }
    // Assess: the guard counted both
    const guard = await runCli(['guard', 'status', '--json'], env);
    expect(JSON.parse(guard.stdout)).toMatchObject({ tripped: false, counted: 2 });
    // Assess: the auditor's report lists them like any incident, and the lockdown itself: who
    // ordered it, when, why, how many paths and their outcome; each incident names who ordered it
    expect(world.lockdown).toMatchObject({ pathsToClose: 2, pathsExempt: 0 });
    const audit = await runCli(['report', '--format', 'md'], env);
    expect(audit.code).toBe(0);
    for (const incident of incidents) expect(audit.stdout).toContain(incident.incidentId);
    const order = world.lockdown as NonNullable<Incident['lockdown']>;
    const byDetection = [...incidents].sort(
      (a, b) => a.detectedAt.localeCompare(b.detectedAt) || a.incidentId.localeCompare(b.incidentId),
    );
    const [lockdownRow, ...otherLockdowns] = markdownTable(audit.stdout, 'SSH lockdowns in the period (1)');
    expect(otherLockdowns).toEqual([]);
    expect(lockdownRow).toEqual({
      'started at': order.startedAt,
      'ordered by': mdCell(order.by),
      why: REASON,
      'went past': '–',
      paths: '2 to close',
      'outcome at the end of the period': 'remediated: 2',
      incidents: byDetection.map((incident) => incident.incidentId).join(', '),
    });
    const details = markdownTable(audit.stdout, 'Incident details (2)');
    expect(details.map((row) => [row.incident, row['caused by'], row['what was done']])).toEqual(
      byDetection.map((incident) => [
        incident.incidentId,
        mdCell(`unknown (found by ssh lockdown, which ${order.by} ordered; not a CloudTrail event)`),
        mdCell(
          `ordered by ${order.by} at ${order.startedAt} with ssh lockdown (run ${order.runId}), reason: ${REASON}: ${incident.steps.map((step) => step.action).join(', ')}`,
        ),
      ]),
    );
    // Act: the recorded undo is real
    const undone = await runCli(
      ['incidents', 'undo', world.incidentId, '--yes', '--reason', 'INC-9 false alarm'],
      env,
    );
    // Assess
    expect(undone.code).toBe(0);
    expect(await ingressRules('us-east-1', group)).toEqual([
      expect.objectContaining({ CidrIpv4: '0.0.0.0/0', Description: 'left open by a deploy' }),
    ]);
    // Assess: a report made now gives the lockdown's outcome as it stands
    const after = await runCli(['report', '--format', 'md'], env);
    expect(markdownTable(after.stdout, 'SSH lockdowns in the period (1)')[0]).toMatchObject({
      'outcome at the end of the period': 'remediated: 1, undone: 1',
    });
  });

  it('refuses what the blast-radius guard has no room for, changing nothing; --emergency closes them, counted and recorded', async () => {
    // Prepare: a stack deployed to allow one remediation per hour, and two paths
    await responder.redeploy({ GUARD_THRESHOLD: '1', GUARD_WINDOW_MINUTES: '60' });
    const first = await createGroup('us-east-1', 'web-1');
    const second = await createGroup('us-east-1', 'web-2');
    for (const group of [first, second]) await authorize('us-east-1', group, [ssh('0.0.0.0/0')]);
    // Act
    let refused: CliRun = { code: -1, stdout: '', stderr: '' };
    const calls = await recordCalls(async () => {
      refused = await runCli(['ssh', 'lockdown', '--yes', '--reason', REASON], env);
    });
    // Assess: refused before any change, saying how to go on
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/refused: .*2 SSH path\(s\).*blast-radius guard.*room for 1/);
    expect(refused.stderr).toContain('--emergency');
    expect(writesAmong(calls)).toEqual([]);
    expect(await ingressRules('us-east-1', first)).toHaveLength(1);
    expect(await lockdownIncidents()).toEqual([]);
    expect(await responder.alerts()).toEqual([]);
    // Act
    const forced = await runCli(['ssh', 'lockdown', '--yes', '--emergency', '--reason', REASON], env);
    // Assess: closed, each incident saying it went past the guard; counted, and on-call told
    expect(forced.code).toBe(0);
    expect(await ingressRules('us-east-1', first)).toEqual([]);
    expect(await ingressRules('us-east-1', second)).toEqual([]);
    const incidents = await lockdownIncidents();
    expect(incidents.map((incident) => [incident.status, incident.lockdown?.emergency])).toEqual([
      ['remediated', true],
      ['remediated', true],
    ]);
    expect((await responder.alerts()).map((alert) => alert.attributes.status)).toEqual(['lockdown']);
    const guard = await runCli(['guard', 'status', '--json'], env);
    expect(JSON.parse(guard.stdout)).toMatchObject({ counted: 2 });
  });

  it('takes over the drift from an incident left open (notify mode): resolved, naming the lockdown incident that closed it', async () => {
    // Prepare: the function, in notify mode, found the drift and left it open
    const group = await createGroup('us-east-1', 'bastion');
    await authorize('us-east-1', group, [ssh('0.0.0.0/0')]);
    const handle = responder.handlerOf(() => require('../../functions/ssh-open-to-world'), {
      MODE_SSH_OPEN_TO_WORLD: 'notify',
    });
    const found = await handle(authorizeCall('us-east-1', group));
    const openId = String(found.outcomes[0]?.incidentId);
    await responder.alerts();
    // Act
    const run = await runCli(['ssh', 'lockdown', '--yes', '--reason', REASON], env);
    // Assess
    expect(run.code).toBe(0);
    const [closedBy] = await lockdownIncidents();
    expect(closedBy?.status).toBe('remediated');
    const before = (await responder.incidents()).find((incident) => incident.incidentId === openId);
    expect(before).toMatchObject({
      status: 'resolved',
      statusReason: expect.stringContaining(`superseded by ssh lockdown incident ${closedBy?.incidentId}`),
    });
    expect(await ingressRules('us-east-1', group)).toEqual([]);
  });

  it('records a path it could not close as failed, with the error, alerts on-call, and exits 1', async () => {
    // Prepare: EC2 refuses every revoke (behind a proxy that answers 500)
    const group = await createGroup('us-east-1', 'bastion');
    await authorize('us-east-1', group, [ssh('0.0.0.0/0')]);
    const proxy = await FaultProxy.start(String(process.env.AWS_ENDPOINT_URL));
    proxy.arm([{ action: 'ec2:RevokeSecurityGroupIngress', nth: 1, kind: 'http500', times: 100 }]);
    try {
      // Act
      const run = await runCli(['ssh', 'lockdown', '--yes', '--reason', REASON], {
        ...env,
        AWS_ENDPOINT_URL: proxy.url,
      });
      // Assess
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('1 SSH path(s) could not be closed');
    } finally {
      await proxy.close();
    }
    const [incident] = await lockdownIncidents();
    expect(incident).toMatchObject({ status: 'failed', lockdown: { reason: REASON } });
    expect(incident?.steps[0]).toMatchObject({ action: 'RevokeSecurityGroupIngress', result: 'failed' });
    const alerts = await responder.alerts();
    expect(alerts.map((alert) => alert.attributes)).toEqual([
      expect.objectContaining({ status: 'lockdown-failed', actionNeeded: 'true' }),
    ]);
    expect(alerts[0]?.body).toMatchObject({ closed: '0', failed: '1', incidentIds: incident?.incidentId });
    expect(alerts[0]?.subject).toMatch(/SSH lockdown: 1 failed — /);
    expect(await ingressRules('us-east-1', group)).toHaveLength(1);
  });

  it('leaves each incident its alert pending when the one alert cannot be sent, for the sweeps, and exits 1', async () => {
    // Prepare: SNS refuses every Publish (behind a proxy that answers 500)
    const first = await createGroup('us-east-1', 'web-1');
    const second = await createGroup('us-east-1', 'web-2');
    for (const group of [first, second]) await authorize('us-east-1', group, [ssh('0.0.0.0/0')]);
    const proxy = await FaultProxy.start(String(process.env.AWS_ENDPOINT_URL));
    proxy.arm([{ action: 'sns:Publish', nth: 1, kind: 'http500', times: 100 }]);
    try {
      // Act
      const run = await runCli(['ssh', 'lockdown', '--yes', '--reason', REASON], {
        ...env,
        AWS_ENDPOINT_URL: proxy.url,
      });
      // Assess: closed and recorded, on-call not told, and the command says so
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('on-call could not be alerted');
      expect(run.stderr).toContain('2 path(s) were closed and recorded, but on-call could not be alerted');
    } finally {
      await proxy.close();
    }
    const incidents = await lockdownIncidents();
    expect(incidents.map((incident) => [incident.status, incident.alert?.status])).toEqual([
      ['remediated', 'pending'],
      ['remediated', 'pending'],
    ]);
    expect(await responder.alerts()).toEqual([]);
  });

  it('asks at a terminal, showing the plan; anything but yes changes nothing', async () => {
    // Prepare
    const group = await createGroup('us-east-1', 'bastion');
    await authorize('us-east-1', group, [ssh('0.0.0.0/0')]);
    const out: string[] = [];
    const asked: string[] = [];
    const terminal = {
      out: (line: string) => out.push(line),
      err: () => {},
      ask: async (question: string) => {
        asked.push(question);
        return 'n';
      },
    };
    // Act
    let code = -1;
    const calls = await recordCalls(async () => {
      code = await main(['node', 'compliance-responder', 'ssh', 'lockdown', '--reason', REASON], terminal, {
        ...process.env,
        ...env,
      });
    });
    // Assess
    expect(code).toBe(1);
    expect(asked).toEqual(['close 1 SSH path(s)? [y/N] ']);
    expect(out.join('\n')).toMatch(/ssh-open-to-world\s+sg-\w+\s+us-east-1/);
    expect(out.join('\n')).toContain(`why: ${REASON}`);
    expect(writesAmong(calls)).toEqual([]);
    expect(await ingressRules('us-east-1', group)).toHaveLength(1);
  });

  it.each([
    ['without --reason', ['ssh', 'lockdown', '--yes'], '--reason is required'],
    [
      'without --yes when nobody can confirm (no terminal)',
      ['ssh', 'lockdown', '--reason', REASON],
      'stdin is not a terminal',
    ],
  ])('refuses a lockdown %s as a usage mistake, before any AWS call', async (_case, args, words) => {
    // Prepare
    const group = await createGroup('us-east-1', 'bastion');
    await authorize('us-east-1', group, [ssh('0.0.0.0/0')]);
    // Act
    let run: CliRun = { code: -1, stdout: '', stderr: '' };
    const calls = await recordCalls(async () => {
      run = await runCli(args, env);
    });
    // Assess
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(words);
    expect(calls).toEqual([]);
    expect(await ingressRules('us-east-1', group)).toHaveLength(1);
  });
});
